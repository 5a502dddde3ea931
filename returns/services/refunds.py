"""Refunds: the only write path for money going back to a customer.

One Refund row is one attempt at moving money. What this module guarantees:

- Every invariant is checked in ONE transaction holding the order's row lock (the order before its
  refunds, always): per line, refunded quantity ≤ bought (committed refunds counted); in total, the
  refund ≤ what was paid minus what is recorded or on its way; no refund while a chargeback or
  inquiry is open on the order; the method is one the shop's return policy offers.
- The same idempotency key is the same refund: asked again (a double click, a retried API call, two
  requests at the same moment), the first refund is returned and nothing new is created.
- Money moves once: `refund_process` claims the row by moving it approved → processing under the
  lock, calls the gateway outside any transaction, then records the outcome in a new short one. A
  second caller finds the row claimed and pays nothing. A failed refund is never retried on its row:
  a retry is a new Refund with a new key.
- On success the order's refunded total follows (`order_refund_record`, named `returns-refund:<id>` on
  the timeline), which moves the order to (partially) refunded and plans `refund_processed`.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.exceptions import ApplicationError
from merchant.models import Membership, Order, OrderLine
from merchant.services.orders import IfNotAllowed, order_note_add, order_refund_record
from returns.gateways import GatewayResult, gateway_for_method, gateway_get, gateway_idempotency_key
from returns.models import Dispute, Refund, RefundLine, RefundMethod, ReturnPolicy
from returns.models.cases import CaseItem
from returns.selectors.refunds import ORDER_REFERENCE_PREFIX, refundable_get
from returns.services.cases import case_item_attach
from returns.transitions import audit_record, status_move

logger = logging.getLogger(__name__)
S = Refund.Status
CENT = Decimal("0.01")
KEY_MAX_LENGTH = Refund._meta.get_field("idempotency_key").max_length
# What the customer is told about when to expect the money (Refund.expected_by).
EXPECTED_DAYS = {RefundMethod.ORIGINAL_PAYMENT: 14, RefundMethod.MANUAL: 14, RefundMethod.STORE_CREDIT: 0}


@dataclass(frozen=True)
class RefundLineInput:
    order_line: OrderLine
    quantity: int
    # None: the line's unit price times the quantity, at most what is left of the line.
    amount: Decimal | None = None


def _order_lock(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("shop", "customer").get(pk=order.pk)


def _refund_lock(refund: Refund) -> Refund:
    return Refund.objects.select_for_update(of=("self",)).select_related("shop", "order").get(pk=refund.pk)


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter an amount such as 12.50.")}) from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValidationError({field: _("Enter an amount with at most two decimals.")})
    return amount


def _open_dispute_refuse(order: Order) -> None:
    dispute = Dispute.objects.filter(order=order, status__in=Dispute.OPEN).first()
    if dispute is not None:
        raise ValidationError(
            {
                "__all__": _(
                    "Order %(order)s has an open payment dispute (%(dispute)s): a refund now could pay the customer "
                    "twice. Refund once the dispute is decided (a lost chargeback has already paid the customer back)."
                )
                % {"order": order.number, "dispute": dispute}
            }
        )


def _allowed_methods(order: Order) -> list[str]:
    policy = ReturnPolicy.objects.filter(shop_id=order.shop_id).first()
    return list(policy.refund_methods) if policy else [RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT]


def _approval_threshold(order: Order) -> Decimal | None:
    return (
        ReturnPolicy.objects.filter(shop_id=order.shop_id).values_list("refund_approval_threshold", flat=True).first()
    )


def _lines_check(order: Order, lines: list[RefundLineInput], refundable) -> list[tuple[OrderLine, int, Decimal]]:
    checked, seen = [], set()
    for index, line in enumerate(lines):
        field = f"lines[{index}]"
        if line.order_line.order_id != order.pk:
            raise ValidationError({f"{field}.order_line": _("This line is not a line of order %s.") % order.number})
        if line.order_line.pk in seen:
            raise ValidationError({f"{field}.order_line": _("This line is listed twice.")})
        seen.add(line.order_line.pk)
        left = refundable.line(line.order_line.pk)
        if not isinstance(line.quantity, int) or line.quantity < 1:
            raise ValidationError({f"{field}.quantity": _("Refund at least one item of a line.")})
        if line.quantity > left.quantity_left:
            raise ValidationError(
                {
                    f"{field}.quantity": _(
                        "Only %(left)d of “%(title)s” can still be refunded (%(bought)d bought, %(done)d refunded "
                        "or on the way), not %(asked)d."
                    )
                    % {
                        "left": left.quantity_left,
                        "title": line.order_line.title,
                        "bought": left.bought,
                        "done": left.refunded_quantity,
                        "asked": line.quantity,
                    }
                }
            )
        if line.amount is None:
            amount = min(line.order_line.unit_price * line.quantity, left.amount_left)
        else:
            amount = _money(line.amount, f"{field}.amount")
            if amount < 0:
                raise ValidationError({f"{field}.amount": _("A line's amount cannot be negative.")})
            if amount > left.amount_left:
                raise ValidationError(
                    {
                        f"{field}.amount": _(
                            "Only %(left)s %(currency)s of “%(title)s” is left to refund, not %(asked)s."
                        )
                        % {
                            "left": left.amount_left,
                            "currency": order.currency,
                            "title": line.order_line.title,
                            "asked": amount,
                        }
                    }
                )
        checked.append((line.order_line, line.quantity, amount))
    return checked


@transaction.atomic
def refund_create(
    *,
    order: Order,
    amount: Decimal | str | None,
    lines: list[RefundLineInput] | None = None,
    method: str = RefundMethod.ORIGINAL_PAYMENT,
    reason: str = "",
    idempotency_key: str,
    actor: Actor,
    return_request=None,
    now: dt.datetime | None = None,
) -> Refund:
    """Propose a refund of `order` and approve it, or leave it waiting for an owner above the shop's threshold.

    `amount` None means the sum of the lines. Checks every invariant under the order's lock; a refused
    refund raises ValidationError naming the field and changes nothing. The same `idempotency_key` of the
    same shop returns the refund it made first, whatever else is asked.
    """
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if not key:
        raise ValidationError({"idempotency_key": _("Every refund needs an idempotency key.")})
    if len(key) > KEY_MAX_LENGTH:
        raise ValidationError({"idempotency_key": _("At most %d characters.") % KEY_MAX_LENGTH})
    order = _order_lock(order)
    existing = Refund.objects.filter(shop_id=order.shop_id, idempotency_key=key).first()
    if existing is not None:
        if existing.order_id != order.pk:
            raise ValidationError({"idempotency_key": _("This key was used for a refund of another order.")})
        return existing
    if method not in RefundMethod.values:
        raise ValidationError({"method": _("Unknown refund method “%s”.") % method})
    allowed = _allowed_methods(order)
    if method not in allowed:
        raise ValidationError(
            {
                "method": _("The return policy does not offer refunds by %(method)s; it offers: %(allowed)s.")
                % {
                    "method": RefundMethod(method).label.lower(),
                    "allowed": ", ".join(str(RefundMethod(m).label).lower() for m in allowed if m in RefundMethod),
                }
            }
        )
    # Never paid: still waiting for payment, or cancelled before it came (a paid order keeps its paid_at).
    if order.paid_at is None and order.status in (Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED):
        raise ValidationError({"__all__": _("Order %s is not paid: there is nothing to refund.") % order.number})
    _open_dispute_refuse(order)
    refundable = refundable_get(order=order)
    checked = _lines_check(order, list(lines or []), refundable)
    if amount is None or amount == "":
        if not checked:
            raise ValidationError({"amount": _("Enter the amount to refund, or choose the items.")})
        amount = sum((line_amount for _line, _quantity, line_amount in checked), Decimal("0.00"))
    amount = _money(amount, "amount")
    if amount <= 0:
        raise ValidationError({"amount": _("The amount to refund must be more than 0.")})
    if amount > refundable.amount_left:
        raise ValidationError(
            {
                "amount": _(
                    "Only %(left)s %(currency)s of order %(order)s is left to refund (%(paid)s paid, %(done)s "
                    "refunded, on the way or charged back), not %(asked)s."
                )
                % {
                    "left": refundable.amount_left,
                    "currency": order.currency,
                    "order": order.number,
                    "paid": refundable.paid,
                    "done": refundable.recorded + refundable.in_flight + refundable.charged_back,
                    "asked": amount,
                }
            }
        )
    gateway = gateway_for_method(method)
    refund = Refund.objects.create(
        shop_id=order.shop_id,
        order=order,
        return_request=return_request,
        amount=amount,
        currency=order.currency,
        method=method,
        reason=(reason or "")[:500],
        idempotency_key=key,
        gateway=gateway.name,
        requested_by=actor.user if actor.is_person else None,
        created_at=now,
        status_changed_at=now,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=order_line, quantity=quantity, amount=line_amount)
        for order_line, quantity, line_amount in checked
    )
    audit_record(
        refund,
        action="proposed",
        actor=actor,
        note=refund.reason,
        details={"amount": str(amount), "method": method, "lines": len(checked)},
        at=now,
    )
    threshold = _approval_threshold(order)
    if threshold is not None and amount > threshold:
        status_move(
            refund,
            to=S.PENDING_APPROVAL,
            actor=actor,
            note=_("Above the approval threshold of %(threshold)s %(currency)s.")
            % {"threshold": threshold, "currency": order.currency},
            now=now,
        )
        _queue(refund, actor, _("Refund of %(amount)s %(currency)s waits for an owner's approval"), now=now)
    else:
        status_move(refund, to=S.APPROVED, actor=actor, note=_("Within the approval threshold."), now=now)
    return refund


def _queue(refund: Refund, actor: Actor, words: str, *, now: dt.datetime) -> None:
    """Put the refund in the support queue (a person must act on it), on the case of its order."""
    case_item_attach(
        shop=refund.shop,
        order=refund.order,
        customer=refund.order.customer,
        kind=CaseItem.Kind.REFUND,
        source=f"returns.refund:{refund.pk}:{refund.status}",
        summary=words % {"amount": refund.amount, "currency": refund.currency},
        actor=actor,
        admin_path=f"/admin/returns/refund/{refund.pk}/change/",
        now=now,
        refund=refund,
    )


def actor_is_owner(actor: Actor, shop_id: int) -> bool:
    user = actor.user if actor.is_person else None
    if user is None:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, shop_id=shop_id, role=Membership.Role.OWNER).exists()


@transaction.atomic
def refund_approve(*, refund: Refund, actor: Actor, now: dt.datetime | None = None) -> Refund:
    """An owner approves a refund waiting for approval. Approving an approved (or later) refund changes nothing.

    Anyone but an owner of the shop is refused (PermissionDenied, nothing changed); so is a refund on
    an order whose payment is disputed now.
    """
    now = now or timezone.now()
    order = _order_lock(refund.order)
    refund = _refund_lock(refund)
    if refund.status in (S.APPROVED, S.PROCESSING, S.SUCCEEDED):
        return refund
    if refund.status == S.PENDING_APPROVAL and not actor_is_owner(actor, refund.shop_id):
        raise PermissionDenied(
            _("Only an owner of %(shop)s can approve a refund above %(threshold)s %(currency)s.")
            % {"shop": refund.shop, "threshold": _approval_threshold(order) or 0, "currency": refund.currency}
        )
    _open_dispute_refuse(order)
    status_move(
        refund,
        to=S.APPROVED,
        actor=actor,
        fields={"approved_by": actor.user if actor.is_person else None},
        now=now,
    )
    return refund


def refund_process(*, refund: Refund, actor: Actor, reference: str = "", now: dt.datetime | None = None) -> Refund:
    """Move the money of an approved refund, once. Returns the refund as it stands afterwards.

    Claims the row (approved → processing) under the order's lock, calls the gateway outside any
    transaction with a key derived from the row, and records succeeded or failed in a new transaction.
    A refund already claimed, succeeded or failed is returned as it is and nothing is paid. A manual
    refund needs `reference` (the transfer's or the provider's reference): ValidationError otherwise.
    """
    claimed = _refund_claim(refund=refund, actor=actor, reference=reference, now=now)
    if claimed is None:
        refund.refresh_from_db()
        return refund
    gateway = gateway_get(claimed.gateway)
    try:
        result = gateway.refund(claimed, gateway_idempotency_key(claimed))
    except Exception as error:
        # We cannot tell whether money moved: the row stays processing for the provider's word (never paid twice).
        logger.exception("refund gateway %s failed for refund %s", claimed.gateway, claimed.pk)
        audit_record(claimed, action="gateway_error", actor=actor, note=f"{type(error).__name__}: {error}"[:500])
        raise ApplicationError(
            _("The refund gateway did not answer clearly; refund stays processing until it is confirmed.")
        ) from error
    return refund_outcome_record(refund=claimed, result=result, actor=actor)


@transaction.atomic
def _refund_claim(*, refund: Refund, actor: Actor, reference: str, now: dt.datetime | None) -> Refund | None:
    now = now or timezone.now()
    order = _order_lock(refund.order)
    refund = _refund_lock(refund)
    if refund.status in (S.PROCESSING, S.SUCCEEDED, S.FAILED):
        return None  # someone else claimed it (a double click, a second worker): nothing is paid again
    if refund.status != S.APPROVED:
        status_move(refund, to=S.PROCESSING, actor=actor)  # refused with the status it has
    _open_dispute_refuse(order)
    reference = (reference or "").strip()[:200]
    if gateway_get(refund.gateway).needs_reference and not (reference or refund.reference):
        raise ValidationError(
            {
                "reference": _(
                    "Enter the reference of the money you sent (bank transfer or payment provider's refund id)."
                )
            }
        )
    status_move(refund, to=S.PROCESSING, actor=actor, fields={"reference": reference or refund.reference}, now=now)
    return refund


@transaction.atomic
def refund_outcome_record(
    *, refund: Refund, result: GatewayResult, actor: Actor, now: dt.datetime | None = None
) -> Refund:
    """Record what the gateway said about a processing refund. Anything but processing is left as it is."""
    now = now or timezone.now()
    order = _order_lock(refund.order)
    refund = _refund_lock(refund)
    if refund.status != S.PROCESSING:
        return refund  # the provider's webhook (or the platform) recorded it first
    if result.succeeded:
        _refund_succeed(refund, order=order, reference=result.reference, actor=actor, now=now)
    else:
        status_move(
            refund,
            to=S.FAILED,
            actor=actor,
            note=result.error,
            fields={"failure_reason": (result.error or _("The gateway refused the refund."))[:500]},
            now=now,
        )
        _queue(refund, actor, _("Refund of %(amount)s %(currency)s failed: make a new one"), now=now)
    return refund


def _refund_succeed(refund: Refund, *, order: Order, reference: str, actor: Actor, now: dt.datetime) -> None:
    """Record the money as gone: the refund succeeded, the order's refunded total, the return request resolved.

    The caller holds the order's and the refund's locks. The money has moved, so nothing here may refuse:
    should the order show less left than this refund (it was recorded by another path meanwhile), the
    order records what it can and the refund's audit row says so.
    """
    expected_by = (now + dt.timedelta(days=EXPECTED_DAYS.get(refund.method, 14))).date()
    status_move(
        refund,
        to=S.SUCCEEDED,
        actor=actor,
        fields={"reference": (reference or refund.reference)[:200], "expected_by": expected_by},
        now=now,
    )
    left = order.total - order.refunded_total
    recorded = min(refund.amount, left)
    if recorded > 0:
        order_refund_record(
            order=order,
            actor=actor,
            amount=recorded,
            occurred_at=max(now, order.status_changed_at) if order.status_changed_at else now,
            if_not_allowed=IfNotAllowed.RECORD,
            reference=f"{ORDER_REFERENCE_PREFIX}{refund.pk}",
        )
    if recorded != refund.amount:
        audit_record(
            refund,
            action="order_short",
            actor=actor,
            note=_("The order had only %(left)s left to refund; %(recorded)s was recorded on it.")
            % {"left": left, "recorded": recorded},
        )
    if refund.return_request_id:
        from returns.services.refund_outcomes import return_request_resolve_after_refund

        return_request_resolve_after_refund(refund=refund, actor=actor, now=now)


@transaction.atomic
def refund_cancel(*, refund: Refund, actor: Actor, reason: str = "", now: dt.datetime | None = None) -> Refund:
    """Withdraw a refund before money moved (proposed, waiting for approval, approved). Cancelled stays cancelled."""
    _order_lock(refund.order)
    refund = _refund_lock(refund)
    if refund.status == S.CANCELLED:
        return refund
    status_move(refund, to=S.CANCELLED, actor=actor, note=(reason or "")[:500], now=now)
    return refund


@transaction.atomic
def refund_reverse(*, refund: Refund, actor: Actor, reason: str, now: dt.datetime | None = None) -> Refund:
    """Record that a succeeded refund came back (a card refund that bounced, a returned transfer).

    The order keeps its refunded total (money out is all the order records); its timeline gets a note,
    and the support queue an item, so a person can pay the customer another way with a new refund.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the refund came back (e.g. the card was closed).")})
    order = _order_lock(refund.order)
    refund = _refund_lock(refund)
    status_move(refund, to=S.REVERSED, actor=actor, note=reason[:500], now=now)
    order_note_add(
        order=order,
        actor=actor,
        text=_("Refund of %(amount)s %(currency)s came back: %(reason)s")
        % {"amount": refund.amount, "currency": refund.currency, "reason": reason},
    )
    _queue(
        refund,
        actor,
        _("Refund of %(amount)s %(currency)s came back: pay the customer another way"),
        now=now or timezone.now(),
    )
    return refund
