"""Return portal links: a signed token naming one order of one shop, and the template link that carries it.

The token is `django.core.signing` over (order id, shop id) with its own salt and the moment it was
made: nobody can make one for another order, it names nothing else, and it stops working
`LINK_VALID_DAYS` after it was made (each message carries a fresh one, rendered when it is sent).
`{{ links.return_portal }}` opens the portal of the message's order: choose items to return, or see
the order's returns; it is empty in messages without an order.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy

from journeys.context import LinkSpec
from journeys.status.actions import StatusAction
from merchant.models import Order
from merchant.signed_links import signed_ids_make, signed_ids_read

SALT = "returns.portal"
# Longer than any common return window plus the time a return takes to settle: the link in the delivered
# message also shows the status of the returns made with it.
LINK_VALID_DAYS = 180


def portal_token(*, order_id: int, shop_id: int) -> str:
    return signed_ids_make(object_id=order_id, shop_id=shop_id, salt=SALT)


def return_portal_url(order: Order) -> str:
    """The absolute address of the order's return portal (for messages and the order status page)."""
    return settings.PUBLIC_BASE_URL + reverse(
        "return-portal", args=[portal_token(order_id=order.pk, shop_id=order.shop_id)]
    )


@dataclass(frozen=True)
class PortalToken:
    order_id: int
    shop_id: int
    issued_at: dt.datetime

    @property
    def expires_at(self) -> dt.datetime:
        return self.issued_at + dt.timedelta(days=LINK_VALID_DAYS)


def portal_token_read(token: str) -> PortalToken | None:
    """What a genuine token names and when it was made, whatever its age; None for anything tampered or made up."""
    ids = signed_ids_read(token, salt=SALT)
    return None if ids is None else PortalToken(order_id=ids.object_id, shop_id=ids.shop_id, issued_at=ids.issued_at)


def _portal_link(message) -> str:
    if message.order_id is None:
        if message.pk is None and not message.customer_id:  # a preview in the admin: an example, opening nothing
            return f"{settings.PUBLIC_BASE_URL}/returns/example"
        return ""
    # Needs only the ids: no query per message.
    token = portal_token(order_id=message.order_id, shop_id=message.shop_id)
    return_id = _return_of(message)
    if return_id is not None:  # a return's own message: its page, with the instructions and where it stands
        return settings.PUBLIC_BASE_URL + reverse("return-request", args=[token, return_id])
    return settings.PUBLIC_BASE_URL + reverse("return-portal", args=[token])


def _return_of(message) -> int | None:
    """The return request a return message is about, from its step ("return-42"); None for other messages."""
    parts = (message.step or "").split("-")
    if message.trigger.startswith("return_") and len(parts) == 2 and parts[0] == "return" and parts[1].isdigit():
        return int(parts[1])
    return None


RETURN_PORTAL_LINK = LinkSpec(
    name="return_portal",
    description=(
        "Return portal of the order: choose items to return, or follow the order's returns; in the messages "
        "of a return, that return's own page (how to send the items, where it stands)"
    ),
    worst_case="https://care.example.com/returns/" + "x" * 60,
    make=_portal_link,
)


# "Start a return" on the order status page (journeys.status.actions), once the order is delivered: the portal
# itself says what can still be returned and until when. Needs only the ids: no query.
RETURN_STATUS_ACTION = StatusAction(
    name="return",
    label=gettext_lazy("Start a return"),
    make=lambda order, language: return_portal_url(order),
    order_statuses=frozenset({Order.Status.DELIVERED, Order.Status.PARTIALLY_REFUNDED}),
)
