"""Inbound deliveries: stored raw first, deduplicated, then applied; failures kept for a retry.

`inbound_event_receive` commits the raw delivery in its own transaction before anything is
applied, so a crash or a bug while applying loses nothing. Webhooks are answered right after
that (platforms time out after a few seconds and resend); `inbound_events_drain`, run by the
django-q2 cluster, applies what is waiting. `inbound_event_process` applies one event through
its topic's handler; an error is recorded on the event (and shown in the admin);
`inbound_event_reprocess` tries again once the cause is fixed.
"""

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


@dataclass(frozen=True)
class Outcome:
    order: Order | None
    result: dict[str, Any]


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
    shop: Merchant,
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
    """Apply a received (or failed) event once. Never raises for bad data: the event records it.

    With `skip_locked`, an event another worker is applying right now is left to it.
    """
    with transaction.atomic():
        claim = InboundEvent.objects.select_for_update(of=("self",), skip_locked=skip_locked).select_related("shop")
        locked = claim.filter(pk=event.pk).first()
        if locked is None or locked.status not in (Status.RECEIVED, Status.FAILED):
            return locked or event
        return _process_locked(locked)


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
    except (PayloadError, ValidationError, ApplicationError) as error:
        return _finish(event, Status.FAILED, error=_describe(error))
    except Exception as error:  # noqa: BLE001 - a bug in a handler must not lose the delivery
        logger.exception("inbound event %s failed", event.pk)
        return _finish(event, Status.FAILED, error=f"{type(error).__name__}: {error}")
    return _finish(event, Status.PROCESSED, order=outcome.order, result=outcome.result)


def inbound_event_reprocess(*, event: InboundEvent) -> InboundEvent:
    """Apply a failed event again (after its cause was fixed). Other events are left as they are."""
    if event.status != Status.FAILED:
        raise InvalidTransition(
            f"Event {event.pk} is {event.get_status_display().lower()}; only failed events are retried."
        )
    return inbound_event_process(event=event)


def _finish(event: InboundEvent, status: str, *, error: str = "", order=None, result=None) -> InboundEvent:
    if status not in InboundEvent.TRANSITIONS[event.status]:
        raise InvalidTransition(f"Event {event.pk} cannot move from {event.status} to {status}.")
    # A NUL cannot be stored in a PostgreSQL text column; an error may quote one from the body.
    event.status, event.error, event.processed_at = status, error.replace("\x00", "\\0"), timezone.now()
    event.order = order or event.order
    event.result = result or {}
    event.save(update_fields=["status", "error", "processed_at", "order", "result", "attempts"])
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
