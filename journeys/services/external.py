"""Planning for other apps: messages of triggers of kind EXTERNAL (journeys.triggers).

An app that decides itself when something is due (reviews: a review request per group of items,
due some days after delivery) plans its message here, inside its own transaction, and the outbox
treats it like any other: the shop's active rules of the trigger give channel, send window and
copy; the class per country, consent, contact budget and holds apply; the dispatcher checks it
again before sending. The calling app names its case in `step` (e.g. "review-42"), which makes
the idempotency key and lets its template links find the case again.
"""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Message
from journeys.services.planning import message_build, messages_insert, rule_matches, rules_active_for
from journeys.triggers import Kind, trigger_get
from merchant.models import Customer, Merchant, Order

Status = Message.Status


def trigger_has_active_rule(*, shop_id: int, trigger: str) -> bool:
    """Whether the shop has an active rule of `trigger`: without one, planning it plans nothing."""
    return bool(rules_active_for(shop_id=shop_id, triggers=[trigger]))


@transaction.atomic
def message_plan(
    *,
    trigger: str,
    shop: Merchant,
    customer: Customer,
    order: Order | None,
    anchor_at: dt.datetime,
    step: str,
    now: dt.datetime | None = None,
    channel: str = "",
) -> list[Message]:
    """Plan the messages of an external trigger for one customer: one per active rule of the shop whose
    conditions hold. `anchor_at` is the moment the rule's delay counts from. `channel`, when given, goes
    first and the rule's other channel is the fallback: an answer on the channel the customer wrote on.

    Guarantees: idempotent (the same trigger, order or customer and step plans nothing twice: the
    rows already planned are returned); a customer who cannot be reached gets a suppressed row
    with the reason, as the planner does; a message already too late when planned is not inserted.
    Returns the saved rows, the first rule's first.
    """
    spec = trigger_get(trigger)
    if spec is None or spec.kind != Kind.EXTERNAL:
        raise ValueError(f"“{trigger}” is not a registered external trigger.")
    if customer.shop_id != shop.pk or (order is not None and order.shop_id != shop.pk):
        raise ValueError("The customer and the order must belong to the shop.")
    rules = rules_active_for(shop_id=shop.pk, triggers=[trigger], customer_id=customer.pk)
    marketing = frozenset(rule.trigger for rule in rules if rule.marketing_in_country)
    if channel:
        for rule in rules:  # rows of this call only: the stored rule is not changed
            rule.fallback_channel = next((other for other in rule.channels if other != channel), "")
            rule.channel = channel
    built = [
        message_build(
            rule=rule,
            spec=spec,
            shop=shop,
            customer=customer,
            order=order,
            anchor_at=anchor_at,
            step=step,
            now=now,
            marketing_triggers=marketing,
        )
        for rule in rules
        if rule_matches(rule=rule, order=order, customer=customer)
    ]
    if not built:
        return []
    messages_insert(built, now=now)
    saved = {message.idem_key: message for message in Message.objects.filter(idem_key__in=[m.idem_key for m in built])}
    return [saved[message.idem_key] for message in built if message.idem_key in saved]


@transaction.atomic
def messages_cancel_for_step(
    *, shop_id: int, triggers: Iterable[str], steps: Iterable[str], words: str, now: dt.datetime | None = None
) -> int:
    """Cancel the scheduled (or paused) messages of `triggers` planned for `steps`, saying why. Returns the count.

    Messages being sent or already sent are left as they are: only what has not gone yet is cancelled.
    """
    now = now or timezone.now()
    open_rows = Message.objects.select_for_update().filter(
        shop_id=shop_id,
        trigger__in=list(triggers),
        step__in=list(steps),
        status__in=[Status.SCHEDULED, Status.PAUSED],
    )
    cancelled = 0
    for message in open_rows:
        message.status = Status.CANCELLED
        message.reason = ""
        message.finished_at = now
        message.explanation = " ".join(part for part in (message.explanation, _("Cancelled: %s") % words) if part)
        message.save(update_fields=["status", "reason", "finished_at", "explanation", "updated_at"])
        cancelled += 1
    return cancelled
