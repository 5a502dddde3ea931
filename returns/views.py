"""The return portal customers reach from a signed link (messages, the order status page): no login.

`/returns/<token>` shows the order's items with what each can still return, and the form (GET changes
nothing); POST stores the request and redirects to its page (post/redirect/get). `/returns/<token>/requests`
lists the order's returns with a cancel button while one can be cancelled (POST only). A tampered, made-up
or other shop's token gets the friendly 404 page that says nothing about anything existing; a genuine but
expired link a friendly 410 page in the customer's language. An order that cannot return anything says why
in plain words ("The return window ended on 12 March 2026.").
"""

import contextlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from journeys.order_links import OpenedOrder, in_language, link_not_found, order_link_open
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.uploads import MB, PHOTO_MAX_BYTES
from returns.forms import COMMENT_MAX, REQUEST_MAX_BYTES, ReturnPortalForm
from returns.links.portal import portal_token_read
from returns.models import ReturnRequest
from returns.selectors.requests import (
    CUSTOMER_CANCELLABLE,
    order_for_portal,
    portal_language,
    return_eligibility,
    return_request_get,
    return_requests_of_order,
)
from returns.services.requests import PHOTOS_PER_REQUEST, LineChoice, return_request_cancel, return_request_create

# What the customer reads about where their return stands, by status.
NEXT_STEP = {
    ReturnRequest.Status.REQUESTED: gettext_lazy(
        "We will look at your request and write to you soon. Please wait before you send anything."
    ),
    ReturnRequest.Status.NEEDS_REVIEW: gettext_lazy(
        "A person is looking at your request and will write to you soon. Please wait before you send anything."
    ),
    ReturnRequest.Status.APPROVED: gettext_lazy("Approved: please send the items as described below."),
    ReturnRequest.Status.DECLINED: gettext_lazy("We could not accept this return."),
    ReturnRequest.Status.IN_TRANSIT: gettext_lazy("Your parcel is on its way back to us."),
    ReturnRequest.Status.RECEIVED: gettext_lazy("Your parcel arrived. We are checking the items."),
    ReturnRequest.Status.INSPECTED: gettext_lazy("We checked the items; your refund is being prepared."),
    ReturnRequest.Status.RESOLVED: gettext_lazy("Done: your refund is on its way."),
    ReturnRequest.Status.CLOSED_NO_OUTCOME: gettext_lazy("Closed without a refund."),
    ReturnRequest.Status.CANCELLED: gettext_lazy("Cancelled."),
    ReturnRequest.Status.EXPIRED: gettext_lazy("Expired: nothing was sent back in time."),
}  # fmt: skip


def _open(request: HttpRequest, token: str) -> OpenedOrder | HttpResponse:
    return order_link_open(
        request,
        portal_token_read(token),
        order_get=order_for_portal,
        language_of=portal_language,
        expired_template="customer/returns/link_expired.html",
    )


def _page(
    request: HttpRequest, opened: OpenedOrder, token: str, form, eligibility, *, status: int = 200
) -> HttpResponse:
    requests = list(return_requests_of_order(order=opened.order))
    context = {
        "shop": opened.order.shop,
        "order": opened.order,
        "eligibility": eligibility,
        "form": form,
        "token": token,
        "requests": requests,
        "open_requests": [r for r in requests if r.status in ReturnRequest.OPEN],
        "comment_max": COMMENT_MAX,
        "photos_max": PHOTOS_PER_REQUEST,
        "photo_limit_mb": PHOTO_MAX_BYTES // MB,
    }
    return in_language(render(request, "customer/returns/portal.html", context, status=status), opened.language)


def _too_large(request: HttpRequest, token: str) -> HttpResponse | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= REQUEST_MAX_BYTES:
        return None
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    with translation.override(opened.language):
        response = render(
            request,
            "customer/returns/too_large.html",
            {"shop": opened.order.shop, "limit_mb": REQUEST_MAX_BYTES // MB, "token": token},
            status=413,
        )
    return in_language(response, opened.language)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def return_portal(request: HttpRequest, token: str) -> HttpResponse:
    """The order's items and the return form (GET changes nothing); POST stores a request, then 303 to its page."""
    if request.method == "POST" and (refused := _too_large(request, token)) is not None:
        return refused  # before the body is read: no file of it is kept
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    with translation.override(opened.language):
        eligibility = return_eligibility(order=opened.order)
        if request.method != "POST":
            form = ReturnPortalForm(eligibility=eligibility) if eligibility.can_return else None
            return _page(request, opened, token, form, eligibility)
        if not eligibility.can_return:
            return _page(request, opened, token, None, eligibility, status=400)
        form = ReturnPortalForm(request.POST, request.FILES, eligibility=eligibility)
        if form.is_valid():
            try:
                created = return_request_create(
                    order=opened.order,
                    lines=[LineChoice(order_line_id=line_id, quantity=n) for line_id, n in form.chosen().items()],
                    reason=form.cleaned_data["reason"],
                    comment=form.cleaned_data["comment"],
                    photos=form.cleaned_data["photos"],
                    refund_method=form.cleaned_data["refund_method"],
                    actor=Actor.customer(str(opened.order.customer or _("customer"))),
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            else:
                return HttpResponseRedirect(reverse("return-request", args=[token, created.pk]) + "?sent=1", status=303)
        # The quantities may have changed meanwhile (another request): show the page as it is now.
        return _page(request, opened, token, form, return_eligibility(order=opened.order), status=400)


@never_cache
@require_http_methods(["GET", "HEAD"])
def return_requests(request: HttpRequest, token: str) -> HttpResponse:
    """Every return of the order and where it stands, with a cancel button while one can be cancelled."""
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    with translation.override(opened.language):
        requests = list(return_requests_of_order(order=opened.order))
        context = {
            "shop": opened.order.shop,
            "order": opened.order,
            "token": token,
            "requests": [_shown(r) for r in requests],
        }
        response = render(request, "customer/returns/requests.html", context)
    return in_language(response, opened.language)


@never_cache
@require_http_methods(["GET", "HEAD"])
def return_request_page(request: HttpRequest, token: str, request_id: int) -> HttpResponse:
    """One return: received (after the form), and where it stands since, with what to do next."""
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    found = return_request_get(order=opened.order, request_id=request_id)
    if found is None:
        return link_not_found(request)
    with translation.override(opened.language):
        policy_instructions = (
            opened.order.shop.return_policy.return_instructions
            if found.status == ReturnRequest.Status.APPROVED and hasattr(opened.order.shop, "return_policy")
            else ""
        )
        context = {
            "shop": opened.order.shop,
            "order": opened.order,
            "token": token,
            "item": _shown(found),
            "instructions": policy_instructions,
            "just_sent": request.GET.get("sent") == "1",
        }
        response = render(request, "customer/returns/request.html", context)
    return in_language(response, opened.language)


@require_POST
def return_request_cancel_view(request: HttpRequest, token: str, request_id: int) -> HttpResponse:
    """Cancel one of the order's returns (POST only), then back to the list of returns."""
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    found = return_request_get(order=opened.order, request_id=request_id)
    if found is None:
        return link_not_found(request)
    # Already on its way, or cancelled in another tab: the list shows where it stands.
    with contextlib.suppress(ValidationError, InvalidTransition):
        return_request_cancel(
            return_request=found,
            actor=Actor.customer(str(opened.order.customer or "customer")),
            note="Cancelled by the customer in the return portal.",
        )
    return HttpResponseRedirect(reverse("return-requests", args=[token]), status=303)


@dataclass
class Shown:
    request: ReturnRequest
    next_step: str
    cancellable: bool


def _shown(return_request: ReturnRequest) -> Shown:
    return Shown(
        request=return_request,
        next_step=str(NEXT_STEP.get(return_request.status, "")),
        cancellable=return_request.status in CUSTOMER_CANCELLABLE,
    )
