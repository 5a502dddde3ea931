"""What a shop promises: its return policy, and its support hours, response targets and FAQ."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchant.models import LANGUAGE_CHOICES, BaseModel, Merchant

# The right of withdrawal in the EU (Directive 2011/83/EU art. 9): 14 days from delivery of the last
# item, whatever the shop's own window says. A shop cannot switch it off.
EU_WITHDRAWAL_DAYS = 14


class RefundMethod(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", _("Original payment method")
    STORE_CREDIT = "store_credit", _("Store credit")
    MANUAL = "manual", _("Manual (bank transfer, cash, other)")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", _("Arrived damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item sent")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    TOO_SMALL = "too_small", _("Too small")
    TOO_LARGE = "too_large", _("Too large")
    CHANGED_MIND = "changed_mind", _("Changed my mind")
    OTHER = "other", _("Other")


def default_refund_methods() -> list[str]:
    return [RefundMethod.ORIGINAL_PAYMENT, RefundMethod.STORE_CREDIT]


class ReturnPolicy(BaseModel):
    """One per shop. The EU floor is not a field: it always applies to customers in the EU."""

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="return_policy")
    window_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text=_("Days from delivery in which items can be returned. Customers in the EU always get at least 14."),
    )
    non_returnable_categories = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Product categories that cannot be returned (final sale, hygiene, made to order)."),
    )
    auto_approve_max_amount = models.DecimalField(
        null=True,
        blank=True,
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Approve a request by itself when the items are worth at most this much. Empty: never by amount."),
    )
    auto_approve_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Reasons approved by themselves, whatever the amount (e.g. damaged, wrong item)."),
    )
    review_above_amount = models.DecimalField(
        null=True,
        blank=True,
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Requests for items worth more than this always go to a person first. Empty: none by amount."),
    )
    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            "Kept from refunds of items returned for a change of mind or size. Never on damaged or wrong items."
        ),
    )
    refund_methods = models.JSONField(default=default_refund_methods, help_text=_("How customers can be refunded."))
    refund_approval_threshold = models.DecimalField(
        null=True,
        blank=True,
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("Refunds above this amount need an owner's approval. Empty: no approval step."),
    )
    return_instructions = models.TextField(
        blank=True, help_text=_("Where and how to send items back; shown to the customer once a return is approved.")
    )
    instructions_valid_days = models.PositiveIntegerField(
        default=28, help_text=_("An approved return that was not sent within this many days expires.")
    )

    class Meta:
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(restocking_fee_percent__gte=0) & Q(restocking_fee_percent__lte=100),
                name="returns_returnpolicy_fee_percent_range",
            )
        ]

    def __str__(self) -> str:
        return str(_("Return policy of %(shop)s") % {"shop": self.shop})


def default_business_hours() -> dict[str, list[list[str]]]:
    """Monday to Friday, 09:00–17:00. Keys are ISO weekdays 1 (Monday) to 7 (Sunday)."""
    return {str(day): [["09:00", "17:00"]] for day in range(1, 6)}


class SupportSettings(BaseModel):
    """One per shop: when the support team works, what it promises, and the answer outside those hours."""

    shop = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="support_settings")
    business_hours = models.JSONField(
        default=default_business_hours,
        help_text=_('Opening times per ISO weekday in the shop\'s time zone, e.g. {"1": [["09:00", "17:00"]]}.'),
    )
    closed_on_public_holidays = models.BooleanField(
        default=True, help_text=_("Public holidays of the shop's country count as closed.")
    )
    first_response_hours = models.PositiveIntegerField(
        default=8, help_text=_("Business hours in which a new case gets its first answer.")
    )
    resolution_hours = models.PositiveIntegerField(
        default=40, help_text=_("Business hours in which a case is resolved; time waiting for the customer pauses it.")
    )
    auto_assign = models.BooleanField(
        default=False, help_text=_("Hand new cases in turn to agents marked available (round robin).")
    )
    auto_reply_enabled = models.BooleanField(
        default=True,
        help_text=_("Answer customer messages outside business hours with the FAQ and when to expect a reply."),
    )
    satisfaction_survey_enabled = models.BooleanField(
        default=True, help_text=_("Ask one question (how did we do?) after a case is resolved.")
    )

    class Meta:
        verbose_name = _("support settings")
        verbose_name_plural = _("support settings")

    def __str__(self) -> str:
        return str(_("Support settings of %(shop)s") % {"shop": self.shop})


class FaqEntry(BaseModel):
    """A question customers often ask, sent with the auto-reply in the customer's language."""

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="faq_entries")
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    question = models.CharField(max_length=200)
    answer = models.TextField(max_length=1000)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["shop", "language", "position", "id"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        indexes = [models.Index(fields=["shop", "language", "position"], name="returns_faq_shop_lang_idx")]

    def __str__(self) -> str:
        return self.question
