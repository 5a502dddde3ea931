"""Who hears that a customer keeps checking their order, without journeys knowing them.

journeys counts visits to the order status page (journeys.status.services). When the visits before
delivery reach the shop's threshold within its window, journeys plans the `order_status_checked`
message itself and tells every listener registered here: the support queue (returns) flags the
order's case from `returns.wiring` (DESIGN.md §2: journeys never imports returns).

A listener is called once per raised signal (at most once per order per window: after each, the signal
stays quiet for one window from the visit that raised it), inside the transaction that recorded the
visit, in a savepoint: its rows commit with the visit, and a listener that fails rolls back only its own
work and is logged; the visit is counted all the same.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from journeys.listener_lists import ListenerList


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

_listeners = ListenerList(what="Status check", describe=lambda checked: f"order {checked.order_id}")

# Hear about customers who keep checking their order; stop hearing; who hears.
register = _listeners.register
unregister = _listeners.unregister
listeners_all = _listeners.all
# Tell every listener about one raised signal; returns how many succeeded.
listeners_notify = _listeners.notify
