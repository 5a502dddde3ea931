"""One timeline per order and per customer, merged from every app without merchant importing them.

merchant contributes the order events. Other apps register a source that returns their entries
for an order or a customer (journeys: the messages planned, sent or skipped). Each source must
answer with a constant number of queries, however many entries it returns.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from merchant.models import Customer, Order, OrderEvent
from merchant.selectors import order_timeline_list, order_timeline_queryset


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # who contributed it: "order", "message", ...; pages style entries by kind
    title: str
    detail: str
    status: str = ""
    url: str = ""


TimelineSource = Callable[..., list[TimelineEntry]]  # (*, order=None, customer=None) -> entries

_sources: list[TimelineSource] = []


def register_timeline_source(source: TimelineSource) -> TimelineSource:
    """Add a source; registering the same function twice keeps one (modules imported again in tests)."""
    if source not in _sources:
        _sources.append(source)
    return source


def unregister_timeline_source(source: TimelineSource) -> None:
    if source in _sources:
        _sources.remove(source)


def timeline_for(*, order: Order | None = None, customer: Customer | None = None) -> list[TimelineEntry]:
    """Everything that happened to one order, or to all orders and messages of one customer, oldest first."""
    if (order is None) == (customer is None):
        raise ValueError("Give exactly one of order or customer.")
    if order is not None:
        entries = [order_event_entry(event) for event in order_timeline_list(order=order)]
    else:
        events = order_timeline_queryset(OrderEvent.objects.filter(order__customer=customer)).select_related("order")
        entries = [order_event_entry(event, with_order=True) for event in events]
    for source in list(_sources):
        entries.extend(source(order=order, customer=customer))
    # Sorting is stable: entries of the same moment keep the order their source gave them.
    return sorted(entries, key=lambda entry: entry.at)


# --- order events as entries ------------------------------------------------------------------------


def event_status_change(event: OrderEvent) -> str:
    if not event.from_status or event.from_status == event.to_status:
        return event.get_to_status_display()
    return f"{event.get_from_status_display()} → {event.get_to_status_display()}"


def event_actor(event: OrderEvent) -> str:
    who = event.actor_user.get_username() if event.actor_user else event.actor_label
    return f"{event.get_actor_kind_display()}: {who}" if who else event.get_actor_kind_display()


def event_details(event: OrderEvent) -> str:
    return ", ".join(
        f"{key.replace('_', ' ')}: {value}"
        for key, value in event.details.items()
        if value not in ("", None) and not key.endswith("_id")
    )


def order_event_entry(event: OrderEvent, *, with_order: bool = False) -> TimelineEntry:
    title = event.get_type_display()
    if with_order:
        title = f"{title} · {event.order}"
    parts = [part for part in (event_status_change(event), f"by {event_actor(event)}", event_details(event)) if part]
    return TimelineEntry(
        at=event.occurred_at,
        kind="order",
        title=title,
        detail=" · ".join(parts),
        status="" if event.outcome == OrderEvent.Outcome.APPLIED else event.get_outcome_display(),
        url=reverse("admin:merchant_order_change", args=[event.order_id]) if with_order else "",
    )
