"""Refunds: one row per attempt at moving money back to a customer, with the guards against paying twice."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import MONEY, BaseModel, Merchant, Order, OrderLine
from returns.models.audit import AuditEvent
from returns.models.policy import RefundMethod
from returns.models.requests import ReturnRequest


class Refund(BaseModel):
    """Money going back, kept apart from the return that asked for it. `status` moves only along `TRANSITIONS`.

    A failed attempt is never retried on the same row: a retry is a new Refund with a new key.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        PENDING_APPROVAL = "pending_approval", _("Waiting for an owner's approval")
        APPROVED = "approved", _("Approved")
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REVERSED = "reversed", _("Reversed")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.PROPOSED: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.CANCELLED}),
        S.PENDING_APPROVAL: frozenset({S.APPROVED, S.CANCELLED}),
        S.APPROVED: frozenset({S.PROCESSING, S.CANCELLED}),
        S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED}),
        S.SUCCEEDED: frozenset({S.REVERSED}),
        S.FAILED: frozenset(),
        S.CANCELLED: frozenset(),
        S.REVERSED: frozenset(),
    }
    # Money promised or gone: counts against what is left to refund on the order and on each line.
    COMMITTED: frozenset[str] = frozenset({S.PROPOSED, S.PENDING_APPROVAL, S.APPROVED, S.PROCESSING, S.SUCCEEDED})
    STATUS_TIMESTAMP: dict[str, str] = {
        S.APPROVED: "approved_at",
        S.PROCESSING: "processing_at",
        S.SUCCEEDED: "succeeded_at",
        S.FAILED: "closed_at",
        S.CANCELLED: "closed_at",
        S.REVERSED: "reversed_at",
    }
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="refunds")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="refunds"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT)
    reason = models.CharField(max_length=500, blank=True)
    # One key per attempt: the same key asked twice (a double click, a retried request) is the same refund.
    idempotency_key = models.CharField(max_length=100)
    # The gateway that moves the money (returns.gateways): "manual", "store_credit", or "shopify" for a refund the
    # shop made in Shopify that reached us by webhook (recorded, never paid from here).
    gateway = models.CharField(max_length=30, default="manual")
    reference = models.CharField(
        max_length=200, blank=True, help_text=_("The payment provider's refund id, ARN or bank reference.")
    )
    # The platform's own id of this money movement (a Shopify refund id) once the platform told us of it:
    # the one Shopify refund that is this refund, so it is never counted a second time.
    platform_refund_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    expected_by = models.DateField(
        null=True, blank=True, help_text=_("When the customer can expect the money, as told to them.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    processing_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["shop", "idempotency_key"], name="returns_refund_unique_idempotency_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="returns_refund_amount_positive"),
            models.UniqueConstraint(
                fields=["order", "platform_refund_id"],
                condition=~Q(platform_refund_id=""),
                name="returns_refund_unique_platform_refund_id",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "proposed",
                        "pending_approval",
                        "approved",
                        "processing",
                        "succeeded",
                        "failed",
                        "cancelled",
                        "reversed",
                    ]
                ),
                name="returns_refund_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "status"], name="returns_refund_order_idx"),
            models.Index(fields=["shop", "status", "created_at"], name="returns_refund_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.get_status_display()})"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class RefundLine(models.Model):
    """How many of one order line a refund pays back, and how much for them."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["refund", "id"]
        constraints = [
            models.UniqueConstraint(fields=["refund", "order_line"], name="returns_refundline_unique_line"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="returns_refundline_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="returns_refundline_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.title}"


class RefundEvent(AuditEvent):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["refund", "at"], name="returns_refundevent_refund_idx")]
