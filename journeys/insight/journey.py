"""The journey map's figures: the orders placed in a period followed through the post-purchase stages.

The cohort is the orders PLACED in the scope's period in the scope's shops. A stage counts the cohort's
orders that got at least that far along the journey, passing every stage before it (a closed funnel, as
in the usual funnel reports): placed -> paid -> shipped -> delivered -> reviewed -> bought again ->
advocate. Each stage's own evidence is also counted on its own ("reached by any path"), because an
owner also wants the plain repeat rate whether or not the customer wrote a review.

journeys declares the stages it knows from the order itself (placed, paid, shipped, delivered, bought
again); reviews registers "reviewed" and "advocate" with `journey_stage_register` from its AppConfig,
since only it knows reviews and referrals (journeys never imports reviews). Each stage's test is a Q over
Order (an `Exists` correlated on the order's columns where it needs another table), so all stages are
counted in ONE query over the cohort (`journey_figures`).

Rules belong to the stage at which they act on an order (an unpaid reminder to a placed order, a review
request to a delivered one): `journey_trigger_stage_register`. Their messages of the period are counted
per rule in one grouped query (`journey_rule_figures`).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
)
from django.utils.translation import gettext_lazy as _

from journeys.insight.scope import InsightScope
from journeys.models import CareRule, Message
from merchant.models import Order

# "Bought again": the same customer placed another (not cancelled) order within this many days after.
REPEAT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class StageSpec:
    """One stage of the journey.

    `orders_filter()` returns a Q over Order that holds for an order that reached this stage by its own
    evidence, whatever happened before; it may hold `Exists(...)` correlated with `OuterRef("pk")`,
    `OuterRef("customer_id")` or `OuterRef("placed_at")` (the order's columns). It is called per query.
    """

    name: str  # slug used in URLs, e.g. "reviewed"
    label: str  # shown to the owner, e.g. "Reviewed"
    position: int  # order along the journey: placed 10, paid 20, shipped 30, delivered 40, reviewed 50, ...
    description: str  # one plain sentence: what puts an order in this stage
    orders_filter: Callable[[], Q]


_stages: dict[str, StageSpec] = {}
_trigger_stages: dict[str, str] = {}


def journey_stage_register(spec: StageSpec) -> StageSpec:
    """Add a stage; registering the same name again replaces it (app reloads in tests)."""
    _stages[spec.name] = spec
    return spec


def journey_stage_unregister(name: str) -> None:
    _stages.pop(name, None)


def journey_stages() -> list[StageSpec]:
    return sorted(_stages.values(), key=lambda spec: spec.position)


def journey_stage_get(name: str) -> StageSpec | None:
    return _stages.get(name)


def journey_trigger_stage_register(*, trigger: str, stage: str) -> None:
    """Attach the rules of `trigger` to `stage` on the map (the stage at which they act on an order)."""
    _trigger_stages[trigger] = stage


def journey_trigger_stage(trigger: str) -> str | None:
    """The stage a trigger's rules belong to, or None when they act outside the order's journey."""
    return _trigger_stages.get(trigger)


# --- the figures --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFigure:
    stage: StageSpec
    orders: int  # reached this stage and every one before it
    reached: int  # reached this stage by its own evidence, by any path
    dropped: int  # reached the stage before, not this one
    of_previous: float | None  # percent of the stage before; None for the first stage or an empty one before
    of_placed: float | None  # percent of the orders placed; None when none were placed


@dataclass(frozen=True)
class JourneyFigures:
    stages: list[StageFigure]
    placed: int
    cancelled: int  # cohort orders cancelled (before or after payment)
    refunded: int  # cohort orders refunded in part or in whole

    def stage(self, name: str) -> StageFigure | None:
        return next((figure for figure in self.stages if figure.stage.name == name), None)


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def journey_cohort(scope: InsightScope) -> QuerySet[Order]:
    """The orders placed in the period in the scope's shops (index merchant_order_placed_idx: shop, placed_at)."""
    return Order.objects.filter(shop_id__in=scope.shop_ids, placed_at__gte=scope.start_at, placed_at__lt=scope.end_at)


def _funnel_filter(stages: list[StageSpec], upto: int) -> Q:
    """Reached stage number `upto` (0-based) and every stage before it."""
    combined = Q()
    for spec in stages[: upto + 1]:
        combined &= spec.orders_filter()
    return combined


def journey_stage_orders(scope: InsightScope, stage: StageSpec, *, dropped: bool = False) -> QuerySet[Order]:
    """The cohort's orders counted at `stage` on the map; with `dropped`, those that reached the stage before
    it and went no further (exactly the figures `journey_figures` gives as `orders` and `dropped`)."""
    stages = journey_stages()
    index = stages.index(stage)
    cohort = journey_cohort(scope)
    if not dropped:
        return cohort.filter(_funnel_filter(stages, index))
    if index == 0:
        return cohort.none()
    return cohort.filter(_funnel_filter(stages, index - 1)).exclude(stage.orders_filter())


def journey_figures(scope: InsightScope) -> JourneyFigures:
    """Counts per stage for the cohort, in one query.

    The inner query computes each stage's own test once per order (each `Exists` evaluated once per row);
    the outer one sums the funnel (each stage AND the ones before) and each stage on its own. Both filter
    by shop and placed_at first, which the index (shop, placed_at) serves.
    """
    stages = journey_stages()
    flags = {f"stage_{number}": spec.orders_filter() for number, spec in enumerate(stages)}
    inner = (
        journey_cohort(scope)
        .order_by()
        .annotate(
            **{name: ExpressionWrapper(test, output_field=BooleanField()) for name, test in flags.items()},
            was_cancelled=ExpressionWrapper(Q(cancelled_at__isnull=False), output_field=BooleanField()),
            was_refunded=ExpressionWrapper(Q(refunded_at__isnull=False), output_field=BooleanField()),
        )
        .values(*flags, "was_cancelled", "was_refunded")
    )
    sql, params = inner.query.sql_with_params()
    names = list(flags)
    sums = [
        "COUNT(*)",
        "SUM(CASE WHEN was_cancelled THEN 1 ELSE 0 END)",
        "SUM(CASE WHEN was_refunded THEN 1 ELSE 0 END)",
    ]
    for number, name in enumerate(names):
        funnel = " AND ".join(names[: number + 1])
        sums.append(f"SUM(CASE WHEN {funnel} THEN 1 ELSE 0 END)")
        sums.append(f"SUM(CASE WHEN {name} THEN 1 ELSE 0 END)")
    # The OFFSET keeps the database from folding the cohort into the sums, which would evaluate each stage's test
    # (an EXISTS per order) once per sum it appears in instead of once per order; unlike a materialized WITH, the
    # rows go straight into the sums without being stored first. SQLite takes an OFFSET only after a LIMIT.
    fence = "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"
    with connection.cursor() as cursor:
        # Only our own column names and the ORM's SQL with its parameters go into this statement.
        cursor.execute(f"SELECT {', '.join(sums)} FROM ({sql} {fence}) cohort", params)  # noqa: S608
        row = [int(value or 0) for value in cursor.fetchone()]
    placed, cancelled, refunded = row[:3]
    figures, previous = [], None
    for number, spec in enumerate(stages):
        orders, reached = row[3 + 2 * number], row[4 + 2 * number]
        figures.append(
            StageFigure(
                stage=spec,
                orders=orders,
                reached=reached,
                dropped=0 if previous is None else previous - orders,
                of_previous=None if previous is None else percent(orders, previous),
                of_placed=percent(orders, placed),
            )
        )
        previous = orders
    return JourneyFigures(stages=figures, placed=placed, cancelled=cancelled, refunded=refunded)


@dataclass(frozen=True)
class RuleFigure:
    rule_id: int
    name: str
    shop_name: str
    trigger: str
    is_active: bool
    stage: str | None  # the stage's name, None when the trigger is outside the order's journey
    planned: int  # messages the rule planned in the period
    sent: int
    clicked: int

    @property
    def click_rate(self) -> float | None:
        return percent(self.clicked, self.sent)


def journey_rule_figures(scope: InsightScope) -> list[RuleFigure]:
    """The scope's shops' rules with what their messages did in the period. 2 queries.

    A message counts in the period it was PLANNED in (`created_at`), as on the rule performance page, so a
    rule's figures on the map and on its own page agree. The counts come from one grouped query over the
    period's messages, which the index (shop, created_at, rule, ..., sent_at, clicked_at) answers alone.
    """
    counts = {
        row["rule_id"]: row
        for row in Message.objects.filter(
            shop_id__in=scope.shop_ids,
            created_at__gte=scope.start_at,
            created_at__lt=scope.end_at,
            rule_id__isnull=False,
        )
        .values("rule_id")
        .annotate(planned=Count("shop_id"), sent=Count("sent_at"), clicked=Count("clicked_at"))
        .order_by()
    }
    rules = (
        CareRule.objects.filter(shop_id__in=scope.shop_ids)
        .values("pk", "name", "trigger", "is_active", "shop__name")
        .order_by("shop__name", "name", "pk")
    )
    return [
        RuleFigure(
            rule_id=rule["pk"],
            name=rule["name"],
            shop_name=rule["shop__name"],
            trigger=rule["trigger"],
            is_active=rule["is_active"],
            stage=journey_trigger_stage(rule["trigger"]),
            planned=counts.get(rule["pk"], {}).get("planned", 0),
            sent=counts.get(rule["pk"], {}).get("sent", 0),
            clicked=counts.get(rule["pk"], {}).get("clicked", 0),
        )
        for rule in rules
    ]


# --- the stages journeys knows from the order -----------------------------------------------------------------


def _bought_again() -> Q:
    # Read from the order row (kept by the order services), not probed per order: a year of orders at once.
    within = ExpressionWrapper(F("placed_at") + dt.timedelta(days=REPEAT_WINDOW_DAYS), output_field=DateTimeField())
    return Q(customer_id__isnull=False, next_order_placed_at__lte=within)


JOURNEY_STAGES = (
    StageSpec(
        name="placed",
        label=_("Placed"),
        position=10,
        description=_("The customer placed the order."),
        orders_filter=lambda: Q(pk__isnull=False),  # every order of the cohort
    ),
    StageSpec(
        name="paid",
        label=_("Paid"),
        position=20,
        description=_("The payment arrived."),
        orders_filter=lambda: Q(paid_at__isnull=False),
    ),
    StageSpec(
        name="shipped",
        label=_("Shipped"),
        position=30,
        description=_("A parcel left the warehouse."),
        orders_filter=lambda: Q(shipped_at__isnull=False),
    ),
    StageSpec(
        name="delivered",
        label=_("Delivered"),
        position=40,
        description=_("The carrier delivered the whole order."),
        orders_filter=lambda: Q(delivered_at__isnull=False),
    ),
    StageSpec(
        name="bought_again",
        label=_("Bought again"),
        position=60,
        # The window is REPEAT_WINDOW_DAYS, written out so the sentence translates as one.
        description=_("The same customer placed another order within 90 days."),
        orders_filter=_bought_again,
    ),
)

# The order-care rules at the stage where they act; reviews and returns attach theirs from their wiring.
ORDER_CARE_TRIGGER_STAGES = {
    "unpaid_reminder": "placed",
    "payment_confirmed": "paid",
    "shipped": "shipped",
    "late_shipment": "shipped",
    "out_for_delivery": "shipped",
    "stuck_parcel": "shipped",
    "delivered": "delivered",
}


def journey_defaults_register() -> None:
    """Register journeys' own stages and its order-care triggers' stages. Idempotent."""
    for spec in JOURNEY_STAGES:
        journey_stage_register(spec)
    for trigger, stage in ORDER_CARE_TRIGGER_STAGES.items():
        journey_trigger_stage_register(trigger=trigger, stage=stage)
