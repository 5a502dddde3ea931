"""Pages customers reach from links in messages: no login, a signed or random token in the URL.

Nothing changes on GET (mail scanners open every link) except the click count of a tracked
link, which is what it is for. A bad, tampered or expired token gets the same friendly 404 page,
which says nothing about whether anything exists.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from journeys.models import Message, TrackedLink
from journeys.services.links import tracked_link_click
from journeys.services.unsubscribe import ONE_CLICK_BODY, unsubscribe_confirm, unsubscribe_message_get

# The button the customer presses; its words, in their language, are kept as consent evidence.
UNSUBSCRIBE_BUTTON = _("Unsubscribe")


def _not_found(request: HttpRequest) -> HttpResponse:
    # In the browser's language: a bad token names no customer whose language we could use.
    return render(request, "customer/link_not_found.html", status=404)


def _language(message: Message) -> str:
    available = {code for code, _name in settings.LANGUAGES}
    for language in (message.language, message.customer.language, message.shop.default_language):
        if language in available:
            return language
    return settings.LANGUAGE_CODE


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a form; the token is the secret
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: ask. POST (the page's button, or a mail client's one-click request): opt out of the shop's emails."""
    message = unsubscribe_message_get(token=token)
    if message is None:
        return _not_found(request)
    customer = message.customer
    language = _language(message)
    with translation.override(language):
        context = {
            "email": message.address or customer.email,
            "shop": message.shop,
            "button": UNSUBSCRIBE_BUTTON,
            "opted_out": customer.email_opted_out_at is not None,
            # A tap on the phone writes to the shop.
            "contact_link": format_html('<a href="mailto:{0}">{0}</a>', message.shop.contact_email),
        }
        if request.method == "POST":
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            unsubscribe_confirm(
                message=message,
                source="list_unsubscribe" if one_click else "unsubscribe_page",
                wording=ONE_CLICK_BODY if one_click else str(UNSUBSCRIBE_BUTTON),
            )
            if not one_click:
                # Post/redirect/get: reloading the confirmation does not send the form again.
                return HttpResponseRedirect(request.path, status=303)
            context["opted_out"] = True
        response = render(request, "customer/unsubscribe.html", context)
    response["Content-Language"] = language
    return response


@never_cache
@require_http_methods(["GET", "HEAD"])
def tracked_link(request: HttpRequest, token: str) -> HttpResponse:
    """302 to the link's address; a GET counts as a click (anyone's: a forwarded message counts too)."""
    if request.method == "HEAD":  # link checkers: answer, count nothing
        link = TrackedLink.objects.filter(token=token).only("url").first()
    else:
        link = tracked_link_click(token=token)
    if link is None:
        return _not_found(request)
    return HttpResponseRedirect(link.url)
