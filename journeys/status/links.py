"""Order status links: a signed token naming one order of one shop, and the template link that carries it.

The token is `django.core.signing` over (order id, shop id) with its own salt and the moment it was
made (merchant.signed_links): nobody can make one for another order, and a token of another kind of
link opens nothing here. Every message carries a fresh one, rendered when it is sent; a link works
`LINK_VALID_DAYS` after that, long enough for the order's returns and reviews to follow.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from journeys.context import LinkSpec
from journeys.token_urls import token_path
from merchant.signed_links import signed_ids_make, signed_ids_read

SALT = "journeys.order-status"
LINK_VALID_DAYS = 180


@dataclass(frozen=True)
class StatusToken:
    order_id: int
    shop_id: int
    issued_at: dt.datetime

    @property
    def expires_at(self) -> dt.datetime:
        return self.issued_at + dt.timedelta(days=LINK_VALID_DAYS)


def order_status_token(*, order_id: int, shop_id: int) -> str:
    return signed_ids_make(object_id=order_id, shop_id=shop_id, salt=SALT)


def order_status_token_read(token: str) -> StatusToken | None:
    """What a genuine token names and when it was made, whatever its age; None for anything tampered or made up."""
    ids = signed_ids_read(token, salt=SALT)
    return None if ids is None else StatusToken(order_id=ids.object_id, shop_id=ids.shop_id, issued_at=ids.issued_at)


def order_status_url(*, order_id: int, shop_id: int) -> str:
    """The absolute address of the order's status page (for messages, the admin and the demo)."""
    return settings.PUBLIC_BASE_URL + token_path("order-status", order_status_token(order_id=order_id, shop_id=shop_id))


def _status_link(message) -> str:
    if message.order_id is None:
        if message.pk is None and not message.customer_id:  # a preview in the admin: an example, opening nothing
            return f"{settings.PUBLIC_BASE_URL}/o/example"
        return ""
    # Needs only the ids: no query per message.
    return order_status_url(order_id=message.order_id, shop_id=message.shop_id)


# `{{ links.status }}`: the order's status page. Shortened to a tracked /l/ link in texts like any other link.
ORDER_STATUS_LINK = LinkSpec(
    name="status",
    description=(
        "Order status page: where the order is (timeline, parcels with tracking, expected delivery), with returns, "
        "contact and review; empty in messages without an order"
    ),
    worst_case="https://care.example.com/o/" + "x" * 64,
    make=_status_link,
)
