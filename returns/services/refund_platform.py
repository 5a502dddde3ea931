"""Refunds the shop's platform tells us about (Shopify), reconciled with the refunds made here.

The decision, so that no money counts twice on an order:

1. The Refund rows are the book of every money movement back to the customer. A refund recorded on
   the order by anything but this app (a Shopify or WooCommerce webhook, an API `refunded` event, the
   order admin's "record refund") is mirrored as a succeeded Refund whose gateway names where it came
   from (`refund_mirror_from_order_event`, an order listener). Its key is `<source>:<platform id>` and
   `platform_refund_id` holds the platform's id, unique per order.
2. A Shopify refund (`refunds/create`, or the `refunds` list of an `orders/*` webhook) is first offered
   to the refunds made here (`refund_platform_claim`): the oldest refund of the same order and amount
   not yet tied to a platform refund takes its id. The shop made it here and then in Shopify (the money
   moves there until a provider gateway exists), so it is the same money: the order is NOT told again.
   A claimed refund that had not succeeded yet (approved, waiting for the reference) succeeds now, with
   the Shopify id as its reference: Shopify says the money went back.
3. Only an unclaimed Shopify refund reaches merchant's handler, which records it on the order once (by
   its id) and so is mirrored by (1).
Either way an order's refunded total holds each Shopify refund once, and what is left to refund here
(`refundable_get`) counts it. Matching by amount can pair the wrong one of two equal refunds of one
order; both are the same money either way.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import InboundEvent, Order, OrderEvent
from merchant.platforms import shopify
from merchant.services import inbound
from returns.gateways import PLATFORM_GATEWAYS
from returns.models import Refund, RefundLine, RefundMethod
from returns.selectors.refunds import ORDER_REFERENCE_PREFIX
from returns.services.refunds import _order_lock, _refund_lock, _refund_succeed
from returns.transitions import audit_record, status_move

S = Refund.Status
# Own refunds a platform refund can be: any the shop has committed to and not yet tied to a platform id.
CLAIMABLE = (S.PROPOSED, S.PENDING_APPROVAL, S.APPROVED, S.PROCESSING, S.SUCCEEDED)
SHOPIFY_ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited",
)


def _actor_of(event: OrderEvent) -> Actor:
    return Actor(kind=event.actor_kind, user=event.actor_user, label=event.actor_label)


def refund_mirror_from_order_event(order: Order, event: OrderEvent) -> None:
    """Order listener (in the order's transaction): a refund recorded on the order by someone else becomes a
    succeeded Refund row, so the refunds of an order list it and its lines can be counted."""
    if event.type not in (OrderEvent.Type.PARTIALLY_REFUNDED, OrderEvent.Type.REFUNDED):
        return
    if event.outcome != OrderEvent.Outcome.APPLIED or not event.details.get("amount"):
        return
    reference = str(event.details.get("refund_reference") or "")
    if reference.startswith(ORDER_REFERENCE_PREFIX):
        return  # one of ours, recorded by refund_process
    gateway = event.source if event.source in PLATFORM_GATEWAYS else "recorded"
    key = f"{gateway}:{reference}"[:100] if reference else f"order-event:{event.pk}"
    if Refund.objects.filter(shop_id=order.shop_id, idempotency_key=key).exists():
        return
    if reference and Refund.objects.filter(order=order, platform_refund_id=reference[:100]).exists():
        return
    amount = Decimal(event.details["amount"])
    if amount <= 0:
        return
    refund = Refund.objects.create(
        shop_id=order.shop_id,
        order=order,
        status=S.SUCCEEDED,
        amount=amount,
        currency=order.currency,
        method=RefundMethod.ORIGINAL_PAYMENT,
        reason=_("Recorded on the order by %(who)s") % {"who": event.actor_label or event.actor_kind},
        idempotency_key=key,
        gateway=gateway,
        reference=reference[:200],
        platform_refund_id=reference[:100],
        created_at=event.occurred_at,
        status_changed_at=event.occurred_at,
        succeeded_at=event.occurred_at,
    )
    audit_record(
        refund,
        action="recorded",
        actor=_actor_of(event),
        to_status=S.SUCCEEDED,
        details={"order_event": event.pk},
        at=event.occurred_at,
    )


@transaction.atomic
def refund_platform_claim(
    *,
    order: Order,
    platform: str,
    external_id: str,
    amount: Decimal,
    actor: Actor,
    at: dt.datetime | None = None,
) -> Refund | None:
    """The Refund that IS the platform's refund `external_id`, tying it to the oldest matching refund made here.

    Returns the refund already tied to that id (made here or mirrored), or the one it was just tied to
    (succeeded now if it had not yet), or None when no refund of this order is that money (the caller then
    records it on the order, once).
    """
    now = timezone.now()
    order = _order_lock(order)
    known = Refund.objects.filter(order=order, platform_refund_id=external_id).first()
    if known is not None:
        return known
    candidate = (
        Refund.objects.filter(order=order, platform_refund_id="", status__in=CLAIMABLE, amount=amount)
        .exclude(gateway__in=PLATFORM_GATEWAYS)
        .order_by("created_at", "id")
        .first()
    )
    if candidate is None:
        return None
    refund = _refund_lock(candidate)
    Refund.objects.filter(pk=refund.pk).update(platform_refund_id=external_id, updated_at=now)
    refund.platform_refund_id = external_id
    audit_record(
        refund,
        action="reconciled",
        actor=actor,
        note=_("The same money as %(platform)s refund %(id)s; not counted again on the order.")
        % {"platform": platform.capitalize(), "id": external_id},
        details={"platform": platform, "platform_refund_id": external_id, "at": at.isoformat() if at else ""},
    )
    if refund.status != S.SUCCEEDED:
        note = _("Made in %(platform)s (refund %(id)s).") % {"platform": platform.capitalize(), "id": external_id}
        for step in (S.APPROVED, S.PROCESSING):
            if refund.status != step and step in refund.TRANSITIONS[refund.status]:
                status_move(refund, to=step, actor=actor, note=note, now=now)
        _refund_succeed(refund, order=order, reference=refund.reference or external_id, actor=actor, now=now)
    return refund


def refund_platform_lines_add(*, refund: Refund, lines: list[tuple[str, int, Decimal]]) -> None:
    """Give a mirrored platform refund its lines (order line external id, quantity, amount), once."""
    if refund.lines.exists():
        return
    by_external_id = {line.external_id: line for line in refund.order.lines.exclude(external_id=None)}
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=by_external_id[external_id], quantity=quantity, amount=max(amount, 0))
        for external_id, quantity, amount in lines
        if external_id in by_external_id and quantity > 0
    )


def _shopify_refund_lines(body: dict) -> list[tuple[str, int, Decimal]]:
    lines = []
    for item in body.get("refund_line_items") or []:
        if not isinstance(item, dict) or item.get("line_item_id") is None:
            continue
        quantity = item.get("quantity")
        price = (item.get("line_item") or {}).get("price")
        try:
            amount = Decimal(str(item.get("subtotal") or price or 0)) * (1 if item.get("subtotal") else quantity)
        except (ArithmeticError, TypeError, ValueError):
            amount = Decimal("0")
        if isinstance(quantity, int) and not isinstance(quantity, bool):
            lines.append((str(item["line_item_id"]), quantity, amount.quantize(Decimal("0.01"))))
    return lines


# --- Shopify webhooks: claimed refunds never reach merchant's handlers ----------------------------------

_originals: dict[tuple[str, str], inbound.Handler] = {}


def _actor(event: InboundEvent) -> Actor:
    return Actor.webhook(f"{event.source} {event.topic}")


def shopify_refund_handle(event: InboundEvent, body: Any) -> inbound.Outcome:
    """refunds/create: a refund made here is reconciled; any other is recorded by merchant, then given its lines."""
    order_external_id, snapshot = shopify.refund_snapshot(body)
    order = Order.objects.filter(shop=event.shop, external_id=order_external_id).first()
    if order is not None and snapshot.external_id and snapshot.amount > 0:
        claimed = refund_platform_claim(
            order=order,
            platform="shopify",
            external_id=snapshot.external_id,
            amount=snapshot.amount,
            actor=_actor(event),
            at=snapshot.refunded_at,
        )
        if claimed is not None and claimed.gateway not in PLATFORM_GATEWAYS:
            order.refresh_from_db()
            return inbound.Outcome(
                order=order,
                result={"status": order.status, "refund": str(snapshot.amount), "new": False, "refund_id": claimed.pk},
            )
    outcome = _originals[("shopify", "refunds/create")](event, body)
    if outcome.order is not None and snapshot.external_id:
        mirrored = Refund.objects.filter(order=outcome.order, platform_refund_id=snapshot.external_id).first()
        if mirrored is not None and mirrored.gateway in PLATFORM_GATEWAYS:
            refund_platform_lines_add(refund=mirrored, lines=_shopify_refund_lines(body))
            outcome.result["refund_id"] = mirrored.pk
    return outcome


def shopify_order_handle(event: InboundEvent, body: Any) -> inbound.Outcome:
    """orders/*: the order's listed refunds that are refunds made here are taken out before merchant records them."""
    refunds = body.get("refunds") if isinstance(body, dict) else None
    if isinstance(refunds, list) and refunds and event.shop_id:
        order = Order.objects.filter(shop=event.shop, external_id=str(body.get("id"))).first()
        if order is not None:
            claimed = set()
            for refund in shopify.order_snapshot(body).refunds:
                if refund.external_id and refund.amount > 0:
                    found = refund_platform_claim(
                        order=order,
                        platform="shopify",
                        external_id=refund.external_id,
                        amount=refund.amount,
                        actor=_actor(event),
                        at=refund.refunded_at,
                    )
                    if found is not None and found.gateway not in PLATFORM_GATEWAYS:
                        claimed.add(refund.external_id)
            if claimed:
                body = {**body, "refunds": [item for item in refunds if str(item.get("id")) not in claimed]}
    return _originals[(event.source, event.topic)](event, body)


def _wrap(source: str, topic: str, handler: inbound.Handler) -> None:
    current = inbound.HANDLERS.get((source, topic))
    if current is None:
        return
    if not getattr(current, "returns_reconciles", False):
        _originals[(source, topic)] = current
    if (source, topic) in _originals:
        inbound.handles(source, topic, parse=inbound.PARSERS.get((source, topic), inbound.json_body))(handler)


shopify_refund_handle.returns_reconciles = True
shopify_order_handle.returns_reconciles = True


def refund_platform_wire() -> None:
    """Put the reconciling handlers in front of merchant's Shopify order and refund handlers (idempotent)."""
    _wrap("shopify", "refunds/create", shopify_refund_handle)
    for topic in SHOPIFY_ORDER_TOPICS:
        _wrap("shopify", topic, shopify_order_handle)
