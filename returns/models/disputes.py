"""Payment disputes and chargebacks, in provider-neutral states, with the evidence staged to answer them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import MONEY, BaseModel, Customer, Merchant, Order
from returns.models.audit import AuditEvent


class Dispute(BaseModel):
    """A customer's claim against a payment, with its deadline. `status` moves only along `TRANSITIONS`;
    the provider's own status is kept as received in `provider_status`."""

    class Status(models.TextChoices):
        INQUIRY_OPEN = "inquiry_open", _("Inquiry open")
        NEEDS_RESPONSE = "needs_response", _("Needs a response")
        EVIDENCE_STAGED = "evidence_staged", _("Evidence staged")
        SUBMITTED = "submitted", _("Submitted")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        ACCEPTED = "accepted", _("Accepted")
        APPEAL_OPEN = "appeal_open", _("Appeal open")
        SETTLED = "settled", _("Settled")
        INQUIRY_CLOSED = "inquiry_closed", _("Inquiry closed")

    class Provider(models.TextChoices):
        SHOPIFY = "shopify", "Shopify Payments"
        STRIPE = "stripe", "Stripe"
        PAYPAL = "paypal", "PayPal"
        MARKETPLACE = "marketplace", _("Marketplace (Amazon, eBay, AliExpress)")
        OTHER = "other", _("Other")

    class ReasonCategory(models.TextChoices):
        NOT_RECEIVED = "not_received", _("Item not received")
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        FRAUDULENT = "fraudulent", _("Fraudulent / unrecognised")
        DUPLICATE = "duplicate", _("Duplicate charge")
        CREDIT_NOT_PROCESSED = "credit_not_processed", _("Refund not processed")
        SUBSCRIPTION = "subscription", _("Subscription cancelled")
        OTHER = "other", _("Other")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.INQUIRY_OPEN: frozenset({S.NEEDS_RESPONSE, S.SETTLED, S.ACCEPTED, S.INQUIRY_CLOSED, S.LOST}),
        S.NEEDS_RESPONSE: frozenset({S.EVIDENCE_STAGED, S.SUBMITTED, S.ACCEPTED, S.LOST, S.SETTLED, S.WON}),
        # Staged evidence can still be edited; submission is final (most providers take one answer).
        S.EVIDENCE_STAGED: frozenset({S.SUBMITTED, S.ACCEPTED, S.LOST, S.SETTLED, S.WON}),
        S.SUBMITTED: frozenset({S.WON, S.LOST}),
        S.LOST: frozenset({S.APPEAL_OPEN}),
        S.APPEAL_OPEN: frozenset({S.WON, S.LOST}),
        S.WON: frozenset(),
        S.ACCEPTED: frozenset(),
        S.SETTLED: frozenset(),
        S.INQUIRY_CLOSED: frozenset(),
    }
    # A chargeback still open: no refund may be paid on the order meanwhile (it could pay twice).
    OPEN: frozenset[str] = frozenset({S.INQUIRY_OPEN, S.NEEDS_RESPONSE, S.EVIDENCE_STAGED, S.SUBMITTED, S.APPEAL_OPEN})
    # Waiting for the shop's answer before `due_at`.
    AWAITING_ANSWER: frozenset[str] = frozenset({S.INQUIRY_OPEN, S.NEEDS_RESPONSE, S.EVIDENCE_STAGED, S.APPEAL_OPEN})
    CLOSED: frozenset[str] = frozenset({S.WON, S.LOST, S.ACCEPTED, S.SETTLED, S.INQUIRY_CLOSED})
    STATUS_TIMESTAMP: dict[str, str] = {
        S.SUBMITTED: "submitted_at",
        S.WON: "closed_at",
        S.LOST: "closed_at",
        S.ACCEPTED: "closed_at",
        S.SETTLED: "closed_at",
        S.INQUIRY_CLOSED: "closed_at",
    }
    # Deadline warnings, in hours before `due_at`, largest first.
    WARNING_HOURS: tuple[int, ...] = (72, 24, 4)
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="disputes")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes")
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.OTHER)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    kind = models.CharField(max_length=20, default="chargeback", help_text=_("chargeback or inquiry"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEEDS_RESPONSE)
    status_changed_at = models.DateTimeField(default=timezone.now)
    provider_status = models.CharField(max_length=60, blank=True, help_text=_("The provider's own status, as sent."))
    provider_reason = models.CharField(max_length=60, blank=True)
    network_reason_code = models.CharField(max_length=20, blank=True)
    reason_category = models.CharField(max_length=24, choices=ReasonCategory.choices, default=ReasonCategory.OTHER)
    amount = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, help_text=_("The provider's deadline for the shop's answer."))
    # The last deadline warning sent: 72, 24 or 4 (hours before due); None before the first.
    warned_hours_before = models.PositiveIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # An appeal's answer is a submission of its own, also made once.
    appeal_submitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    owner_alerted_at = models.DateTimeField(null=True, blank=True)
    staged_packet = models.JSONField(
        default=dict, blank=True, help_text=_("The evidence as staged or submitted, kept as it was then.")
    )
    response_text = models.TextField(blank=True, help_text=_("The shop's written answer to the claim."))

    class Meta:
        ordering = ["due_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "provider", "external_id"],
                condition=Q(external_id__isnull=False),
                name="returns_dispute_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "inquiry_open",
                        "needs_response",
                        "evidence_staged",
                        "submitted",
                        "won",
                        "lost",
                        "accepted",
                        "appeal_open",
                        "settled",
                        "inquiry_closed",
                    ]
                ),
                name="returns_dispute_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "due_at"], name="returns_dispute_due_idx"),
            models.Index(fields=["order", "status"], name="returns_dispute_order_idx"),
            # The deadline scan: answers still owed, by due time.
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["inquiry_open", "needs_response", "evidence_staged", "appeal_open"]),
                name="returns_dispute_awaiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.external_id or self.pk}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class DisputeEvidence(models.Model):
    """Something an agent added to the evidence beyond what is on file: a note, a document, a photo."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence")
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    file = models.FileField(upload_to="disputes/%Y/%m/", blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["dispute", "created_at", "id"]
        verbose_name = _("evidence added by staff")
        verbose_name_plural = _("evidence added by staff")

    def __str__(self) -> str:
        return self.title


class DisputeEvent(AuditEvent):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["dispute", "at"], name="returns_disputeevent_disp_idx")]
