"""Reviews of products, their photos and videos, and the audit trail of everything done to them.

A customer's stars and words are theirs: staff publish, hide (with a recorded reason that is not
"negative") and reply, but never change them (US FTC rule 16 CFR 465).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import LANGUAGE_CHOICES, BaseModel, Customer, Merchant, Order, OrderEvent, Product
from reviews.models.requests import ReviewRequest, ReviewRequestItem


class Review(BaseModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a person")
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.PENDING: frozenset({S.PUBLISHED, S.HIDDEN}),
        # A customer's edit that trips a check waits for a person again.
        S.PUBLISHED: frozenset({S.HIDDEN, S.PENDING}),
        S.HIDDEN: frozenset({S.PUBLISHED}),
    }
    del S

    class Source(models.TextChoices):
        REVIEW_REQUEST = "review_request", _("Review request")
        IMPORT = "import", _("Import")

    class HideReason(models.TextChoices):
        # The grounds 16 CFR 465.7 leaves for not publishing a review. Being negative is not one of them.
        PERSONAL_DATA = "personal_data", _("Personal data of the customer or someone else")
        ABUSIVE = "abusive", _("Abusive, obscene, harassing or threatening")
        DEFAMATORY = "defamatory", _("Defamatory")
        DISCRIMINATORY = "discriminatory", _("Discriminatory")
        TRADE_SECRET = "trade_secret", _("Trade secrets or confidential information")
        FAKE = "fake", _("Believed fake: not a real experience")
        FALSE = "false", _("Clearly false or misleading")
        UNRELATED = "unrelated", _("Wholly unrelated to the product or the shop")
        SPAM = "spam", _("Spam or advertising")

    class Flag(models.TextChoices):
        PROFANITY = "profanity", _("Profanity")
        LINK = "link", _("Link")
        PERSONAL_DATA = "personal_data", _("Personal data (phone, email)")
        SPAM = "spam", _("Spam")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="reviews")
    request = models.ForeignKey(ReviewRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews")
    item = models.OneToOneField(
        ReviewRequestItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="review"
    )
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews")
    product_title = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="reviews")
    author_name = models.CharField(
        max_length=100, blank=True, help_text=_("The name shown with an imported review (others show the customer's).")
    )
    rating = models.PositiveSmallIntegerField(_("stars"))
    title = models.CharField(max_length=150, blank=True)
    text = models.TextField(blank=True)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    flags = models.JSONField(default=list, blank=True, help_text=_("Why it waits for a person."))
    flag_details = models.TextField(blank=True)
    # The words with case, spacing and punctuation ignored, hashed: the same text sent twice is spam.
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    incentivized = models.BooleanField(
        default=False, help_text=_("The customer got something for writing it; shown with the review.")
    )
    incentive_note = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.REVIEW_REQUEST)
    # An imported row's content, hashed: importing the same file twice stores each review once.
    import_key = models.CharField(max_length=64, blank=True, editable=False)
    submitted_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=20, choices=HideReason.choices, blank=True)
    hidden_note = models.TextField(blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reply_text = models.TextField(_("public reply"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rating__gte=1) & Q(rating__lte=5), name="reviews_review_rating_range"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "published", "hidden"]), name="reviews_review_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="hidden") | ~Q(hidden_reason=""), name="reviews_review_hidden_with_reason"
            ),
            models.UniqueConstraint(
                fields=["shop", "import_key"], condition=~Q(import_key=""), name="reviews_review_unique_import_key"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "-submitted_at"], name="reviews_review_shop_status_idx"),
            # The storefront's reviews of a product.
            models.Index(fields=["product", "status", "-submitted_at"], name="reviews_review_product_idx"),
            # The dashboard's 1-2 star reviews of a period (journeys.insight voice of the customer): a small index
            # of the few low ratings, instead of reading every review of the period to keep one in seven.
            models.Index(
                fields=["shop", "submitted_at"], condition=Q(rating__lte=2), name="reviews_review_low_rating_idx"
            ),
            models.Index(
                fields=["shop", "fingerprint"], condition=~Q(fingerprint=""), name="reviews_review_fingerprint_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{'★' * self.rating} {self.title or self.product_title}".strip()


def media_upload_to(media: "ReviewMedia", filename: str) -> str:
    # A random name: the file's address tells nothing and cannot be guessed; the extension is ours.
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4"}[media.content_type]
    now = timezone.now()
    return f"reviews/{media.review.shop_id}/{now:%Y/%m}/{secrets.token_urlsafe(18)}.{extension}"


class ReviewMedia(models.Model):
    """A photo (re-encoded, metadata removed) or a short video (checked, stored as sent) of a review."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        VIDEO = "video", _("Video")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    file = models.FileField(upload_to=media_upload_to, max_length=200)
    content_type = models.CharField(max_length=20)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    # Of the bytes as uploaded: the same file sent twice (a double tap) is stored once.
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["review", "id"]
        verbose_name = _("photo or video")
        verbose_name_plural = _("photos and videos")
        constraints = [
            models.UniqueConstraint(fields=["review", "sha256"], name="reviews_reviewmedia_unique_upload"),
            models.CheckConstraint(condition=Q(kind__in=["photo", "video"]), name="reviews_reviewmedia_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name or self.pk}"


class ReviewEvent(models.Model):
    """One line of a review's history: who did what, when, and why. Append-only."""

    class Action(models.TextChoices):
        SUBMITTED = "submitted", _("Written")
        EDITED = "edited", _("Edited by the customer")
        FLAGGED = "flagged", _("Held for a person")
        PUBLISHED = "published", _("Published")
        HIDDEN = "hidden", _("Hidden")
        REPLIED = "replied", _("Replied")
        FOLLOWED_UP = "followed_up", _("Private message to the customer")
        IMPORTED = "imported", _("Imported")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=12, choices=Action.choices)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    actor_kind = models.CharField(max_length=10, choices=OrderEvent.ActorKind.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["review", "at"], name="reviews_reviewevent_review_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_label or self.actor_kind}"
