"""Advocacy: happy customers invited to refer friends with a personal code, and the rewards their codes earn.

Off by default (`ReviewPolicy.referrals_enabled`). A promoter (NPS 9-10) or a customer who gave 4-5
stars gets one invitation (a marketing message through journeys, trigger `referral_invitation`). An
order that arrives with the code among its discount codes is attributed to the referrer, whose reward
is recorded here for a person to give.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchant.models import BaseModel, Customer, Merchant, Order
from reviews.models.feedback import NpsResponse
from reviews.models.reviews import Review


class ReferralInvitation(BaseModel):
    """One customer's personal code, and the message that brought it. At most one per customer."""

    class Reason(models.TextChoices):
        PROMOTER = "promoter", _("NPS 9–10")
        REVIEW = "review", _("4–5 star review")

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="referral_invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referral_invitations")
    code = models.CharField(max_length=40, help_text=_("Upper case; matched without regard to case."))
    reason = models.CharField(max_length=10, choices=Reason.choices)
    review = models.ForeignKey(Review, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    nps = models.ForeignKey(NpsResponse, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.ForeignKey("journeys.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("referral invitation")
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer"], name="reviews_referralinvitation_one_per_customer"),
            models.UniqueConstraint(fields=["shop", "code"], name="reviews_referralinvitation_unique_code"),
            models.CheckConstraint(
                condition=Q(reason__in=["promoter", "review"]), name="reviews_referralinvitation_reason_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ReferralReward(BaseModel):
    """What a referrer earned: an order placed with their code by a new customer. A person gives it."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("To give")
        GIVEN = "given", _("Given")
        CANCELLED = "cancelled", _("Cancelled")

    S = Status
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.RECORDED: frozenset({S.GIVEN, S.CANCELLED}),
        S.GIVEN: frozenset(),
        S.CANCELLED: frozenset(),
    }
    del S

    shop = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="referral_rewards")
    invitation = models.ForeignKey(ReferralInvitation, on_delete=models.CASCADE, related_name="rewards")
    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referral_rewards")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="referral_reward")
    referred_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_by"
    )
    code = models.CharField(max_length=100, help_text=_("The code as the order carried it."))
    reward = models.CharField(max_length=200, blank=True, help_text=_("The reward the policy offered then."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECORDED)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("referral reward")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["recorded", "given", "cancelled"]), name="reviews_referralreward_status_valid"
            ),
            # One reward per friend a referrer brings, however often the friend uses the code.
            models.UniqueConstraint(
                fields=["invitation", "referred_customer"],
                condition=Q(referred_customer__isnull=False),
                name="reviews_referralreward_one_per_friend",
            ),
        ]
        indexes = [models.Index(fields=["shop", "status", "-created_at"], name="reviews_reward_shop_idx")]

    def __str__(self) -> str:
        return f"{self.code} → {self.order}"
