"""Rule performance: what each care rule and each of its template variants did in a period, and what it achieved.

Counted over the messages PLANNED in the period (`Message.created_at`, the moment the planner wrote the
row), in the scope's shops; campaign messages are left out (campaigns have their own progress page). A
variant is the channel and language a message was planned in (journeys.services.content picks the
template by them).

Figures per rule and variant come from one grouped query, answered on PostgreSQL from the index
`journeys_msg_shop_created_idx` alone (an index-only scan: the index holds every column the query reads).

Outcomes (journeys.insight.outcomes) are measured only where a rule kept a holdout group: the two groups
of the same rule, in the same period, with the same share of each kind of customer (drawn at random
before any other check), so their difference is the rule's real effect. The compared group holds every
message of the rule that was not held out, whether it was then sent or not (a reminder cancelled because
the customer paid first counts too), and only messages already due (`not_before` passed) are compared.
One query per outcome, from the partial index `journeys_msg_holdout_idx` alone and a hash join.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.utils import timezone

from journeys.insight.outcomes import OutcomeSpec, rule_outcomes
from journeys.insight.scope import InsightScope
from journeys.insight.stats import Lift, lift_interval
from journeys.models import CareRule, Channel, Message, SmsAccount

Status = Message.Status
Reason = Message.Reason
# Each campaign and holiday greeting has a rule of its own; their performance is on their own pages.
CAMPAIGN_TRIGGERS = ("campaign", "holiday_greeting")
# Why a message was not sent: suppressed, cancelled or expired, by reason ("" for a cancel by a person or an app).
NOT_SENT_STATUSES = (Status.SUPPRESSED, Status.CANCELLED, Status.EXPIRED)
WAITING_STATUSES = (Status.SCHEDULED, Status.SENDING, Status.PAUSED, Status.UNKNOWN)

COUNT_FIELDS = (
    "planned",
    "sent",
    "delivered",
    "clicked",
    "failed",
    "suppressed",
    "held_out",
    "cancelled",
    "expired",
    "waiting",
    "segments",
    "treated_due",
    "holdout_due",
)


@dataclass
class Counts:
    planned: int = 0
    sent: int = 0  # handed to the provider (it may have failed afterwards)
    delivered: int = 0
    clicked: int = 0
    failed: int = 0
    suppressed: int = 0  # not counting the held-out ones
    held_out: int = 0
    cancelled: int = 0
    expired: int = 0
    waiting: int = 0  # scheduled, being sent, paused, or unknown after a crash
    segments: int = 0  # SMS segments of the texts sent
    treated_due: int = 0  # due messages of the group compared with the holdout
    holdout_due: int = 0  # due held-out messages
    not_sent: dict[str, int] = field(default_factory=dict)  # reason -> suppressed, cancelled or expired messages

    def add(self, other: "Counts") -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.not_sent.items():
            self.not_sent[reason] = self.not_sent.get(reason, 0) + count

    @property
    def delivery_rate(self) -> float | None:
        """Delivered of sent (0..1); None before anything was sent."""
        return self.delivered / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        """Clicked of delivered (0..1); None before anything was delivered."""
        return self.clicked / self.delivered if self.delivered else None


@dataclass
class OutcomeFigures:
    spec: OutcomeSpec
    treated: int = 0  # compared messages whose customer did it
    treated_total: int = 0
    holdout: int = 0
    holdout_total: int = 0

    @property
    def treated_rate(self) -> float | None:
        return self.treated / self.treated_total if self.treated_total else None

    @property
    def holdout_rate(self) -> float | None:
        return self.holdout / self.holdout_total if self.holdout_total else None

    @property
    def lift(self) -> Lift | None:
        """Treated rate − holdout rate with its 95% interval; None unless both groups have messages."""
        return lift_interval(self.treated, self.treated_total, self.holdout, self.holdout_total)


@dataclass
class VariantPerformance:
    channel: str
    language: str
    counts: Counts
    outcomes: list[OutcomeFigures]


@dataclass
class RulePerformance:
    rule: CareRule  # with its shop
    counts: Counts
    variants: list[VariantPerformance]
    outcomes: list[OutcomeFigures]  # the outcomes that apply to the rule's trigger
    price_per_segment: Decimal
    currency: str

    @property
    def cost(self) -> Decimal:
        """Estimated cost of the texts sent: segments × the shop's price per segment (email costs nothing here)."""
        return (self.counts.segments * self.price_per_segment).quantize(Decimal("0.01"))


def _message_kinds(messages, now: dt.datetime) -> list[dict]:
    """The messages counted per rule, variant and kind (status, reason, group, sent, clicked, due): one grouped query.

    Grouping by what a message is, instead of one conditional count per column, keeps the work per
    message to one hash lookup; the result has a few rows per variant, which `_counts_add` folds.
    """

    def flag(condition: Q) -> ExpressionWrapper:
        return ExpressionWrapper(condition, output_field=BooleanField())

    return list(
        messages.annotate(
            was_sent=flag(Q(sent_at__isnull=False)),
            was_clicked=flag(Q(clicked_at__isnull=False)),
            is_due=flag(Q(not_before__lte=now)),
        )
        .values("rule_id", "channel", "language", "status", "reason", "holdout", "was_sent", "was_clicked", "is_due")
        # Counting shop_id (never null), not the primary key: every column read is in the index.
        .annotate(count=Count("shop"), segments=Sum("segments"))
        .order_by()
    )


def _counts_add(counts: Counts, kind: dict) -> None:
    """Add one row of `_message_kinds` to the counts of its variant."""
    count, status, reason = kind["count"], kind["status"], kind["reason"]
    counts.planned += count
    if kind["was_sent"]:
        counts.sent += count
        if kind["channel"] == Channel.SMS:
            counts.segments += kind["segments"] or 0
    if kind["was_clicked"]:
        counts.clicked += count
    if status == Status.DELIVERED:
        counts.delivered += count
    elif status == Status.FAILED:
        counts.failed += count
    elif status in WAITING_STATUSES:
        counts.waiting += count
    elif status == Status.SUPPRESSED and reason == Reason.HOLDOUT:
        counts.held_out += count
    elif status in NOT_SENT_STATUSES:
        name = {Status.SUPPRESSED: "suppressed", Status.CANCELLED: "cancelled", Status.EXPIRED: "expired"}[status]
        setattr(counts, name, getattr(counts, name) + count)
        counts.not_sent[reason] = counts.not_sent.get(reason, 0) + count
    if kind["is_due"] and kind["holdout"] is not None:
        if kind["holdout"]:
            counts.holdout_due += count
        else:
            counts.treated_due += count


def _messages_of(scope: InsightScope, rule_id: int | None):
    # Campaign messages are left out by their rules (not among `rules`), not by a filter here: every
    # column the query reads is in the index, so PostgreSQL answers from the index alone.
    messages = Message.objects.filter(
        shop_id__in=scope.shop_ids, created_at__gte=scope.start_at, created_at__lt=scope.end_at, rule__isnull=False
    )
    return messages.filter(rule_id=rule_id) if rule_id is not None else messages


def rule_performance_rules(*, scope: InsightScope) -> dict[int, CareRule]:
    """The care rules of the scope's shops, by id (campaign and greeting rules left out). One query."""
    rules = (
        CareRule.objects.filter(shop_id__in=scope.shop_ids)
        .exclude(trigger__in=CAMPAIGN_TRIGGERS)
        .select_related("shop")
        .only("id", "name", "trigger", "is_active", "holdout_percent", "shop_id", "shop__id", "shop__name")
        .order_by("shop__name", "trigger", "name", "pk")
    )
    return {rule.pk: rule for rule in rules}


def rule_performance_list(
    *,
    scope: InsightScope,
    rules: dict[int, CareRule],
    rule_id: int | None = None,
    now: dt.datetime | None = None,
    with_outcomes: bool = True,
) -> list[RulePerformance]:
    """Per rule (active, or with messages planned in the period) and per variant: counts, cost and outcomes.

    `rules` comes from `rule_performance_rules` (the caller answers 404 for a `rule_id` not among them).
    Queries: one for the counts, one for the SMS prices, one per outcome that has compared messages (none
    with `with_outcomes=False`, which leaves the outcomes out: the lists of outcomes are empty then).
    """
    now = now or timezone.now()
    messages = _messages_of(scope, rule_id)
    by_variant: dict[int, dict[tuple[str, str], Counts]] = defaultdict(dict)
    for kind in _message_kinds(messages, now):
        if kind["rule_id"] not in rules:
            continue  # a campaign's rule, or a message of a rule planned before it became one
        variant = (kind["channel"], kind["language"])
        _counts_add(by_variant[kind["rule_id"]].setdefault(variant, Counts()), kind)

    shown = [
        rule
        for rule in rules.values()
        if (rule_id is None or rule.pk == rule_id) and (rule.is_active or rule.pk in by_variant)
    ]
    outcome_counts = _outcome_counts(messages, shown, by_variant, now) if with_outcomes else {}
    prices = _sms_prices(scope)
    performance = []
    for rule in shown:
        variants = []
        total = Counts()
        applicable = [
            spec
            for spec in (rule_outcomes() if with_outcomes else [])
            if spec.triggers is None or rule.trigger in spec.triggers
        ]
        rule_outcome = {spec.name: OutcomeFigures(spec) for spec in applicable}
        for (channel, language), counts in sorted(by_variant.get(rule.pk, {}).items()):
            total.add(counts)
            outcomes = []
            for spec in applicable:
                done = outcome_counts.get((spec.name, rule.pk, channel, language), {})
                figures = OutcomeFigures(
                    spec,
                    treated=done.get(False, 0),
                    treated_total=counts.treated_due,
                    holdout=done.get(True, 0),
                    holdout_total=counts.holdout_due,
                )
                outcomes.append(figures)
                whole = rule_outcome[spec.name]
                whole.treated += figures.treated
                whole.treated_total += figures.treated_total
                whole.holdout += figures.holdout
                whole.holdout_total += figures.holdout_total
            variants.append(VariantPerformance(channel, language, counts, outcomes))
        price, currency = prices.get(rule.shop_id, _default_price())
        performance.append(RulePerformance(rule, total, variants, list(rule_outcome.values()), price, currency))
    return performance


def _outcome_counts(messages, rules: list[CareRule], by_variant, now: dt.datetime) -> dict[tuple, dict[bool, int]]:
    """(outcome, rule id, channel, language) -> {held out: messages whose customer did it}."""
    compared = {
        rule.pk: rule.trigger
        for rule in rules
        if any(counts.treated_due or counts.holdout_due for counts in by_variant.get(rule.pk, {}).values())
    }
    found: dict[tuple, dict[bool, int]] = {}
    for spec in rule_outcomes():
        rule_ids = [pk for pk, trigger in compared.items() if spec.triggers is None or trigger in spec.triggers]
        if not rule_ids:
            continue  # nothing to compare: no query
        rows = (
            messages.filter(holdout__isnull=False, not_before__lte=now, rule_id__in=rule_ids)
            .filter(spec.exists())
            .values("rule_id", "channel", "language", "holdout")
            .annotate(done=Count("shop"))
            .order_by()
        )
        for row in rows:
            key = (spec.name, row["rule_id"], row["channel"], row["language"])
            found.setdefault(key, {})[row["holdout"]] = row["done"]
    return found


def _default_price() -> tuple[Decimal, str]:
    return Decimal(str(settings.JOURNEYS_SMS_PRICE_PER_SEGMENT)), settings.JOURNEYS_SMS_PRICE_CURRENCY


def _sms_prices(scope: InsightScope) -> dict[int, tuple[Decimal, str]]:
    """Shop id -> (price per SMS segment, currency) of its active SMS account; shops without one use the setting."""
    accounts = (
        SmsAccount.objects.filter(shop_id__in=scope.shop_ids, is_active=True)
        .values_list("shop_id", "price_per_segment", "price_currency")
        .order_by()
    )
    return {shop_id: (price, currency) for shop_id, price, currency in accounts}
