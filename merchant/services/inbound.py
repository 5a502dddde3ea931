"""Inbound deliveries: stored raw first, deduplicated, then applied; failures kept for a retry.

`inbound_event_receive` commits the raw delivery in its own transaction before anything is
applied, so a crash or a bug while applying loses nothing. Webhooks are answered right after
that (platforms time out after a few seconds and resend); `inbound_events_drain`, run by the
django-q2 cluster, applies what is waiting. `inbound_event_process` applies one event through
its topic's handler; an error is recorded on the event (and shown in the admin);
`inbound_event_reprocess` tries again once the cause is fixed.

A handler that finds its event is about something another process is about to record (a
provider's callback that came before the dispatcher wrote down the send) raises `EventMustWait`:
the event is kept `waiting`, not failed. `inbound_events_waiting_apply` applies the events waiting
for ids just recorded (the dispatcher calls it after each batch); `inbound_events_waiting_sweep`,
run every minute, applies again those it missed and fails the ones that waited a day.
"""

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from merchant.actors import Actor
from merchant.exceptions import ApplicationError, InvalidTransition
from merchant.models import InboundEvent, Merchant, Order, OrderEvent, Shipment
from merchant.platforms import shopify, woocommerce
from merchant.platforms.snapshots import PayloadError
from merchant.services.order_sync import order_sync, refund_sync, shipment_sync
from merchant.services.orders import (
    IfNotAllowed,
    order_cancel,
    order_mark_delivered,
    order_mark_paid,
    order_mark_shipped,
    order_note_add,
    order_refund_record,
    shipment_record_carrier_update,
)

logger = logging.getLogger(__name__)
Status = InboundEvent.Status


class IgnoreEvent(Exception):
    """The delivery is valid but there is nothing to apply (an unknown topic, a ping)."""


class EventMustWait(Exception):
    """The event is about something another process is about to record; it is applied again once it is.

    `waiting_for` names that thing (a provider's message id) for `inbound_events_waiting_apply`.
    """

    def __init__(self, reason: str, *, waiting_for: str = "") -> None:
        super().__init__(reason)
        self.waiting_for = waiting_for


# A waiting event the recording process did not apply is tried again after this long, and failed
# when it still waits after GIVE_UP_WAITING_AFTER.
SWEEP_WAITING_AFTER = dt.timedelta(minutes=1)
GIVE_UP_WAITING_AFTER = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    order: Order | None
    result: dict[str, Any]
    # The shop the event turned out to be about, for an event stored without one.
    shop: Merchant | None = None


Handler = Callable[[InboundEvent, Any], Outcome]
BodyParser = Callable[[bytes], Any]
HANDLERS: dict[tuple[str, str], Handler] = {}
PARSERS: dict[tuple[str, str], BodyParser] = {}


def json_body(body: bytes) -> Any:
    try:
        return json.loads(bytes(body))
    except ValueError as error:
        raise PayloadError(f"body: not JSON ({error})") from None


def form_body(body: bytes) -> dict[str, str]:
    """A form-encoded body (Twilio's webhooks) as a dict; a name sent twice keeps its last value."""
    try:
        return dict(parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as error:
        raise PayloadError(f"body: not UTF-8 form data ({error})") from None


def handles(source: str, *topics: str, parse: BodyParser = json_body) -> Callable[[Handler], Handler]:
    """Register `handler` for `topics` of `source`; other apps register theirs from `AppConfig.ready`.
    `parse` turns the stored bytes into what the handler receives (JSON unless told otherwise)."""

    def register(handler: Handler) -> Handler:
        for topic in topics:
            HANDLERS[(source, topic)] = handler
            PARSERS[(source, topic)] = parse
        return handler

    return register


def inbound_event_receive(
    *,
    shop: Merchant | None,
    source: str,
    topic: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    delivery_id: str = "",
    dedupe_keys: tuple[str, ...] = (),
) -> InboundEvent:
    """Store a delivery, committed before it is applied. A delivery whose dedupe key was seen
    before is stored as a duplicate of the first one and never applied.

    `dedupe_keys` are tried in order; the first non-empty one is the event's key (Shopify: the
    event id when sent, else the webhook id; WooCommerce: order id and modification time).
    `shop` is None only for a verified provider callback about no message of ours.
    """
    key = next((key for key in dedupe_keys if key), None)
    event = InboundEvent(
        shop=shop,
        source=source,
        topic=topic[:100],
        delivery_id=delivery_id[:200],
        headers=headers or {},
        body=body,
        dedupe_key=key[:300] if key else None,
    )
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        first = InboundEvent.objects.filter(shop=shop, dedupe_key=event.dedupe_key).first()
        event.pk, event.dedupe_key, event.status, event.duplicate_of = None, None, Status.DUPLICATE, first
        event.processed_at = timezone.now()
        event.save()
        return event
    # A repeat may carry another key of the same event (a new webhook id with the same event id).
    others = [other for other in dedupe_keys if other and other != key]
    first = None
    if others:
        first = InboundEvent.objects.filter(shop=shop, dedupe_key__in=others, pk__lt=event.pk).first()
    if first is not None:
        event.dedupe_key, event.status, event.duplicate_of = None, Status.DUPLICATE, first
        event.processed_at = timezone.now()
        event.save(update_fields=["dedupe_key", "status", "duplicate_of", "processed_at"])
    return event


GAP_WHILE_ARRIVING = 0.05


def inbound_events_drain(*, max_seconds: float, batch: int = 100, idle_sleep: float = 0.2) -> int:
    """Apply received events, oldest first, until none is left and `max_seconds` have passed.

    The InboundEvent table is the queue (as the outbox is for messages): no task per delivery,
    so the web process writes one row per delivery and nothing else. Several drainers may run
    at once: on PostgreSQL each takes events the others have not locked; on SQLite writers queue
    on the database lock and an event found already applied is skipped. Returns how many events
    this call handled (applied, failed, or found done by another drainer).
    """
    deadline = time.monotonic() + max_seconds
    applied, newest_seen, arriving = 0, None, False
    # While deliveries keep arriving, answering the platforms comes first: the drainer leaves a
    # gap after each event so the web process gets the CPU and (SQLite has one write lock, and a
    # writer waiting for it sleeps between tries) the database at once. Applying catches up
    # when the burst is over.
    gap = GAP_WHILE_ARRIVING
    while True:
        pending = list(
            InboundEvent.objects.filter(status=Status.RECEIVED).order_by("id").values_list("id", flat=True)[:batch]
        )
        for index, event_id in enumerate(pending):
            if gap and index % 10 == 0:
                newest = InboundEvent.objects.order_by("-id").values_list("id", flat=True).first()
                arriving, newest_seen = newest_seen is not None and newest > newest_seen, newest
            unclaimed = InboundEvent(pk=event_id)
            if inbound_event_process(event=unclaimed, skip_locked=True) is not unclaimed:
                applied += 1
            if gap and arriving:
                time.sleep(gap)
        if len(pending) < batch:
            if time.monotonic() >= deadline:
                return applied
            time.sleep(idle_sleep)


def inbound_event_process(*, event: InboundEvent, skip_locked: bool = False) -> InboundEvent:
    """Apply a received (failed, waiting) event once. Never raises for bad data: the event records it.

    With `skip_locked`, an event another worker is applying right now is left to it. An event that
    starts waiting is tried once more right after that is committed: the process recording what it
    waits for then either finds it waiting, or had recorded before this second try.
    """
    processed, started_waiting = _process_once(event, skip_locked=skip_locked)
    if started_waiting:
        processed, _ = _process_once(processed, skip_locked=skip_locked)
    return processed


def _process_once(event: InboundEvent, *, skip_locked: bool) -> tuple[InboundEvent, bool]:
    with transaction.atomic():
        claim = InboundEvent.objects.select_for_update(of=("self",), skip_locked=skip_locked).select_related("shop")
        locked = claim.filter(pk=event.pk).first()
        if locked is None or locked.status not in (Status.RECEIVED, Status.FAILED, Status.WAITING):
            return locked or event, False
        before = locked.status
        processed = _process_locked(locked)
        return processed, processed.status == Status.WAITING and before != Status.WAITING


def _process_locked(event: InboundEvent) -> InboundEvent:
    handler = HANDLERS.get((event.source, event.topic))
    event.attempts += 1
    try:
        if handler is None:
            raise IgnoreEvent(f"No handler for {event.source} topic “{event.topic}”; stored for reference.")
        with transaction.atomic():
            outcome = handler(event, PARSERS.get((event.source, event.topic), json_body)(event.body))
    except IgnoreEvent as reason:
        return _finish(event, Status.IGNORED, error=str(reason))
    except EventMustWait as wait:
        event.waiting_for = wait.waiting_for[:200]
        return _finish(event, Status.WAITING, error=str(wait))
    except (PayloadError, ValidationError, ApplicationError) as error:
        return _finish(event, Status.FAILED, error=_describe(error))
    except Exception as error:  # noqa: BLE001 - a bug in a handler must not lose the delivery
        logger.exception("inbound event %s failed", event.pk)
        return _finish(event, Status.FAILED, error=f"{type(error).__name__}: {error}")
    if event.shop_id is None and outcome.shop is not None:
        _attach_to_shop(event, outcome.shop)
    return _finish(event, Status.PROCESSED, order=outcome.order, result=outcome.result)


def _attach_to_shop(event: InboundEvent, shop: Merchant) -> None:
    """Give a shopless event the shop it turned out to be about, so that shop's people see it."""
    taken = event.dedupe_key and InboundEvent.objects.filter(shop=shop, dedupe_key=event.dedupe_key).exists()
    if taken:
        event.dedupe_key = None  # the shop already holds this key: the first delivery keeps it
    event.shop = shop
    event.save(update_fields=["shop", "dedupe_key"])


def inbound_event_reprocess(*, event: InboundEvent) -> InboundEvent:
    """Apply a failed or waiting event again (after its cause was fixed). Other events are left as they are."""
    if event.status not in (Status.FAILED, Status.WAITING):
        raise InvalidTransition(
            f"Event {event.pk} is {event.get_status_display().lower()}; only failed or waiting events are retried."
        )
    return inbound_event_process(event=event)


def inbound_events_waiting_apply(*, waiting_for: list[str]) -> int:
    """Apply the events waiting for any of `waiting_for` (provider message ids just recorded).

    Guarantees: one query without parameters, answered from the (then empty) partial index
    `merchant_inbound_waiting_idx`, when nothing waits (none at all for an empty list); events are
    applied oldest first, each once; one another worker is applying right now is left to it.
    Returns how many were applied now.
    """
    wanted = sorted({value for value in waiting_for if value})
    waiting = InboundEvent.objects.filter(status=Status.WAITING)
    # Nearly always nothing waits: asking that first costs half of asking with a hundred ids.
    if not wanted or not waiting.exists():
        return 0
    applied = 0
    for event_id in waiting.filter(waiting_for__in=wanted).order_by("id").values_list("id", flat=True):
        if inbound_event_process(event=InboundEvent(pk=event_id), skip_locked=True).status == Status.PROCESSED:
            applied += 1
    return applied


def inbound_events_waiting_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Apply again the events that waited longer than a minute; fail those that waited a day.

    The safety net behind `inbound_events_waiting_apply`: a dispatcher that died between recording
    and applying, or an event stored just after the dispatcher looked. Returns counts by outcome.
    """
    now = now or timezone.now()
    overdue = InboundEvent.objects.filter(status=Status.WAITING, received_at__lte=now - SWEEP_WAITING_AFTER)
    counts = {"applied": 0, "still_waiting": 0, "given_up": 0, "other": 0}
    for event_id in overdue.order_by("id").values_list("id", flat=True):
        event = inbound_event_process(event=InboundEvent(pk=event_id), skip_locked=True)
        if event.status == Status.WAITING and event.received_at <= now - GIVE_UP_WAITING_AFTER:
            _give_up_waiting(event)
            counts["given_up"] += 1
            continue
        counts[{Status.PROCESSED: "applied", Status.WAITING: "still_waiting"}.get(event.status, "other")] += 1
    return counts


@transaction.atomic
def _give_up_waiting(event: InboundEvent) -> InboundEvent:
    locked = InboundEvent.objects.select_for_update().get(pk=event.pk)
    if locked.status != Status.WAITING:
        return locked
    hours = int(GIVE_UP_WAITING_AFTER.total_seconds() // 3600)
    return _finish(locked, Status.FAILED, error=f"Gave up after waiting {hours} hours. {locked.error}", result={})


def _finish(event: InboundEvent, status: str, *, error: str = "", order=None, result=None) -> InboundEvent:
    if status not in InboundEvent.TRANSITIONS[event.status]:
        raise InvalidTransition(f"Event {event.pk} cannot move from {event.status} to {status}.")
    # A NUL cannot be stored in a PostgreSQL text column; an error may quote one from the body.
    event.status, event.error, event.processed_at = status, error.replace("\x00", "\\0"), timezone.now()
    event.order = order or event.order
    event.result = result or {}
    event.save(update_fields=["status", "error", "processed_at", "order", "result", "attempts", "waiting_for"])
    return event


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
        return " ".join(error.messages)
    return str(error)


def _actor(event: InboundEvent) -> Actor:
    return Actor.webhook(f"{event.source} {event.topic}")


def _order_of(event: InboundEvent, external_id: str) -> Order:
    order = Order.objects.filter(shop=event.shop, external_id=external_id).first()
    if order is None:
        raise ApplicationError(
            f"Order {external_id} is not known yet; reprocess this event after the order has arrived."
        )
    return order


# --- Shopify ----------------------------------------------------------------------------------


@handles("shopify", "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
         "orders/partially_fulfilled", "orders/edited")  # fmt: skip
def _shopify_order(event: InboundEvent, body: Any) -> Outcome:
    synced = order_sync(
        shop=event.shop, snapshot=shopify.order_snapshot(body), actor=_actor(event), source_platform="shopify"
    )
    if synced.stale:
        raise IgnoreEvent(f"Older than the last update applied to order {synced.order}; nothing changed.")
    return Outcome(order=synced.order, result=synced.as_dict())


@handles("shopify", "fulfillments/create", "fulfillments/update")
def _shopify_fulfillment(event: InboundEvent, body: Any) -> Outcome:
    if shopify.fulfillment_is_void(body):
        raise IgnoreEvent("The fulfillment was cancelled or failed; no parcel left.")
    order_external_id, parcel = shopify.fulfillment_snapshot(body)
    order = _order_of(event, order_external_id)
    shipment_sync(order=order, parcel=parcel, actor=_actor(event), complete=None)
    order.refresh_from_db()
    return Outcome(order=order, result={"status": order.status, "shipment": parcel.tracking_number})


@handles("shopify", "refunds/create")
def _shopify_refund(event: InboundEvent, body: Any) -> Outcome:
    order_external_id, refund = shopify.refund_snapshot(body)
    order = _order_of(event, order_external_id)
    recorded = refund_sync(order=order, refund=refund, actor=_actor(event), default_time=refund.refunded_at)
    order.refresh_from_db()
    return Outcome(order=order, result={"status": order.status, "refund": str(refund.amount), "new": recorded})


@handles("shopify", "disputes/create", "disputes/update")
def _shopify_dispute(event: InboundEvent, body: Any) -> Outcome:
    # Kept for the returns workflow; the order's timeline says a dispute exists.
    summary = shopify.dispute_summary(body)
    order_id = summary.get("order_external_id")
    order = Order.objects.filter(shop=event.shop, external_id=order_id).first() if order_id else None
    if order is not None:
        words = ", ".join(str(summary[key]) for key in ("type", "reason", "status") if summary.get(key))
        order_note_add(order=order, actor=_actor(event), text=f"Payment dispute: {words}")
    return Outcome(order=order, result=summary)


# --- WooCommerce ------------------------------------------------------------------------------


@handles("woocommerce", "order.created", "order.updated")
def _woocommerce_order(event: InboundEvent, body: Any) -> Outcome:
    synced = order_sync(
        shop=event.shop,
        snapshot=woocommerce.order_snapshot(body),
        actor=_actor(event),
        source_platform="woocommerce",
    )
    if synced.stale:
        raise IgnoreEvent(f"Older than the last update applied to order {synced.order}; nothing changed.")
    return Outcome(order=synced.order, result=synced.as_dict())


# --- REST API events --------------------------------------------------------------------------


def _api_shipment(order: Order, shipment_data: dict) -> Shipment | None:
    tracking = (shipment_data or {}).get("tracking_number")
    parcels = order.shipments.order_by("-shipped_at", "-id")
    return (parcels.filter(tracking_number=tracking) if tracking else parcels).first()


@handles("api", "order.event")
def _api_order_event(event: InboundEvent, body: Any) -> Outcome:
    """An order event sent to POST /api/v1/orders/{id}/events (already validated by the API)."""
    order = _order_of(event, body["order"])
    actor = Actor.api(body.get("api_key", "API"))
    occurred_at = parse_datetime(body["occurred_at"])
    shipment_data = body.get("shipment") or {}
    last_event_id = order.events.order_by("-id").values_list("id", flat=True).first() or 0
    kind = body["type"]
    common = {"order": order, "actor": actor, "occurred_at": occurred_at, "if_not_allowed": IfNotAllowed.RECORD}
    if kind == "paid":
        order_mark_paid(**common)
    elif kind == "shipped":
        order_mark_shipped(
            **common,
            carrier=shipment_data.get("carrier", ""),
            tracking_number=shipment_data.get("tracking_number", ""),
            tracking_url=shipment_data.get("tracking_url", ""),
            partial=bool(shipment_data.get("partial")),
        )
    elif kind in ("out_for_delivery", "delivered"):
        shipment = _api_shipment(order, shipment_data)
        if shipment is not None:
            shipment_record_carrier_update(shipment=shipment, status=kind, actor=actor, occurred_at=occurred_at)
        elif kind == "delivered":
            order_mark_delivered(**common)
        else:
            raise ApplicationError(f"Order {order.number} has no parcel to be out for delivery; send shipped first.")
    elif kind == "cancelled":
        order_cancel(**common, reason=body.get("reason", ""))
    elif kind == "refunded":
        amount = body.get("amount")
        order_refund_record(**common, amount=Decimal(amount) if amount else None)
    else:
        raise PayloadError(f"type: unknown event type “{kind}”")
    written = order.events.filter(id__gt=last_event_id).order_by("-id").first()
    order.refresh_from_db()
    return Outcome(order=order, result={"outcome": written.outcome if written else OrderEvent.Outcome.DUPLICATE})
