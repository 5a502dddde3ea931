"""Advocacy: invite happy customers to refer friends with a personal code; attribute the orders that use it.

Off unless the shop's review policy turns referrals on. The invitation is a marketing message through
journeys (trigger `referral_invitation`): consent, the contact budget, legal hours and holds apply.
Nothing on the review page mentions it, and the review itself is stored before it is considered: it
never changes what a review gets (coupons stay the same for every honest review, FTC 16 CFR 465.4).
"""

import datetime as dt
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.services.external import message_plan
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, Order, OrderEvent
from reviews.message_values import REFERRAL_TRIGGER, referral_step
from reviews.models import NpsResponse, ReferralInvitation, ReferralReward, Review, ReviewPolicy
from reviews.models.feedback import PROMOTER_MIN

REVIEW_STARS_MIN = 4
# No 0/O, 1/I/L: a code read aloud or typed from a phone screen is typed right.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
Status = ReferralReward.Status


def referral_code_make(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def referral_invite_after_answer(
    *,
    policy: ReviewPolicy,
    customer: Customer,
    reviews: list[Review],
    nps: NpsResponse | None,
    now: dt.datetime | None = None,
) -> ReferralInvitation | None:
    """Invite the customer to refer friends when the shop has referrals on and they are happy: an NPS score of
    9-10 or a review of 4-5 stars among what they just sent. Call it in the submission's transaction.

    Guarantees: at most one invitation per customer, ever (a second happy answer plans nothing); the message is
    planned through journeys as marketing, so a customer without consent or over the contact budget gets none
    (the invitation is kept with the suppressed message, which says why). Returns the invitation, or None.
    """
    if not policy.referrals_enabled or customer is None:
        return None
    promoter = nps if nps is not None and nps.score >= PROMOTER_MIN else None
    happy_review = next((review for review in reviews if review.rating >= REVIEW_STARS_MIN), None)
    if promoter is None and happy_review is None:
        return None
    if ReferralInvitation.objects.filter(shop_id=customer.shop_id, customer=customer).exists():
        return None
    now = now or timezone.now()
    invitation = None
    for _attempt in range(5):  # a code already taken (1 in 887 million per code) is drawn again
        try:
            with transaction.atomic():
                invitation = ReferralInvitation.objects.create(
                    shop_id=customer.shop_id,
                    customer=customer,
                    code=referral_code_make(policy.referral_code_prefix or "FRIEND"),
                    reason=ReferralInvitation.Reason.PROMOTER if promoter else ReferralInvitation.Reason.REVIEW,
                    review=None if promoter else happy_review,
                    nps=promoter,
                    created_at=now,
                )
            break
        except IntegrityError:
            if ReferralInvitation.objects.filter(shop_id=customer.shop_id, customer=customer).exists():
                return None  # invited by a concurrent submission
    if invitation is None:
        return None
    messages = message_plan(
        trigger=REFERRAL_TRIGGER,
        shop=customer.shop,
        customer=customer,
        order=None,
        anchor_at=now,
        step=referral_step(invitation.pk),
        now=now,
    )
    if messages:
        invitation.message = messages[0]
        invitation.save(update_fields=["message", "updated_at"])
    return invitation


# --- orders with a code -------------------------------------------------------------------------------------


def referral_order_attribute(*, order: Order, now: dt.datetime | None = None) -> ReferralReward | None:
    """Attribute `order` to the referrer whose code it carries among its discount codes (case does not matter).

    Guarantees: an order is attributed once (a repeated event records nothing new); a customer using their
    own code earns nothing; a referrer earns one reward per friend, whatever the friend orders later; the
    reward is the one the policy offered when the order arrived. No query for an order without codes.
    """
    if not order.discount_codes:
        return None
    codes = {str(code).strip().upper(): str(code) for code in order.discount_codes if str(code).strip()}
    invitation = (
        ReferralInvitation.objects.filter(shop_id=order.shop_id, code__in=list(codes))
        .select_related("customer")
        .order_by("created_at", "id")
        .first()
    )
    if invitation is None or order.customer_id == invitation.customer_id:
        return None
    if ReferralReward.objects.filter(order=order).exists():
        return None
    if (
        order.customer_id
        and ReferralReward.objects.filter(invitation=invitation, referred_customer_id=order.customer_id).exists()
    ):
        return None
    reward_words = ReviewPolicy.objects.filter(shop_id=order.shop_id).values_list("referral_reward", flat=True).first()
    try:
        with transaction.atomic():
            return ReferralReward.objects.create(
                shop_id=order.shop_id,
                invitation=invitation,
                referrer=invitation.customer,
                order=order,
                referred_customer_id=order.customer_id,
                code=codes[invitation.code],
                reward=reward_words or "",
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None  # attributed by a concurrent delivery of the same order


def _reward_transition(reward: ReferralReward, *, to: str, actor: Actor, note: str = "") -> ReferralReward:
    """Lock the reward, check `ReferralReward.TRANSITIONS`, set the status with who and when."""
    locked = ReferralReward.objects.select_for_update().get(pk=reward.pk)
    if to not in ReferralReward.TRANSITIONS[locked.status]:
        raise InvalidTransition(
            _("The reward for order %(order)s is %(status)s already.")
            % {"order": locked.order, "status": locked.get_status_display().lower()}
        )
    if len(note) > 1000:
        raise ValidationError({"note": _("Keep the note under 1,000 characters.")})
    locked.status = to
    locked.status_changed_at = timezone.now()
    locked.changed_by = actor.user
    locked.note = " ".join(part for part in (locked.note, note.strip() or f"{Status(to).label}: {actor.label}") if part)
    locked.save(update_fields=["status", "status_changed_at", "changed_by", "note", "updated_at"])
    reward.__dict__.update(status=locked.status, status_changed_at=locked.status_changed_at, note=locked.note)
    return locked


@transaction.atomic
def referral_reward_give(*, reward: ReferralReward, actor: Actor, note: str = "") -> ReferralReward:
    """A person gave the referrer their reward. Only a reward still to give can be given, once."""
    return _reward_transition(reward, to=Status.GIVEN, actor=actor, note=note)


@transaction.atomic
def referral_reward_cancel(*, reward: ReferralReward, actor: Actor, note: str = "") -> ReferralReward:
    """The reward is not due (the friend's order was cancelled or refunded, or a person decided so)."""
    return _reward_transition(reward, to=Status.CANCELLED, actor=actor, note=note)


ORDER_STATUSES_ENDING_REWARDS = frozenset({Order.Status.CANCELLED, Order.Status.REFUNDED})


def referral_order_event_handle(order: Order, event: OrderEvent) -> None:
    """Order listener (merchant.order_listeners), in the change's transaction: attribute an order that arrives
    (or is paid) with a referral code; cancel its reward, if not given yet, when it is cancelled or refunded."""
    if event.outcome != OrderEvent.Outcome.APPLIED or not order.discount_codes:
        return
    if event.type in (OrderEvent.Type.CREATED, OrderEvent.Type.PAID):
        referral_order_attribute(order=order, now=event.occurred_at)
    elif event.to_status in ORDER_STATUSES_ENDING_REWARDS:
        reward = ReferralReward.objects.filter(order=order, status=Status.RECORDED).first()
        if reward is not None:
            status = str(dict(Order.Status.choices)[event.to_status]).lower()
            referral_reward_cancel(reward=reward, actor=Actor.system("order"), note=_("The order was %s.") % status)
