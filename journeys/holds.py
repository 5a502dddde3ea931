"""Holds: reasons for a planned message to wait, checked just before it is sent, that lift by themselves.

A trigger names the holds it waits for (`TriggerSpec.waits_for`), e.g. a review request waits
while the customer has an open return, an open dispute or a late shipment. The app that knows the
fact registers the hold with `hold_register()` from its `AppConfig.ready()`: journeys declares the
late-shipment hold below; returns registers `return_open` and `dispute_open`. journeys never
imports them, and a hold a trigger names that nobody registered simply never holds.

A held message goes back to the queue unsent (no attempt used) and is looked at again when the
hold says it may lift, or after `HOLD_RECHECK`; it still expires at its own `expires_at`.

`find` is called once per dispatcher batch with the batch's messages that wait for the hold, so a
hold costs one query per batch (none for a batch of order-care messages).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.triggers import trigger_get
from merchant.models import Order

HOLD_RECHECK = dt.timedelta(hours=6)


@dataclass(frozen=True)
class Hold:
    why: str  # for the message's explanation: "order #1002 of the customer is late to ship"
    until: dt.datetime | None = None  # look again then; None: after HOLD_RECHECK


@dataclass(frozen=True)
class HoldSpec:
    name: str
    label: str
    # (messages waiting for this hold, now) -> {message id: Hold} for the messages held.
    find: Callable[..., dict[int, Hold]]


_registry: dict[str, HoldSpec] = {}


def hold_register(spec: HoldSpec) -> HoldSpec:
    """Add a hold. Registering the same name again replaces it (app reloads in tests)."""
    _registry[spec.name] = spec
    return spec


def hold_unregister(name: str) -> None:
    _registry.pop(name, None)


def hold_get(name: str) -> HoldSpec | None:
    return _registry.get(name)


def holds_find(messages: list, *, now: dt.datetime | None = None) -> dict[int, Hold]:
    """The first hold found for each held message, by message id. One call per hold the messages wait for."""
    now = now or timezone.now()
    waiting: dict[str, list] = {}
    for message in messages:
        spec = trigger_get(message.trigger)
        for name in spec.waits_for if spec else ():
            if name in _registry:
                waiting.setdefault(name, []).append(message)
    found: dict[int, Hold] = {}
    for name in sorted(waiting):
        for message_id, hold in _registry[name].find(waiting[name], now=now).items():
            found.setdefault(message_id, hold)
    return found


def holds_attach(messages: list, *, now: dt.datetime | None = None) -> None:
    """Set `message.hold` (a Hold or None) on each message, for the dispatcher's decision."""
    found = holds_find(messages, now=now)
    for message in messages:
        message.hold = found.get(message.pk)


# --- the holds journeys knows ------------------------------------------------------------------

LATE_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_SHIPPED)


def late_shipment_holds(messages: list, *, now: dt.datetime) -> dict[int, Hold]:
    """Held while an order of the same customer is past its ship-by time and not (fully) shipped."""
    customer_ids = {message.customer_id for message in messages if message.customer_id}
    if not customer_ids:
        return {}
    late = (
        Order.objects.filter(customer_id__in=customer_ids, status__in=LATE_STATUSES, ship_by__lt=now)
        .filter(~Q(ship_by=None))
        .order_by("ship_by")
        .values_list("customer_id", "number")
    )
    late_by_customer: dict[int, str] = {}
    for customer_id, number in late:
        late_by_customer.setdefault(customer_id, number)
    return {
        message.pk: Hold(_("order %s of the customer is late to ship") % late_by_customer[message.customer_id])
        for message in messages
        if message.customer_id in late_by_customer
    }


LATE_SHIPMENT_HOLD = hold_register(
    HoldSpec(name="late_shipment", label="An order of the customer is late to ship", find=late_shipment_holds)
)
