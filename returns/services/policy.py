"""The return policy of a shop: its defaults, checked changes, and the care rules of return messages."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from journeys.models import CareRule
from journeys.services.rules import care_rules_for_triggers_create
from merchant.actors import Actor
from merchant.models import Merchant
from returns.models import RefundMethod, ReturnPolicy, ReturnReason
from returns.triggers.requests import RETURN_TRIGGER_SPECS

EDITABLE_FIELDS = (
    "window_days",
    "non_returnable_categories",
    "auto_approve_max_amount",
    "auto_approve_reasons",
    "review_above_amount",
    "restocking_fee_percent",
    "refund_methods",
    "refund_approval_threshold",
    "return_instructions",
    "instructions_valid_days",
)


def return_policy_get_or_create(*, shop: Merchant) -> ReturnPolicy:
    """The shop's policy, created with the defaults (30 days, both refund methods, no fee) when it has none."""
    policy, _created = ReturnPolicy.objects.get_or_create(shop=shop)
    return policy


def return_policy_check(policy: ReturnPolicy) -> None:
    """Raise ValidationError naming each field with a bad value; tidy the lists (trimmed, no repeats) in place."""
    errors: dict[str, str] = {}
    categories = policy.non_returnable_categories
    if not isinstance(categories, list) or not all(isinstance(category, str) for category in categories):
        errors["non_returnable_categories"] = _("Give a list of category names.")
    else:
        policy.non_returnable_categories = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
        if any(len(category) > 100 for category in policy.non_returnable_categories):
            errors["non_returnable_categories"] = _("A category name has at most 100 characters.")
    reasons = policy.auto_approve_reasons
    known_reasons = set(ReturnReason.values)
    if not isinstance(reasons, list) or not set(reasons) <= known_reasons:
        errors["auto_approve_reasons"] = _("Choose among: %s.") % ", ".join(ReturnReason.values)
    else:
        policy.auto_approve_reasons = [reason for reason in ReturnReason.values if reason in reasons]
    methods = policy.refund_methods
    if not isinstance(methods, list) or not set(methods) <= set(RefundMethod.values):
        errors["refund_methods"] = _("Choose among: %s.") % ", ".join(RefundMethod.values)
    elif not methods:
        errors["refund_methods"] = _("Offer at least one way to refund customers.")
    else:
        policy.refund_methods = [method for method in RefundMethod.values if method in methods]
    if policy.instructions_valid_days is not None and policy.instructions_valid_days < 1:
        errors["instructions_valid_days"] = _("Give at least one day to send the items.")
    if (
        policy.auto_approve_max_amount is not None
        and policy.review_above_amount is not None
        and policy.auto_approve_max_amount > policy.review_above_amount
    ):
        errors["auto_approve_max_amount"] = _(
            "Requests above %(review)s always go to a person, so approving up to %(auto)s by itself cannot happen."
        ) % {"review": policy.review_above_amount, "auto": policy.auto_approve_max_amount}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def return_policy_update(*, policy: ReturnPolicy, actor: Actor, **changes: Any) -> ReturnPolicy:
    """Change a policy. Raises ValidationError naming the field for an unknown setting or a bad value; nothing
    changes then. The EU 14-day floor is not a setting: it applies whatever the window says."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This setting cannot be changed here.") for name in sorted(unknown)})
    locked = ReturnPolicy.objects.select_for_update().get(pk=policy.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
    return_policy_save(policy=locked, actor=actor)
    policy.__dict__.update({name: getattr(locked, name) for name in EDITABLE_FIELDS})
    return locked


def return_policy_save(*, policy: ReturnPolicy, actor: Actor) -> ReturnPolicy:
    """Check and save a policy (the admin's form, `return_policy_update`); a bad value saves nothing."""
    return_policy_check(policy)
    policy.full_clean()
    policy.save()
    return policy


@transaction.atomic
def return_rules_default_create(*, shop: Merchant) -> list[CareRule]:
    """The care rules of return messages with the shipped copy in every language, all on: the customer asked for
    the return and expects to hear about it. Idempotent: a trigger the shop has a rule of keeps that rule as it is."""
    from returns.wiring import requests_wire

    requests_wire()  # normally done at start-up; a test may have taken a trigger out of the registry
    return care_rules_for_triggers_create(shop=shop, specs=RETURN_TRIGGER_SPECS, active=lambda spec: True)


def returns_setup_for_shop(shop: Merchant, *, is_demo: bool = False) -> None:
    """Shop listener (merchant.shop_listeners): a new shop gets its return policy and the rules of return messages."""
    policy = return_policy_get_or_create(shop=shop)
    if is_demo and not policy.return_instructions:
        policy.auto_approve_max_amount = policy.auto_approve_max_amount or 25
        policy.auto_approve_reasons = [ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM]
        policy.restocking_fee_percent = 10
        policy.non_returnable_categories = ["gift cards", "vouchers"]
        policy.return_instructions = (
            "Pack the items with the return number on a note and send them to: Demo Shop Returns, 1 Harbour Road."
        )
        policy.save()
    return_rules_default_create(shop=shop)
