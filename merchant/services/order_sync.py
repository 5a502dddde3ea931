"""Apply what a shop platform says about an order: its details, then each milestone it reached.

A snapshot describes state, and the same state arrives many times (every `orders/updated`). So
a milestone is applied only when the order has not recorded it yet, and through the order
services in RECORD mode: a late or backward fact lands on the timeline as ignored, never moves
the order back. A snapshot older than the last one applied changes nothing at all.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction

from merchant.actors import Actor
from merchant.models import Merchant, Order, OrderEvent, Shipment
from merchant.platforms.snapshots import OrderSnapshot, RefundSnapshot, ShipmentSnapshot
from merchant.services.customers import customer_sync, products_sync
from merchant.services.orders import (
    IfNotAllowed,
    LineInput,
    order_cancel,
    order_create,
    order_details_update,
    order_mark_paid,
    order_mark_shipped,
    order_refund_record,
    shipment_record_carrier_update,
)

RECORD = IfNotAllowed.RECORD


@dataclass
class SyncResult:
    order: Order | None
    applied: list[str] = field(default_factory=list)
    stale: bool = False

    def as_dict(self) -> dict:
        return {"order": self.order.number if self.order else None, "applied": self.applied, "stale": self.stale}


def _lines(shop: Merchant, snapshot: OrderSnapshot) -> list[LineInput]:
    products = products_sync(
        shop=shop, lines=[(line.product_external_id, line.title, line.sku) for line in snapshot.lines]
    )
    return [
        LineInput(
            title=line.title[:255],
            quantity=line.quantity,
            unit_price=line.unit_price,
            sku=line.sku[:100],
            external_id=line.external_id,
            product=products.get(line.product_external_id) if line.product_external_id else None,
        )
        for line in snapshot.lines
    ]


@transaction.atomic
def order_sync(*, shop: Merchant, snapshot: OrderSnapshot, actor: Actor, source_platform: str) -> SyncResult:
    """Create or update the order a platform describes, then apply its milestones in order:
    paid, shipped (per parcel), carrier updates, cancelled, refunds."""
    order = Order.objects.select_for_update().filter(shop=shop, external_id=snapshot.external_id).first()
    if order is not None and _is_stale(order, snapshot.updated_at):
        return SyncResult(order=order, stale=True)
    customer = customer_sync(shop=shop, snapshot=snapshot.customer) if snapshot.customer else None
    result = SyncResult(order=order)
    details = {
        "number": snapshot.number[:64],
        "currency": snapshot.currency,
        "shipping_total": snapshot.shipping_total,
        "tax_total": snapshot.tax_total,
        "discount_total": snapshot.discount_total,
        "total": snapshot.total,
        "language": snapshot.language,
        "platform_updated_at": snapshot.updated_at,
        # Only a platform that knows the promised dispatch time sets it; others leave it alone.
        **({"ship_by": snapshot.ship_by} if snapshot.ship_by else {}),
        **({"warehouse": snapshot.warehouse[:100]} if snapshot.warehouse else {}),
        **({"discount_codes": list(snapshot.discount_codes)} if snapshot.discount_codes else {}),
    }
    lines = _lines(shop, snapshot)
    if order is None:
        try:
            with transaction.atomic():
                order = order_create(
                    shop=shop,
                    actor=actor,
                    customer=customer,
                    external_id=snapshot.external_id,
                    placed_at=snapshot.placed_at,
                    source_platform=source_platform,
                    lines=lines,
                    **details,
                )
            result.applied.append("created")
        except IntegrityError:
            # Another delivery of the same order (orders/create and orders/paid arrive together)
            # created it a moment ago; this one updates it.
            order = Order.objects.select_for_update().get(shop=shop, external_id=snapshot.external_id)
            if _is_stale(order, snapshot.updated_at):
                return SyncResult(order=order, stale=True)
    if "created" not in result.applied:
        if customer is not None:
            details["customer"] = customer
        order = order_details_update(order=order, actor=actor, lines=lines, **details)
    result.order = order
    just_created = "created" in result.applied
    paid_at = snapshot.paid_at
    if paid_at and order.paid_at is None and (just_created or not _has_event(order, OrderEvent.Type.PAID, paid_at)):
        order = order_mark_paid(order=order, actor=actor, occurred_at=snapshot.paid_at, if_not_allowed=RECORD)
        result.applied.append("paid")
    new_parcels = [parcel for parcel in snapshot.shipments if not _known_parcel(order, parcel)]
    for index, parcel in enumerate(new_parcels):
        complete = snapshot.fulfillment == "full" and index == len(new_parcels) - 1
        shipment_sync(order=order, parcel=parcel, actor=actor, complete=complete)
        result.applied.append(f"shipment {parcel.tracking_number or parcel.external_id}")
    for parcel in snapshot.shipments:
        if parcel not in new_parcels and parcel.status:
            shipment_sync(order=order, parcel=parcel, actor=actor, complete=None)
    if snapshot.shipments:
        order.refresh_from_db()  # parcels may have moved the order (shipped, delivered)
    elif snapshot.fulfillment == "full" and not order.shipments.exists():
        order = order_mark_shipped(order=order, actor=actor, occurred_at=snapshot.updated_at, if_not_allowed=RECORD)
        result.applied.append("shipped")
    cancelled_at = snapshot.cancelled_at
    if cancelled_at and order.cancelled_at is None and not _has_event(order, OrderEvent.Type.CANCELLED, cancelled_at):
        order = order_cancel(
            order=order, actor=actor, reason=snapshot.cancel_reason, occurred_at=cancelled_at, if_not_allowed=RECORD
        )
        result.applied.append("cancelled")
    refunds = list(snapshot.refunds)
    if snapshot.fully_refunded:
        # A platform that says "refunded" without listing every refund: the rest is refunded too.
        listed = sum((refund.amount for refund in refunds), Decimal("0"))
        rest = order.total - max(order.refunded_total, listed)
        if rest > 0:
            refunds.append(RefundSnapshot(external_id="status:refunded", amount=rest))
    for refund in refunds:
        if refund_sync(order=order, refund=refund, actor=actor, default_time=snapshot.updated_at):
            result.applied.append(f"refund {refund.amount}")
    if refunds:
        order.refresh_from_db()
    result.order = order
    return result


def _is_stale(order: Order, updated_at: dt.datetime | None) -> bool:
    return bool(updated_at and order.platform_updated_at and updated_at < order.platform_updated_at)


def _has_event(order: Order, event_type: str, occurred_at: dt.datetime) -> bool:
    return order.events.filter(type=event_type, occurred_at=occurred_at).exists()


def _known_parcel(order: Order, parcel: ShipmentSnapshot) -> bool:
    if parcel.external_id:
        return order.shipments.filter(external_id=parcel.external_id).exists()
    return bool(parcel.tracking_number) and order.shipments.filter(tracking_number=parcel.tracking_number).exists()


@transaction.atomic
def shipment_sync(*, order: Order, parcel: ShipmentSnapshot, actor: Actor, complete: bool | None) -> Shipment | None:
    """Record a parcel the platform reports, then what its carrier said.

    `complete` says whether this parcel finishes the order; None works it out from the order
    lines the platform put in this and earlier parcels (all lines shipped: complete).
    """
    shipment = None
    if parcel.external_id:
        shipment = order.shipments.filter(external_id=parcel.external_id).first()
    if shipment is None:
        if complete is None:
            shipped_lines = set(parcel.line_external_ids)
            for earlier in order.shipments.all():
                shipped_lines.update(earlier.line_external_ids)
            order_lines = {line.external_id for line in order.lines.all() if line.external_id}
            complete = not parcel.line_external_ids or order_lines <= shipped_lines
        order_mark_shipped(
            order=order,
            actor=actor,
            occurred_at=parcel.shipped_at or parcel.updated_at,
            carrier=parcel.carrier[:100],
            tracking_number=parcel.tracking_number[:100],
            tracking_url=parcel.tracking_url[:500],
            partial=not complete,
            shipment_external_id=parcel.external_id,
            line_external_ids=parcel.line_external_ids,
            if_not_allowed=RECORD,
        )
        shipment = order.shipments.filter(external_id=parcel.external_id).first() if parcel.external_id else None
    if shipment is not None and parcel.status and parcel.status != shipment.status:
        shipment = shipment_record_carrier_update(
            shipment=shipment,
            status=parcel.status,
            actor=actor,
            occurred_at=parcel.updated_at or parcel.shipped_at,
        )
    return shipment


def refund_sync(*, order: Order, refund: RefundSnapshot, actor: Actor, default_time: dt.datetime | None) -> bool:
    """Record a platform refund once (by its id). Returns whether anything new was recorded."""
    reference = refund.external_id or ""
    if reference and order.events.filter(details__refund_reference=reference).exists():
        return False
    if refund.amount <= 0:
        return False
    order.refresh_from_db()
    amount = min(Decimal(refund.amount), order.total - order.refunded_total)
    if amount <= 0:
        return False
    order_refund_record(
        order=order,
        actor=actor,
        amount=amount,
        occurred_at=refund.refunded_at or default_time,
        if_not_allowed=RECORD,
        reference=reference,
    )
    return True
