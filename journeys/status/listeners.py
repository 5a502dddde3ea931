"""Who hears that a customer keeps checking their order, without journeys knowing them.

journeys counts visits to the order status page (journeys.status.services). When the visits before
delivery reach the shop's threshold within its window, journeys plans the `order_status_checked`
message itself and tells every listener registered here: the support queue (returns) flags the
order's case from `returns.wiring` (DESIGN.md §2: journeys never imports returns).

A listener is called once per raised signal (at most once per order per window), inside the
transaction that recorded the visit, in a savepoint: its rows commit with the visit, and a listener
that fails rolls back only its own work and is logged; the visit is counted all the same.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusChecked:
    shop_id: int
    order_id: int
    customer_id: int | None
    visits: int  # counted visits within the window, the one that crossed the threshold included
    window_hours: int
    order_status: str
    at: dt.datetime
    source: str  # stable reference of this raise, e.g. "journeys.orderstatusvisit:42": idempotency for listeners


Listener = Callable[[StatusChecked], None]

_listeners: list[Listener] = []


def register(listener: Listener) -> Listener:
    """Hear about customers who keep checking their order. Registering the same function again changes nothing."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unregister(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def listeners_all() -> list[Listener]:
    return list(_listeners)


def listeners_notify(checked: StatusChecked) -> int:
    """Tell every listener about one raised signal. Returns how many succeeded; each runs in a savepoint."""
    succeeded = 0
    for listener in list(_listeners):
        try:
            with transaction.atomic():
                listener(checked)
        except Exception:
            logger.exception(
                "Status check listener %s failed on order %s; the visit is kept.",
                getattr(listener, "__qualname__", listener),
                checked.order_id,
            )
            continue
        succeeded += 1
    return succeeded
