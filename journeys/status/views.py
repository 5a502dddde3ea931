"""The order status page customers reach from a signed link in order-care messages: no login.

`/o/<token>` shows only the order the token names, in the customer's language and time zone: where it
stands, its items and parcels, when to expect it, and what the customer can do (start a return, contact
the shop, write a review once delivered). The GET changes nothing. The page's small script sends a beacon
(`POST /o/<token>/seen`) once the page is actually shown: that is what counts a visit, so link-preview
bots that fetch links in texts count nothing. A tampered, made-up or other shop's token gets the friendly
404 page that says nothing about anything existing; a genuine but expired link a friendly 410 page in the
customer's language.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from journeys.order_links import OpenedOrder, in_language, order_link_open
from journeys.status.links import order_status_token_read
from journeys.status.selectors import order_for_status_page, status_language, status_page_build, status_time_zone
from journeys.status.services import order_status_visit_record

# Which browser sent a beacon: a random id, so reloads within the dedupe window count once.
VISITOR_COOKIE = "order_status_visitor"
VISITOR_COOKIE_MAX_AGE = 365 * 24 * 3600


def _open(request: HttpRequest, token: str) -> OpenedOrder | HttpResponse:
    return order_link_open(
        request,
        order_status_token_read(token),
        order_get=order_for_status_page,
        language_of=status_language,
        expired_template="customer/status/link_expired.html",
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """Where the order stands (GET, changes nothing)."""
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return opened
    order = opened.order
    with translation.override(opened.language), timezone.override(status_time_zone(order)):
        page = status_page_build(order, language=opened.language, now=timezone.now())
        context = {"shop": order.shop, "order": order, "page": page, "token": token}
        response = render(request, "customer/status/page.html", context)
    return in_language(response, opened.language)


def _visitor(request: HttpRequest) -> tuple[str, bool]:
    """(the browser's id, whether the cookie must be set): the cookie's, else a keyed hash of the browser's address
    and user agent, which then goes into the cookie. A browser that keeps no cookies gets the same hash on every
    beacon, so its reloads still count once; nothing about it is stored in the clear."""
    cookie = request.COOKIES.get(VISITOR_COOKIE, "")
    if 16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum():
        return cookie, False
    seen_as = f"{request.META.get('REMOTE_ADDR', '')}|{request.headers.get('User-Agent', '')}"
    digest = hmac.new(settings.SECRET_KEY.encode(), seen_as.encode(), hashlib.sha256).hexdigest()[:32]
    return f"h-{digest}", True


# A beacon carries no CSRF token (navigator.sendBeacon sends a bare POST); the signed token in the URL is what
# allows it, and all it can do is count a visit of the order that token names.
@csrf_exempt
@never_cache
@require_POST
def order_status_seen(request: HttpRequest, token: str) -> HttpResponse:
    """The page's beacon: count one visit (deduplicated per browser), raise the anxiety signal when due. 204."""
    opened = _open(request, token)
    if not isinstance(opened, OpenedOrder):
        return HttpResponse(status=opened.status_code)  # 404 or 410, no page: nobody reads a beacon's answer
    if request.user.is_authenticated and request.user.is_staff:
        return HttpResponse(status=204)  # the shop's people opening the link from the admin are not the customer
    visitor, is_new = _visitor(request)
    order_status_visit_record(order=opened.order, visitor=visitor)
    response = HttpResponse(status=204)
    if is_new:
        response.set_cookie(
            VISITOR_COOKIE,
            visitor,
            max_age=VISITOR_COOKIE_MAX_AGE,
            path="/o/",
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response
