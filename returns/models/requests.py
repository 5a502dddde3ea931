"""Return requests: what a customer sends back, why, and each step from the request to the outcome."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import MONEY, BaseModel, Customer, Merchant, Order, OrderLine
from returns.models.audit import AuditEvent
from returns.models.policy import RefundMethod, ReturnReason


class ReturnRequest(BaseModel):
    """One request to send items of one order back. `status` moves only along `TRANSITIONS`."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        NEEDS_REVIEW = "needs_review", _("Needs review")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        IN_TRANSIT = "in_transit", _("On its way back")
        RECEIVED = "received", _("Received")
        INSPECTED = "inspected", _("Inspected")
        RESOLVED = "resolved", _("Resolved")
        CLOSED_NO_OUTCOME = "closed_no_outcome", _("Closed without refund")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class DeclineCode(models.TextChoices):
        """Internal: the customer sees the message written with it, not the code."""

        FINAL_SALE = "final_sale", _("Final sale")
        WINDOW_ENDED = "window_ended", _("Return window ended")
        CONDITION = "condition", _("Condition of the items")
        FRAUD_SUSPECTED = "fraud_suspected", _("Fraud suspected")
        OTHER = "other", _("Other")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.REQUESTED: frozenset({S.APPROVED, S.NEEDS_REVIEW, S.DECLINED, S.CANCELLED}),
        S.NEEDS_REVIEW: frozenset({S.APPROVED, S.DECLINED, S.CANCELLED}),
        # Drop-off or in-store returns skip the journey; keep-the-item returns go straight to resolved.
        S.APPROVED: frozenset({S.IN_TRANSIT, S.RECEIVED, S.RESOLVED, S.CANCELLED, S.EXPIRED}),
        S.IN_TRANSIT: frozenset({S.RECEIVED}),
        S.RECEIVED: frozenset({S.INSPECTED}),
        S.INSPECTED: frozenset({S.RESOLVED, S.CLOSED_NO_OUTCOME}),
        S.RESOLVED: frozenset(),
        S.CLOSED_NO_OUTCOME: frozenset(),
        S.DECLINED: frozenset(),
        S.CANCELLED: frozenset(),
        S.EXPIRED: frozenset(),
    }
    # Still being worked on: holds review requests, shows in the queue, blocks a second request of the same lines.
    OPEN: frozenset[str] = frozenset({S.REQUESTED, S.NEEDS_REVIEW, S.APPROVED, S.IN_TRANSIT, S.RECEIVED, S.INSPECTED})
    STATUS_TIMESTAMP: dict[str, str] = {
        S.APPROVED: "approved_at",
        S.DECLINED: "closed_at",
        S.IN_TRANSIT: "shipped_back_at",
        S.RECEIVED: "received_at",
        S.INSPECTED: "inspected_at",
        S.RESOLVED: "closed_at",
        S.CLOSED_NO_OUTCOME: "closed_at",
        S.CANCELLED: "closed_at",
        S.EXPIRED: "closed_at",
    }
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="return_requests")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="return_requests")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="return_requests"
    )
    number = models.CharField(max_length=40, help_text=_("What the customer and staff call it, e.g. #1001-R1."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    comment = models.TextField(blank=True, max_length=2000)
    refund_method = models.CharField(max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT)
    # The window the request was judged by, kept as it was then (the policy may change later).
    window_ends_at = models.DateTimeField(null=True, blank=True)
    eu_floor_applied = models.BooleanField(default=False)
    review_reasons = models.JSONField(default=list, blank=True, help_text=_("Why a person must look at it."))
    auto_approved = models.BooleanField(default=False)
    decline_code = models.CharField(max_length=20, choices=DeclineCode.choices, blank=True)
    decline_message = models.CharField(max_length=500, blank=True)
    estimated_refund = models.DecimalField(default=0, **MONEY)
    restocking_fee = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3)
    return_carrier = models.CharField(max_length=100, blank=True)
    return_tracking_number = models.CharField(max_length=100, blank=True)
    instructions_expire_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    shipped_back_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    inspected_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("return request")
        verbose_name_plural = _("return requests")
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="returns_returnrequest_unique_number"),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "requested",
                        "needs_review",
                        "approved",
                        "declined",
                        "in_transit",
                        "received",
                        "inspected",
                        "resolved",
                        "closed_no_outcome",
                        "cancelled",
                        "expired",
                    ]
                ),
                name="returns_returnrequest_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "created_at"], name="returns_request_status_idx"),
            models.Index(fields=["order", "status"], name="returns_request_order_idx"),
            # The expiry scan: approved returns whose instructions ran out.
            models.Index(
                fields=["instructions_expire_at"], condition=Q(status="approved"), name="returns_request_expiry_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class ReturnLine(models.Model):
    """A line of the order going back: how many, and, after inspection, what was accepted."""

    class Disposition(models.TextChoices):
        PENDING = "pending", _("Not inspected yet")
        ACCEPT = "accept", _("Accepted")
        REJECT = "reject", _("Rejected")
        PARTIAL = "partial", _("Partly accepted")

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=ReturnReason.choices, blank=True)
    disposition = models.CharField(max_length=10, choices=Disposition.choices, default=Disposition.PENDING)
    accepted_quantity = models.PositiveIntegerField(default=0)
    credit_amount = models.DecimalField(default=0, **MONEY)
    restock = models.BooleanField(default=False)
    inspection_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["return_request", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="returns_returnline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(accepted_quantity__lte=models.F("quantity")),
                name="returns_returnline_accepted_at_most_sent",
            ),
            models.UniqueConstraint(fields=["return_request", "order_line"], name="returns_returnline_unique_line"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.title}"


class ReturnPhoto(models.Model):
    """A photo the customer added to the request (damage, wrong item)."""

    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to="returns/%Y/%m/")
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["return_request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["return_request", "sha256"], name="returns_returnphoto_unique_upload")
        ]

    def __str__(self) -> str:
        return self.original_name or f"Photo {self.pk}"


class ReturnEvent(AuditEvent):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["return_request", "at"], name="returns_returnevent_req_idx")]
