"""NPS answers, and the unhappy customers who need a person ("needs attention")."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import LANGUAGE_CHOICES, BaseModel, Customer, Merchant, Order
from reviews.models.requests import ReviewRequest
from reviews.models.reviews import Review

DETRACTOR_MAX = 6
PROMOTER_MIN = 9


class NpsResponse(BaseModel):
    """ "How likely are you to recommend the shop?" 0-10, with the customer's reason."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="nps_responses")
    request = models.OneToOneField(ReviewRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="nps")
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="nps_responses"
    )
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    comment = models.TextField(blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("NPS answer")
        constraints = [models.CheckConstraint(condition=Q(score__lte=10), name="reviews_npsresponse_score_range")]
        indexes = [models.Index(fields=["shop", "-submitted_at"], name="reviews_nps_shop_idx")]

    def __str__(self) -> str:
        return f"NPS {self.score}"

    @property
    def band(self) -> str:
        if self.score >= PROMOTER_MIN:
            return "promoter"
        return "detractor" if self.score <= DETRACTOR_MAX else "passive"


class AttentionItem(BaseModel):
    """An unhappy customer a person should answer before `due_at`: a review of 1-2 stars, an NPS score of 0-6.

    An admin list for now; the support queue (returns) takes these over through a registry later.
    """

    class Kind(models.TextChoices):
        LOW_RATING = "low_rating", _("Review of 1–2 stars")
        DETRACTOR = "detractor", _("NPS score 0–6")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")
        # The support queue took it (merchant.support_handoff): answered there, not here.
        HANDED_OVER = "handed_over", _("In the support queue")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.OPEN: frozenset({S.RESOLVED, S.HANDED_OVER}),
        S.RESOLVED: frozenset(),
        S.HANDED_OVER: frozenset(),
    }
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="attention_items")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    review = models.OneToOneField(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="attention_item"
    )
    nps = models.OneToOneField(
        NpsResponse, on_delete=models.CASCADE, null=True, blank=True, related_name="attention_item"
    )
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    summary = models.CharField(max_length=300)
    due_at = models.DateTimeField(_("answer by"))
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    queue_reference = models.CharField(
        max_length=100, blank=True, help_text=_("The support queue's case for it, once handed over.")
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("needs attention")
        verbose_name_plural = _("needs attention")
        constraints = [
            models.CheckConstraint(
                condition=(Q(review__isnull=False) & Q(nps__isnull=True))
                | (Q(review__isnull=True) & Q(nps__isnull=False)),
                name="reviews_attentionitem_review_or_nps",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved", "handed_over"]), name="reviews_attentionitem_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["shop", "status", "due_at"], name="reviews_attention_queue_idx")]

    def __str__(self) -> str:
        return self.summary
