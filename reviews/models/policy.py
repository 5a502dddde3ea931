"""When and how often a shop asks for reviews, and what it gives for one."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchant.models import BaseModel, Merchant, Product

MAX_DELAY_DAYS = 365
MAX_REMINDERS = 3


class ReviewPolicy(BaseModel):
    """A shop's review-request policy. Every shop gets one with the defaults below."""

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="review_policy")
    default_delay_days = models.PositiveSmallIntegerField(
        _("ask after (days)"),
        default=7,
        validators=[MaxValueValidator(MAX_DELAY_DAYS)],
        help_text=_("Days after delivery, unless a product or its category says otherwise."),
    )
    customer_cap_days = models.PositiveSmallIntegerField(
        _("one request per customer in (days)"),
        default=30,
        validators=[MaxValueValidator(MAX_DELAY_DAYS)],
        help_text=_("A later request waits until this many days after the customer's previous one. 0: no limit."),
    )
    product_cap_days = models.PositiveSmallIntegerField(
        _("each product once per customer in (days)"),
        default=365,
        validators=[MaxValueValidator(3 * MAX_DELAY_DAYS)],
        help_text=_("A product the customer was asked about this recently is not asked about again. 0: no limit."),
    )
    reminder_count = models.PositiveSmallIntegerField(
        _("reminders"),
        default=1,
        validators=[MaxValueValidator(MAX_REMINDERS)],
        help_text=_("Reminders to customers who have not answered; none once they wrote a review."),
    )
    reminder_after_days = models.PositiveSmallIntegerField(
        _("remind after (days)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Days after the request was sent, and between reminders."),
    )
    link_valid_days = models.PositiveSmallIntegerField(
        _("link works for (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DELAY_DAYS)],
        help_text=_("How long the link in a request lets the customer write and edit a review."),
    )
    attention_hours = models.PositiveSmallIntegerField(
        _("answer unhappy customers within (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text=_("A review of 1–2 stars or an NPS score of 0–6 needs a person within this time."),
    )
    coupon_code = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Given for every honest review, whatever its rating, and disclosed on the review. Empty: none."),
    )
    coupon_description = models.CharField(
        max_length=200, blank=True, help_text=_("What the code gives, e.g. “10% off your next order”.")
    )
    nps_interval_days = models.PositiveSmallIntegerField(
        _("ask the NPS and survey questions once in (days)"),
        default=90,
        validators=[MaxValueValidator(2 * MAX_DELAY_DAYS)],
        help_text=_(
            "A customer who answered within this many days is not asked again: the review page leaves the "
            "questions off. 0: ask every time."
        ),
    )
    referrals_enabled = models.BooleanField(
        _("invite happy customers to refer friends"),
        default=False,
        help_text=_(
            "Promoters (NPS 9–10) and customers who gave 4–5 stars get one invitation with a personal code "
            "(a marketing message: consent and the contact budget apply)."
        ),
    )
    referral_code_prefix = models.CharField(
        max_length=12,
        default="FRIEND",
        validators=[RegexValidator(r"^[A-Z0-9]{1,12}$", _("Use 1 to 12 capital letters or digits."))],
        help_text=_("Personal codes look like FRIEND-7K3QXM. Create the same codes in your shop platform."),
    )
    referral_friend_offer = models.CharField(
        max_length=200, blank=True, help_text=_("What a friend gets with the code, e.g. “10% off the first order”.")
    )
    referral_reward = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("What the referrer gets for each new customer who orders with their code, e.g. “€10 credit”."),
    )

    class Meta:
        ordering = ["shop__name", "id"]
        verbose_name = _("review request policy")
        verbose_name_plural = _("review request policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(reminder_count__lte=MAX_REMINDERS), name="reviews_reviewpolicy_reminders_max"
            ),
            models.CheckConstraint(
                condition=Q(reminder_after_days__gte=1) & Q(link_valid_days__gte=1) & Q(attention_hours__gte=1),
                name="reviews_reviewpolicy_positive_periods",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Review requests of %(shop)s") % {"shop": self.shop})


class ReviewDelay(BaseModel):
    """When to ask about a product or a category of products, instead of the policy's default."""

    policy = models.ForeignKey(ReviewPolicy, on_delete=models.CASCADE, related_name="delays")
    category = models.CharField(
        max_length=100, blank=True, help_text=_("A product category as it comes from the shop, e.g. “vouchers”.")
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    delay_days = models.PositiveSmallIntegerField(_("ask after (days)"), validators=[MaxValueValidator(MAX_DELAY_DAYS)])

    class Meta:
        ordering = ["policy", "category", "product__title", "id"]
        verbose_name = _("delay for a product or category")
        verbose_name_plural = _("delays for products and categories")
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=True) & ~Q(category="")) | (Q(product__isnull=False) & Q(category="")),
                name="reviews_reviewdelay_product_or_category",
                violation_error_message=_("Give either a product or a category, not both."),
            ),
            models.UniqueConstraint(
                fields=["policy", "category"],
                condition=Q(product__isnull=True),
                name="reviews_reviewdelay_unique_category",
                violation_error_message=_("This category has a delay already."),
            ),
            models.UniqueConstraint(
                fields=["policy", "product"],
                condition=Q(product__isnull=False),
                name="reviews_reviewdelay_unique_product",
                violation_error_message=_("This product has a delay already."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product or self.category}: {self.delay_days}"


class ReviewPolicyChange(models.Model):
    """One change to a policy's incentive or timing, kept as evidence that no incentive depended on sentiment."""

    policy = models.ForeignKey(ReviewPolicy, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=60)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=200)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("policy change")

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"
