"""The stages of the journey map only reviews knows (journeys.insight.journey; journeys never imports reviews).

"Reviewed": the customer wrote a review of the order (whatever became of it: waiting, published or
hidden, it was written). "Advocate": the customer brought a friend with their referral code, an order
placed after this one that earned a reward not cancelled. The review and referral triggers' rules are
attached to the stage where they act: asking for a review to a delivered order, following up a review
and inviting a happy reviewer to refer friends to a reviewed one.
"""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from journeys.insight.journey import StageSpec, journey_stage_register, journey_trigger_stage_register
from reviews.models import ReferralReward, Review


def _reviewed() -> Q:
    return Q(Exists(Review.objects.filter(order_id=OuterRef("pk"))))


def _advocate() -> Q:
    rewards = ReferralReward.objects.exclude(status=ReferralReward.Status.CANCELLED)
    friends = rewards.filter(referrer_id=OuterRef("customer_id"), order__placed_at__gt=OuterRef("placed_at"))
    # The uncorrelated IN is looked up in one hash of the few referrers; only their orders need the EXISTS.
    return Q(customer_id__in=rewards.values("referrer_id")) & Q(Exists(friends))


REVIEW_STAGES = (
    StageSpec(
        name="reviewed",
        label=_("Reviewed"),
        position=50,
        description=_("The customer wrote a review of the order."),
        orders_filter=_reviewed,
    ),
    StageSpec(
        name="advocate",
        label=_("Advocate"),
        position=70,
        description=_("The customer referred a friend, who ordered with their code."),
        orders_filter=_advocate,
    ),
)

REVIEW_TRIGGER_STAGES = {
    "review_request": "delivered",
    "review_reminder": "delivered",
    "review_follow_up": "reviewed",
    "referral_invitation": "reviewed",
}


def review_journey_stages_register() -> None:
    """Register the stages and the triggers' stages with the journey map. Idempotent."""
    for spec in REVIEW_STAGES:
        journey_stage_register(spec)
    for trigger, stage in REVIEW_TRIGGER_STAGES.items():
        journey_trigger_stage_register(trigger=trigger, stage=stage)
