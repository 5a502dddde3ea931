"""Reads of refunds: what is left to refund on an order and on each of its lines, an order's refunds.

What is left counts every refund that is promised or gone (`Refund.COMMITTED`): money already recorded on
the order (`order.refunded_total`, which also holds refunds the platform or the API recorded) plus refunds
still on their way (proposed, waiting for approval, approved, processing). Quantities count the lines of
committed refunds.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from merchant.models import Merchant, Order, OrderLine
from returns.models import Dispute, Refund, RefundLine

ZERO = Decimal("0.00")
# How a refund made here is named on the order's timeline (`refund_reference` of its event).
ORDER_REFERENCE_PREFIX = "returns-refund:"
# A chargeback in these states took the money back from the shop to the customer.
CHARGED_BACK = frozenset({Dispute.Status.LOST, Dispute.Status.ACCEPTED})
# Promised but not yet recorded on the order's refunded total.
IN_FLIGHT = frozenset(
    {
        Refund.Status.PROPOSED,
        Refund.Status.PENDING_APPROVAL,
        Refund.Status.APPROVED,
        Refund.Status.PROCESSING,
    }
)


@dataclass(frozen=True)
class LineRefundable:
    order_line: OrderLine
    bought: int
    refunded_quantity: int
    refunded_amount: Decimal

    @property
    def quantity_left(self) -> int:
        return max(self.bought - self.refunded_quantity, 0)

    @property
    def amount_left(self) -> Decimal:
        return max(self.order_line.total - self.refunded_amount, ZERO)


@dataclass(frozen=True)
class Refundable:
    order: Order
    paid: Decimal
    recorded: Decimal  # on the order's refunded total
    in_flight: Decimal  # committed refunds not yet recorded
    lines: list[LineRefundable]
    # Taken back by the customer's bank through chargebacks the shop lost or accepted: already paid back.
    charged_back: Decimal = ZERO

    @property
    def amount_left(self) -> Decimal:
        return max(self.paid - self.recorded - self.in_flight - self.charged_back, ZERO)

    @property
    def currency(self) -> str:
        return self.order.currency

    def line(self, order_line_id: int) -> LineRefundable | None:
        return next((line for line in self.lines if line.order_line.pk == order_line_id), None)


def refundable_get(*, order: Order) -> Refundable:
    """What can still be refunded on `order` (read it under the order's lock to act on it): what was paid, less
    refunds made or promised and chargebacks lost or accepted. Four queries."""
    in_flight = order.refunds.filter(status__in=IN_FLIGHT).aggregate(total=Sum("amount"))["total"] or ZERO
    counted = {
        row["order_line"]: row
        for row in RefundLine.objects.filter(refund__order=order, refund__status__in=Refund.COMMITTED)
        .values("order_line")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
        .order_by()
    }
    lines = [
        LineRefundable(
            order_line=line,
            bought=line.quantity,
            refunded_quantity=counted.get(line.pk, {}).get("quantity") or 0,
            refunded_amount=counted.get(line.pk, {}).get("amount") or ZERO,
        )
        for line in order.lines.order_by("id")
    ]
    charged_back = (
        Dispute.objects.filter(order=order, kind="chargeback", status__in=CHARGED_BACK).aggregate(total=Sum("amount"))[
            "total"
        ]
        or ZERO
    )
    return Refundable(
        order=order,
        paid=order.total,
        recorded=order.refunded_total,
        in_flight=in_flight,
        lines=lines,
        charged_back=charged_back,
    )


def refund_list(*, order: Order) -> QuerySet[Refund]:
    """The refunds of an order, newest first, with their lines."""
    return order.refunds.prefetch_related("lines__order_line").order_by("-created_at", "-id")


def refund_get(*, shop: Merchant, refund_id: int) -> Refund | None:
    """One refund of `shop` (None for another shop's id)."""
    return (
        Refund.objects.filter(shop=shop, pk=refund_id)
        .select_related("order", "return_request")
        .prefetch_related("lines__order_line")
        .first()
    )


def refund_of_order_event(*, order_id: int, reference: str) -> Refund | None:
    """The refund an order timeline event recorded (its `refund_reference`), made here or on the platform."""
    if not reference:
        return None
    if reference.startswith(ORDER_REFERENCE_PREFIX):
        refund_id = reference.removeprefix(ORDER_REFERENCE_PREFIX)
        return Refund.objects.filter(order_id=order_id, pk=refund_id).first() if refund_id.isdigit() else None
    return Refund.objects.filter(order_id=order_id, platform_refund_id=reference).first()
