"""Links other apps add to an order's admin page, without merchant importing them.

journeys adds the customer's order status page (what the customer sees when they follow the link in a
message); another app may add its own view of the order. A maker gets the order and answers the absolute
address, or "" when it has nothing for this order. Makers must not query per call more than once.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

from merchant.models import Order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderPageLink:
    name: str
    label: str | Promise
    make: Callable[[Order], str]  # (order) -> absolute URL, or ""
    help_text: str | Promise = ""


@dataclass(frozen=True)
class ShownLink:
    name: str
    label: str | Promise
    url: str
    help_text: str | Promise


_links: dict[str, OrderPageLink] = {}


def order_page_link_register(link: OrderPageLink) -> OrderPageLink:
    """Show `link` on every order's admin page. Registering the same name again replaces it."""
    _links[link.name] = link
    return link


def order_page_link_unregister(name: str) -> None:
    _links.pop(name, None)


def order_page_links(order: Order) -> list[ShownLink]:
    """The links for `order`, in the order registered; a maker that fails is logged and left out."""
    shown = []
    for link in list(_links.values()):
        try:
            url = link.make(order)
        except Exception:
            logger.exception("Order page link %s failed for order %s; left out.", link.name, order.pk)
            continue
        if url:
            shown.append(ShownLink(name=link.name, label=link.label, url=url, help_text=link.help_text))
    return shown
