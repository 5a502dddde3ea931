"""The support queue: one case per order gathering its returns, refunds, disputes and customer messages."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import LANGUAGE_CHOICES, BaseModel, Customer, Merchant, Order
from returns.models.audit import AuditEvent
from returns.models.disputes import Dispute
from returns.models.refunds import Refund
from returns.models.requests import ReturnRequest


class Case(BaseModel):
    """What support agents work on. One per order (or per customer when there is no order).
    `status` moves only along `TRANSITIONS`; the SLA clocks are counted in the shop's business hours."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting for the customer")
        RESOLVED = "resolved", _("Resolved")

    class Priority(models.IntegerChoices):
        # Higher sorts first.
        LOW = 10, _("Low")
        NORMAL = 20, _("Normal")
        HIGH = 30, _("High")
        URGENT = 40, _("Urgent")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.NEW: frozenset({S.OPEN, S.WAITING_ON_CUSTOMER, S.RESOLVED}),
        S.OPEN: frozenset({S.WAITING_ON_CUSTOMER, S.RESOLVED}),
        S.WAITING_ON_CUSTOMER: frozenset({S.OPEN, S.RESOLVED}),
        # Something new about the order (a reply, a dispute) opens the case again.
        S.RESOLVED: frozenset({S.OPEN}),
    }
    ACTIVE: frozenset[str] = frozenset({S.NEW, S.OPEN, S.WAITING_ON_CUSTOMER})
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="cases")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="cases")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases")
    number = models.PositiveIntegerField(help_text=_("The case number within the shop."))
    subject = models.CharField(max_length=200)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.NEW)
    status_changed_at = models.DateTimeField(default=timezone.now)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    # SLA clocks (business time). While waiting for the customer the resolution clock stops: on
    # resuming, `resolution_due_at` moves on by the business time spent waiting.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The soonest deadline the case must meet (first response, resolution, a dispute's due time):
    # what "Due soon" and "Overdue" sort and filter by. Null while nothing is due (waiting, resolved).
    due_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    satisfaction_requested_at = models.DateTimeField(null=True, blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(null=True, blank=True)
    satisfaction_comment = models.TextField(blank=True, max_length=1000)
    satisfaction_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "-priority", "id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="returns_case_unique_number"),
            models.UniqueConstraint(
                fields=["shop", "order"], condition=Q(order__isnull=False), name="returns_case_one_per_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["new", "open", "waiting_on_customer", "resolved"]),
                name="returns_case_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(satisfaction_score__isnull=True) | Q(satisfaction_score__gte=1, satisfaction_score__lte=5),
                name="returns_case_satisfaction_range",
            ),
        ]
        indexes = [
            # The queue views: active cases of a shop by due time, all or one agent's. Priority and assignee
            # make them covering: the counts and the ordered ids of a page are read from the index alone.
            models.Index(fields=["shop", "status", "due_at", "priority", "assignee"], name="returns_case_queue_idx"),
            models.Index(fields=["shop", "assignee", "status", "due_at", "priority"], name="returns_case_mine_idx"),
            models.Index(fields=["shop", "customer"], name="returns_case_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]


class CaseItem(models.Model):
    """Something the case gathers: a return request, a refund, a dispute, a review follow-up, a customer message."""

    class Kind(models.TextChoices):
        RETURN_REQUEST = "return_request", _("Return request")
        REFUND = "refund", _("Refund")
        DISPUTE = "dispute", _("Dispute")
        REVIEW = "review", _("Unhappy review or survey answer")
        CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
        # The customer kept opening the order status page before delivery (journeys.status).
        STATUS_CHECKS = "status_checks", _("Customer keeps checking the order")
        OTHER = "other", _("Other")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The item's stable reference where it lives, e.g. "returns.dispute:7", "reviews.attentionitem:42".
    source = models.CharField(max_length=100)
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    summary = models.CharField(max_length=300)
    admin_path = models.CharField(max_length=200, blank=True)
    # Answer the customer by then (e.g. an unhappy review); met, and cleared, by the next reply to the customer.
    # A dispute's deadline is read from the dispute itself, which the provider may move.
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["case", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "source"], name="returns_caseitem_unique_source")]

    def __str__(self) -> str:
        return self.summary


class CaseEntry(models.Model):
    """The conversation on a case: internal notes, replies sent to the customer, the customer's messages."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply to the customer")
        CUSTOMER_MESSAGE = "customer_message", _("From the customer")
        AUTO_REPLY = "auto_reply", _("Automatic reply")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    body = models.TextField(max_length=5000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=10, blank=True)
    # The outbox row a reply went out as (journeys.Message), to show whether it was delivered.
    message = models.ForeignKey("journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name_plural = _("case entries")
        indexes = [models.Index(fields=["case", "at"], name="returns_caseentry_case_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:60]}"


class CaseEvent(AuditEvent):
    """The case's audit trail: status moves, assignment, priority, SLA pauses."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["case", "at"], name="returns_caseevent_case_idx")]


class Macro(BaseModel):
    """A canned reply with placeholders ({{ customer.first_name }}, {{ order.number }}), one per language."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="macros")
    name = models.CharField(max_length=100)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    body = models.TextField(max_length=5000)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["shop", "name", "language", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name", "language"], name="returns_macro_unique_name_language")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class AgentPresence(BaseModel):
    """Whether an agent takes new cases of a shop now, and when they last got one (round robin)."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="agent_presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_presences")
    is_available = models.BooleanField(default=False)
    max_active_cases = models.PositiveIntegerField(
        default=25, help_text=_("No new case is handed to an agent with this many active cases.")
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["shop", "user", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="returns_agentpresence_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} — {self.shop}"
