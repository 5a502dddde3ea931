"""The order lifecycle: one transition path, declared moves, a timeline naming every actor.

Every status change goes through `_order_transition`: it locks the row, checks
`Order.TRANSITIONS`, stamps the milestone time, writes an `OrderEvent` naming the actor and hands
the change to the registered listeners (journeys plans messages there, in the same transaction;
after-commit listeners run once it commits). Late or repeated events from platforms never move
an order backwards: they are written to the timeline as ignored.
"""

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from merchant import order_listeners
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, Merchant, Order, OrderEvent, OrderLine, Product, Shipment
from merchant.services.field_updates import fields_check_allowed, row_validate

Status = Order.Status
EventType = OrderEvent.Type
Outcome = OrderEvent.Outcome


class IfNotAllowed(enum.Enum):
    """What a refused order transition does.

    REFUSE: raise `InvalidTransition` and change nothing (a person asked in the admin).
    RECORD: write the event to the timeline as ignored and change nothing else (a platform
    reported something late, twice, or out of order).
    """

    REFUSE = "refuse"
    RECORD = "record"


@dataclass(frozen=True)
class LineInput:
    title: str
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    product: Product | None = None
    sku: str = ""
    external_id: str | None = None


@transaction.atomic
def order_create(
    *,
    shop: Merchant,
    number: str,
    currency: str,
    actor: Actor,
    lines: Iterable[LineInput] = (),
    customer: Customer | None = None,
    external_id: str | None = None,
    placed_at: dt.datetime | None = None,
    ship_by: dt.datetime | None = None,
    shipping_total: Decimal = Decimal("0"),
    tax_total: Decimal = Decimal("0"),
    discount_total: Decimal = Decimal("0"),
    source_platform: str = Order.SourcePlatform.API,
    language: str = "",
    total: Decimal | None = None,
    platform_updated_at: dt.datetime | None = None,
    warehouse: str = "",
    discount_codes: Iterable[str] = (),
) -> Order:
    """Create an order awaiting payment with its lines, and the first line of its timeline.

    The subtotal is computed from the lines; the total too unless the platform states it (tax-
    inclusive prices make the two differ). The customer must belong to the same shop.
    """
    if customer is not None and customer.shop_id != shop.pk:
        raise ValidationError({"customer": "The customer belongs to another shop."})
    lines = list(lines)
    for line in lines:
        if line.product is not None and line.product.shop_id != shop.pk:
            raise ValidationError({"lines": f"Product “{line.product}” belongs to another shop."})
    subtotal = sum((Decimal(line.unit_price) * line.quantity for line in lines), Decimal("0"))
    placed_at = placed_at or timezone.now()
    order = Order(
        shop=shop,
        customer=customer,
        external_id=external_id,
        number=number,
        currency=(currency or "").upper(),
        placed_at=placed_at,
        ship_by=ship_by,
        status=Status.PENDING_PAYMENT,
        status_changed_at=placed_at,
        subtotal=subtotal,
        shipping_total=shipping_total,
        tax_total=tax_total,
        discount_total=discount_total,
        total=total if total is not None else subtotal + shipping_total + tax_total - discount_total,
        source_platform=source_platform,
        language=language or (customer.language if customer else "") or "",
        platform_updated_at=platform_updated_at,
        warehouse=warehouse,
        discount_codes=list(discount_codes),
    )
    row_validate(order)
    order.save()
    _order_lines_create(order, lines)
    event = _order_event_write(
        order=order,
        type=EventType.CREATED,
        from_status="",
        to_status=order.status,
        outcome=Outcome.APPLIED,
        actor=actor,
        occurred_at=placed_at,
        details={"number": number, "total": str(order.total), "currency": order.currency},
    )
    orders_next_order_refresh(customer_ids=[order.customer_id])
    order_listeners.notify(order, event)
    return order


def orders_next_order_refresh(*, customer_ids: Iterable[int | None] = (), shop_id: int | None = None) -> None:
    """Set `next_order_placed_at` on every order of these customers (or of a whole shop, after a bulk load): when
    the same customer next placed an order that was not cancelled (strictly later; none: empty). One UPDATE, which
    the index on (customer, placed_at) of the orders not cancelled answers; run after a customer's orders were
    created, cancelled or moved to another customer."""
    ids = sorted({pk for pk in customer_ids if pk is not None})
    if shop_id is not None:
        orders = Order.objects.filter(shop_id=shop_id)
    elif ids:
        orders = Order.objects.filter(customer_id__in=ids)
    else:
        return  # guest orders only: no customer, no next order
    next_order = Order.objects.filter(
        customer_id=OuterRef("customer_id"), placed_at__gt=OuterRef("placed_at"), cancelled_at__isnull=True
    ).order_by("placed_at")
    orders.update(next_order_placed_at=Subquery(next_order.values("placed_at")[:1]))


ORDER_DETAIL_FIELDS = (
    "customer",
    "number",
    "currency",
    "ship_by",
    "shipping_total",
    "tax_total",
    "discount_total",
    "total",
    "language",
    "platform_updated_at",
    "warehouse",
    "discount_codes",
)


@transaction.atomic
def order_details_update(
    *, order: Order, actor: Actor, lines: Iterable[LineInput] | None = None, **fields: Any
) -> Order:
    """Change what an order is (customer, number, amounts, lines), never where it stands: the status
    and its times move only through the transitions. Recorded on the timeline when anything changed."""
    fields_check_allowed(fields, ORDER_DETAIL_FIELDS)
    order = _order_lock(order)
    customer = fields.get("customer")
    if customer is not None and customer.shop_id != order.shop_id:
        raise ValidationError({"customer": "The customer belongs to another shop."})
    changed = sorted(name for name, value in fields.items() if getattr(order, name) != value)
    lines_changed = False
    if lines is not None:
        lines = list(lines)
        current = [(line.external_id, line.title, line.quantity, line.unit_price) for line in order.lines.all()]
        wanted = [(line.external_id, line.title, line.quantity, Decimal(line.unit_price)) for line in lines]
        if current != wanted:
            lines_changed = True
            order.lines.all().delete()
            _order_lines_create(order, lines)
            fields["subtotal"] = sum((Decimal(line.unit_price) * line.quantity for line in lines), Decimal("0"))
    if not changed and not lines_changed:
        return order
    former_customer_id = order.customer_id
    for name, value in fields.items():
        setattr(order, name, value)
    row_validate(order)
    order.save()
    if "customer" in changed:
        orders_next_order_refresh(customer_ids=[former_customer_id, order.customer_id])
    meaningful = [name for name in changed if name != "platform_updated_at"] + (["lines"] if lines_changed else [])
    if meaningful:
        _order_note_write(
            order=order,
            actor=actor,
            occurred_at=fields.get("platform_updated_at") or timezone.now(),
            details={"updated": ", ".join(meaningful)},
        )
    return order


def _order_note_write(*, order: Order, actor: Actor, occurred_at: dt.datetime, details: dict[str, Any]) -> OrderEvent:
    """A timeline line that records something without changing where the order stands."""
    return _order_event_write(
        order=order,
        type=EventType.NOTE,
        from_status=order.status,
        to_status=order.status,
        outcome=Outcome.APPLIED,
        actor=actor,
        occurred_at=occurred_at,
        details=details,
    )


def _order_lines_create(order: Order, lines: list[LineInput]) -> None:
    order_lines = [
        OrderLine(
            order=order,
            product=line.product,
            external_id=line.external_id,
            title=line.title,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=Decimal(line.unit_price),
            total=Decimal(line.unit_price) * line.quantity,
        )
        for line in lines
    ]
    for order_line in order_lines:
        row_validate(order_line)
    OrderLine.objects.bulk_create(order_lines)


def _order_event_write(
    *,
    order: Order,
    type: str,
    from_status: str,
    to_status: str,
    outcome: str,
    actor: Actor,
    occurred_at: dt.datetime,
    details: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        type=type,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        source=order.source_platform if actor.kind in ("webhook", "api") else "",
        occurred_at=occurred_at,
        details=details or {},
    )


def _order_lock(order: Order) -> Order:
    """The order row, locked for this transaction and read fresh (lock order: order first)."""
    # Only the order row: locking the joined shop would make every order of a shop wait in line.
    # The customer comes along because the listeners (the message planner) need it.
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "customer").get(pk=order.pk)


def _transition_outcome(order: Order, to: str, occurred_at: dt.datetime) -> str:
    if order.status == to and to not in Order.REPEATABLE:
        return Outcome.DUPLICATE
    if order.status_changed_at and occurred_at < order.status_changed_at:
        return Outcome.STALE
    if order.status == to:  # a second parcel or a second partial refund
        return Outcome.APPLIED
    if not order.can_move_to(to):
        return Outcome.NOT_ALLOWED
    return Outcome.APPLIED


REFUSAL_MESSAGES = {
    Outcome.DUPLICATE: "Order {number} is already {status}.",
    Outcome.STALE: "Order {number} changed to {status} after that moment; the change is older.",
    Outcome.NOT_ALLOWED: "Order {number} is {status} and cannot be marked {to}.",
}


def _order_transition(
    order: Order,
    *,
    to: str,
    event_type: str,
    actor: Actor,
    occurred_at: dt.datetime | None,
    if_not_allowed: IfNotAllowed,
    details: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    on_applied: Callable[[Order, OrderEvent], None] | None = None,
) -> tuple[Order, OrderEvent]:
    """Move `order` to `to`, or record why not. Must run inside a transaction.

    `changes` are further fields set with the status (e.g. refunded_total); they are applied only
    when the transition is. `on_applied` writes the rows that come with the move (a parcel) before
    the listeners hear of it, so planned messages can refer to them.
    """
    occurred_at = occurred_at or timezone.now()
    locked = _order_lock(order)
    outcome = _transition_outcome(locked, to, occurred_at)
    from_status = locked.status
    if outcome != Outcome.APPLIED and if_not_allowed is IfNotAllowed.REFUSE:
        raise InvalidTransition(
            REFUSAL_MESSAGES[outcome].format(
                number=locked.number,
                status=locked.get_status_display().lower(),
                to=Status(to).label.lower(),
            )
        )
    if outcome == Outcome.APPLIED:
        update_fields = ["status", "status_changed_at", "updated_at"]
        locked.status = to
        locked.status_changed_at = occurred_at
        stamp = Order.STATUS_TIMESTAMP.get(to)
        if stamp and getattr(locked, stamp) is None:
            setattr(locked, stamp, occurred_at)
            update_fields.append(stamp)
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
            update_fields.append(name)
        locked.save(update_fields=update_fields)
    event = _order_event_write(
        order=locked,
        type=event_type,
        from_status=from_status,
        to_status=to,
        outcome=outcome,
        actor=actor,
        occurred_at=occurred_at,
        details=details,
    )
    if outcome == Outcome.APPLIED:
        if on_applied is not None:
            on_applied(locked, event)
        order_listeners.notify(locked, event)
    return locked, event


@transaction.atomic
def order_mark_paid(
    *,
    order: Order,
    actor: Actor,
    occurred_at: dt.datetime | None = None,
    if_not_allowed: IfNotAllowed = IfNotAllowed.REFUSE,
) -> Order:
    """Record that the order was paid. Never moves a shipped, delivered or refunded order back."""
    order, _event = _order_transition(
        order,
        to=Status.PAID,
        event_type=EventType.PAID,
        actor=actor,
        occurred_at=occurred_at,
        if_not_allowed=if_not_allowed,
    )
    return order


@transaction.atomic
def order_mark_shipped(
    *,
    order: Order,
    actor: Actor,
    occurred_at: dt.datetime | None = None,
    carrier: str = "",
    tracking_number: str = "",
    tracking_url: str = "",
    partial: bool = False,
    shipment_external_id: str | None = None,
    line_external_ids: Iterable[str] = (),
    if_not_allowed: IfNotAllowed = IfNotAllowed.REFUSE,
) -> Order:
    """Record a parcel leaving: a Shipment row plus the move to (partially) shipped.

    The shipment is kept only when the move is applied; an ignored repeat adds no parcel.
    """
    occurred_at = occurred_at or timezone.now()
    details = {"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url}

    def shipment_create(order: Order, event: OrderEvent) -> None:
        shipment = Shipment(
            order=order,
            external_id=shipment_external_id,
            carrier=carrier,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            status=Shipment.Status.IN_TRANSIT,
            shipped_at=occurred_at,
            last_carrier_event_at=occurred_at,
            line_external_ids=list(line_external_ids),
        )
        row_validate(shipment)
        shipment.save()
        event.details = {**details, "shipment_id": shipment.pk}
        event.save(update_fields=["details"])

    order, _event = _order_transition(
        order,
        to=Status.PARTIALLY_SHIPPED if partial else Status.SHIPPED,
        event_type=EventType.PARTIALLY_SHIPPED if partial else EventType.SHIPPED,
        actor=actor,
        occurred_at=occurred_at,
        if_not_allowed=if_not_allowed,
        details=details,
        on_applied=shipment_create,
    )
    return order


@transaction.atomic
def order_mark_delivered(
    *,
    order: Order,
    actor: Actor,
    occurred_at: dt.datetime | None = None,
    if_not_allowed: IfNotAllowed = IfNotAllowed.REFUSE,
) -> Order:
    """Record delivery of the whole order; open shipments are marked delivered with it."""
    occurred_at = occurred_at or timezone.now()
    order, event = _order_transition(
        order,
        to=Status.DELIVERED,
        event_type=EventType.DELIVERED,
        actor=actor,
        occurred_at=occurred_at,
        if_not_allowed=if_not_allowed,
    )
    if event.outcome == Outcome.APPLIED:
        order.shipments.exclude(status=Shipment.Status.DELIVERED).update(
            status=Shipment.Status.DELIVERED,
            delivered_at=occurred_at,
            last_carrier_event_at=occurred_at,
            updated_at=timezone.now(),
        )
    return order


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    actor: Actor,
    reason: str = "",
    occurred_at: dt.datetime | None = None,
    if_not_allowed: IfNotAllowed = IfNotAllowed.REFUSE,
) -> Order:
    """Cancel an order that has not shipped. A shipped order is refunded instead, not cancelled."""
    order, _event = _order_transition(
        order,
        to=Status.CANCELLED,
        event_type=EventType.CANCELLED,
        actor=actor,
        occurred_at=occurred_at,
        if_not_allowed=if_not_allowed,
        details={"reason": reason} if reason else None,
        # A cancelled order no longer counts as the customer's next one.
        on_applied=lambda cancelled, _event: orders_next_order_refresh(customer_ids=[cancelled.customer_id]),
    )
    return order


@transaction.atomic
def order_refund_record(
    *,
    order: Order,
    actor: Actor,
    amount: Decimal | None = None,
    occurred_at: dt.datetime | None = None,
    if_not_allowed: IfNotAllowed = IfNotAllowed.REFUSE,
    reference: str = "",
) -> Order:
    """Record money returned to the customer; `None` means the rest of what was paid.

    The order becomes refunded when the refunded total reaches the order total, otherwise
    partially refunded. Refunding more than is left is refused and changes nothing.
    """
    occurred_at = occurred_at or timezone.now()
    locked = _order_lock(order)
    remaining = locked.total - locked.refunded_total
    amount = remaining if amount is None else Decimal(amount)
    new_total = locked.refunded_total + amount
    full = new_total >= locked.total
    to = Status.REFUNDED if full else Status.PARTIALLY_REFUNDED
    # The amount is checked only for a refund the order can take; otherwise the transition below
    # refuses or records it with the reason that matters (already refunded, not paid, ...).
    if _transition_outcome(locked, to, occurred_at) == Outcome.APPLIED:
        if amount <= 0:
            raise ValidationError({"amount": "The refund amount must be greater than zero."})
        if amount > remaining:
            raise ValidationError(
                {
                    "amount": f"Only {remaining} {locked.currency} of order {locked.number} is left to refund, "
                    f"not {amount}."
                }
            )
    locked, _event = _order_transition(
        locked,
        to=to,
        event_type=EventType.REFUNDED if full else EventType.PARTIALLY_REFUNDED,
        actor=actor,
        occurred_at=occurred_at,
        if_not_allowed=if_not_allowed,
        details={
            "amount": str(amount),
            "refunded_total": str(new_total),
            "currency": locked.currency,
            **({"refund_reference": reference} if reference else {}),
        },
        changes={"refunded_total": new_total},
    )
    return locked


@transaction.atomic
def shipment_record_carrier_update(
    *,
    shipment: Shipment,
    status: str,
    actor: Actor,
    occurred_at: dt.datetime | None = None,
) -> Shipment:
    """Apply what the carrier says about a parcel. Older or backward updates are recorded, not applied.

    When the last open parcel is delivered, the order is marked delivered.
    """
    occurred_at = occurred_at or timezone.now()
    order = _order_lock(shipment.order)
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if status not in Shipment.Status.values:
        raise ValidationError({"status": f"Unknown shipment status “{status}”."})
    is_newer = shipment.last_carrier_event_at is None or occurred_at >= shipment.last_carrier_event_at
    applied = is_newer and status in Shipment.TRANSITIONS[shipment.status]
    if applied:
        shipment.status = status
        shipment.last_carrier_event_at = occurred_at
        update_fields = ["status", "last_carrier_event_at", "updated_at"]
        if status == Shipment.Status.DELIVERED:
            shipment.delivered_at = occurred_at
            update_fields.append("delivered_at")
        shipment.save(update_fields=update_fields)
    event_type = {
        Shipment.Status.OUT_FOR_DELIVERY: EventType.OUT_FOR_DELIVERY,
        Shipment.Status.DELIVERED: EventType.DELIVERED,
        Shipment.Status.FAILURE: EventType.DELIVERY_FAILED,
    }.get(status, EventType.NOTE)
    all_delivered = not order.shipments.exclude(status=Shipment.Status.DELIVERED).exists()
    if applied and status == Shipment.Status.DELIVERED and all_delivered and order.status == Status.SHIPPED:
        order_mark_delivered(order=order, actor=actor, occurred_at=occurred_at, if_not_allowed=IfNotAllowed.RECORD)
        return shipment
    event = _order_event_write(
        order=order,
        type=event_type,
        from_status=order.status,
        to_status=order.status,
        outcome=Outcome.APPLIED if applied else Outcome.STALE if not is_newer else Outcome.NOT_ALLOWED,
        actor=actor,
        occurred_at=occurred_at,
        details={"shipment_id": shipment.pk, "shipment_status": status, "tracking_number": shipment.tracking_number},
    )
    if applied:
        order_listeners.notify(order, event)
    return shipment


@transaction.atomic
def order_note_add(*, order: Order, actor: Actor, text: str) -> OrderEvent:
    """Add a staff note to the timeline."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "A note cannot be empty."})
    return _order_note_write(order=order, actor=actor, occurred_at=timezone.now(), details={"text": text})
