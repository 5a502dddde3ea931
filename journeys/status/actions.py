"""What the order status page offers the customer besides where the order stands, without journeys knowing who.

The return portal (returns) and the review page (reviews) live in apps journeys never imports
(DESIGN.md §2): each registers a `StatusAction` from its wiring, whose `make(order, language)` answers
the address of its page for this order, or "" when it offers nothing now (no return possible, no review
asked for yet). The page shows the actions in the order of registration; contacting the shop is the
page's own (the shop's email and phone).

A maker is called once per page view with the page's order (shop and customer loaded, lines and parcels
prefetched): it may run at most one query of its own, and must not change anything (a GET changes no state).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

from merchant.models import Order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusAction:
    name: str  # stable, e.g. "return", "review": the page's CSS and tests find it by this
    label: str | Promise  # the button's words, translated when the page renders
    make: Callable[[Order, str], str]  # (order, language) -> absolute URL, or "" when not offered now
    # Offered only while the order is in one of these statuses (None: always asked). Saves the maker's query.
    order_statuses: frozenset[str] | None = None


@dataclass(frozen=True)
class ShownAction:
    name: str
    label: str | Promise
    url: str


_actions: dict[str, StatusAction] = {}


def status_action_register(action: StatusAction) -> StatusAction:
    """Offer `action` on every order's status page. Registering the same name again replaces it."""
    _actions[action.name] = action
    return action


def status_action_unregister(name: str) -> None:
    _actions.pop(name, None)


def status_actions_all() -> list[StatusAction]:
    return list(_actions.values())


def status_actions_for(order: Order, *, language: str) -> list[ShownAction]:
    """The actions the page offers for `order` now. A maker that fails is logged and left out: the page still
    shows where the order stands."""
    shown = []
    for action in list(_actions.values()):
        if action.order_statuses is not None and order.status not in action.order_statuses:
            continue
        try:
            url = action.make(order, language)
        except Exception:
            logger.exception("Status page action %s failed for order %s; left out.", action.name, order.pk)
            continue
        if url:
            shown.append(ShownAction(name=action.name, label=action.label, url=url))
    return shown
