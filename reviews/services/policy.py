"""The review-request policy of a shop: its defaults, the rules that send requests, and audited changes."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from journeys.models import CareRule
from journeys.services.rules import care_rules_for_triggers_create
from merchant.actors import Actor
from merchant.models import Merchant
from reviews.models import ReviewDelay, ReviewPolicy, ReviewPolicyChange
from reviews.triggers import ACTIVE_WHEN_CREATED, REVIEW_TRIGGER_SPECS, review_triggers_register

# Changes to these are kept (ReviewPolicyChange): they show that no incentive ever depended on a rating, and
# when referrals and the survey frequency changed.
AUDITED_FIELDS = (
    "default_delay_days",
    "customer_cap_days",
    "product_cap_days",
    "reminder_count",
    "reminder_after_days",
    "link_valid_days",
    "attention_hours",
    "coupon_code",
    "coupon_description",
    "nps_interval_days",
    "referrals_enabled",
    "referral_code_prefix",
    "referral_friend_offer",
    "referral_reward",
)


def review_policy_get_or_create(*, shop: Merchant) -> ReviewPolicy:
    """The shop's policy, created with the defaults when it has none yet."""
    policy, _created = ReviewPolicy.objects.get_or_create(shop=shop)
    return policy


@transaction.atomic
def review_rules_default_create(*, shop: Merchant, is_active: bool = False) -> list[CareRule]:
    """The care rules of reviews' messages, with the shipped copy in every language.

    Requests and reminders are off until the owner turns them on (on in the demo shop); follow-ups (sent only
    when a person writes one) and referral invitations (sent only when the policy turns referrals on) are on.
    Idempotent: a trigger the shop has a rule of keeps that rule as it is.
    """
    review_triggers_register()  # normally done at start-up; a test may have taken a trigger out of the registry
    return care_rules_for_triggers_create(
        shop=shop, specs=REVIEW_TRIGGER_SPECS, active=lambda spec: is_active or spec.name in ACTIVE_WHEN_CREATED
    )


# The demo shop shows timing per product type: an experience is judged the next day, an appliance after a month.
DEMO_CATEGORY_DELAYS = {"experience": 1, "food": 3, "electronics": 14, "home_appliance": 30}


def review_setup_for_shop(shop: Merchant, *, is_demo: bool = False) -> None:
    """Shop listener (merchant.shop_listeners): a new shop gets its policy and its review rules (on in the demo)."""
    policy = review_policy_get_or_create(shop=shop)
    review_rules_default_create(shop=shop, is_active=is_demo)
    if is_demo:
        for category, days in DEMO_CATEGORY_DELAYS.items():
            ReviewDelay.objects.get_or_create(
                policy=policy, category=category, product=None, defaults={"delay_days": days}
            )


def _shown(value: Any) -> str:
    return "" if value is None else str(value)[:300]


@transaction.atomic
def review_policy_update(*, policy: ReviewPolicy, actor: Actor, **changes: Any) -> ReviewPolicy:
    """Change a policy; each changed setting is recorded with who changed it and when.

    Raises ValidationError naming the field for an unknown setting or a bad value; nothing changes then.
    """
    unknown = set(changes) - set(AUDITED_FIELDS)
    if unknown:
        raise ValidationError({name: _("This setting cannot be changed here.") for name in sorted(unknown)})
    locked = ReviewPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {name: getattr(locked, name) for name in AUDITED_FIELDS}
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.coupon_code = locked.coupon_code.strip()
    if locked.coupon_description and not locked.coupon_code:
        raise ValidationError({"coupon_code": _("Give the code the description is about, or clear the description.")})
    locked.full_clean()
    locked.save()
    review_policy_changes_record(policy=locked, before=before, actor=actor)
    policy.__dict__.update({name: getattr(locked, name) for name in AUDITED_FIELDS})
    return locked


def review_policy_changes_record(*, policy: ReviewPolicy, before: dict[str, Any], actor: Actor) -> int:
    """Record each audited setting that differs from `before` (the admin saves the form, then calls this)."""
    rows = [
        ReviewPolicyChange(
            policy=policy,
            field=name,
            old_value=_shown(old),
            new_value=_shown(getattr(policy, name)),
            actor_label=actor.label[:200],
            actor_user=actor.user,
        )
        for name, old in before.items()
        if old != getattr(policy, name)
    ]
    ReviewPolicyChange.objects.bulk_create(rows)
    return len(rows)


def review_delay_save(*, delay: ReviewDelay) -> ReviewDelay:
    """Save a per-product or per-category delay; a product of another shop is refused."""
    if delay.product_id and delay.product.shop_id != delay.policy.shop_id:
        raise ValidationError({"product": _("The product belongs to another shop.")})
    delay.category = delay.category.strip()
    delay.full_clean()
    delay.save()
    return delay
