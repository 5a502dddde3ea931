"""Review requests: one per order and group of items that come due on the same day."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchant.models import BaseModel, Customer, Merchant, Order, OrderLine, Product


class ReviewRequest(BaseModel):
    """Asking one customer about some items of one order; the message itself is a journeys outbox row."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")  # planned or sent, no answer yet
        REVIEWED = "reviewed", _("Reviewed")
        CANCELLED = "cancelled", _("Cancelled")
        SKIPPED = "skipped", _("Not sent")  # no active rule, no consent, too late: `status_reason` says

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.OPEN: frozenset({S.REVIEWED, S.CANCELLED, S.SKIPPED}),
        S.REVIEWED: frozenset(),  # the customer may still edit until the link expires
        S.CANCELLED: frozenset(),
        S.SKIPPED: frozenset(),
    }
    # Requests that count against the caps: asked, or about to be.
    COUNTED: frozenset[str] = frozenset({S.OPEN, S.REVIEWED})
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="review_requests")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="review_requests")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="review_requests")
    group_days = models.PositiveSmallIntegerField(
        help_text=_("The delay after delivery of this group's items; one request per delay.")
    )
    due_at = models.DateTimeField(help_text=_("When the customer can judge the items (after the caps)."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_reason = models.CharField(max_length=500, blank=True)
    explanation = models.TextField(blank=True, help_text=_("How the due date was worked out."))
    message = models.ForeignKey("journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reminders_planned = models.PositiveSmallIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    coupon_code = models.CharField(
        max_length=64, blank=True, help_text=_("The code given for the review: the offer when it was written.")
    )

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "group_days"], name="reviews_reviewrequest_unique_group"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "reviewed", "cancelled", "skipped"]),
                name="reviews_reviewrequest_status_valid",
            ),
        ]
        indexes = [
            # The caps: a customer's recent requests.
            models.Index(fields=["customer", "due_at"], name="reviews_request_customer_idx"),
            # The reminder scan: open requests only.
            models.Index(fields=["due_at"], condition=Q(status="open"), name="reviews_request_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order} +{self.group_days}d ({self.get_status_display()})"


class ReviewRequestItem(models.Model):
    """One order line a request asks about."""

    request = models.ForeignKey(ReviewRequest, on_delete=models.CASCADE, related_name="items")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=255)

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "order_line"], name="reviews_reviewrequestitem_unique_line")
        ]
        indexes = [models.Index(fields=["product"], name="reviews_item_product_idx")]

    def __str__(self) -> str:
        return self.title
