"""Private messages staff write to a reviewer, sent through journeys (trigger `review_follow_up`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import Customer, Merchant
from reviews.models.reviews import Review


class ReviewFollowUp(models.Model):
    """One private message about a review: the words as the staff member wrote them, who, when, and the outbox row.

    Append-only: the evidence of what the shop told the customer.
    """

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="review_follow_ups")
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="follow_ups")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="review_follow_ups")
    text = models.TextField(_("message"))
    message = models.ForeignKey("journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    written_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("private message to the reviewer")
        verbose_name_plural = _("private messages to reviewers")
        indexes = [models.Index(fields=["review", "created_at"], name="reviews_followup_review_idx")]

    def __str__(self) -> str:
        return self.text[:80]
