"""Opening a customer page from a signed order link (the order status page, the return portal): one way.

Read the token, find the order it names in its shop, pick the customer's language, and refuse a link past
its expiry with the page's own localized "this link has expired" page (410). A tampered token or an order
that is gone answers the friendly not-found page (404) in the browser's language: it names no customer
whose language we could use.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation

from merchant.models import Order


@dataclass
class OpenedOrder:
    order: Order
    language: str


def link_not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "customer/link_not_found.html", status=404)


def in_language(response: HttpResponse, language: str) -> HttpResponse:
    response["Content-Language"] = language
    return response


def order_link_open(
    request: HttpRequest,
    payload,
    *,
    order_get: Callable[..., Order | None],
    language_of: Callable[[Order], str],
    expired_template: str,
) -> OpenedOrder | HttpResponse:
    """The order a token's `payload` names (order_id, shop_id, expires_at) in its language, or the page to answer."""
    if payload is None:
        return link_not_found(request)
    order = order_get(order_id=payload.order_id, shop_id=payload.shop_id)
    if order is None:
        return link_not_found(request)
    language = language_of(order)
    if timezone.now() >= payload.expires_at:
        with translation.override(language):
            response = render(request, expired_template, {"shop": order.shop}, status=410)
        return in_language(response, language)
    return OpenedOrder(order=order, language=language)
