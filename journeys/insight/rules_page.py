"""The "Rule performance" page of the dashboard: per rule and variant what was sent and what it achieved.

Registered from `JourneysConfig.ready()` as the admin page `insight_rules` (/admin/insight/rules/).
`?rule=<id>` focuses one rule (a rule of a shop the person does not belong to answers 404). Every table
downloads as CSV (`?csv=rules|variants|not_sent|outcomes`).
"""

from functools import cache

from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.insight.charts import Bar, Interval, bar_chart, interval_chart
from journeys.insight.pages import InsightPage, insight_render
from journeys.insight.rules import (
    Counts,
    OutcomeFigures,
    RulePerformance,
    rule_performance_list,
    rule_performance_rules,
)
from journeys.insight.scope import insight_scope_from_request
from journeys.insight.stats import points
from journeys.insight.tables import Column, LazyTable, Table
from journeys.models import Channel, Message
from journeys.triggers import trigger_get
from merchant.models import LANGUAGE_CHOICES

PAGE_NAME = "insight_rules"
LANGUAGES = dict(LANGUAGE_CHOICES)
CHANNELS = dict(Channel.choices)
NOT_SENT_LABELS = {**dict(Message.Reason.choices), "": gettext_lazy("Cancelled (no longer needed)")}


def _count_columns() -> list[Column]:
    return [
        Column("planned", _("Planned"), numeric=True),
        Column("sent", _("Sent"), numeric=True),
        Column("delivered", _("Delivered"), numeric=True),
        Column("delivery_rate", _("Delivered of sent (%)"), numeric=True, format="{:.1f}%"),
        Column("clicked", _("Clicked"), numeric=True),
        Column("click_rate", _("Clicked of delivered (%)"), numeric=True, format="{:.1f}%"),
        Column("failed", _("Failed"), numeric=True),
        Column("suppressed", _("Suppressed"), numeric=True),
        Column("cancelled", _("Cancelled"), numeric=True),
        Column("expired", _("Expired"), numeric=True),
        Column("held_out", _("Held out"), numeric=True),
        Column("waiting", _("Waiting"), numeric=True),
        Column("segments", _("SMS segments"), numeric=True),
    ]


def _percent(rate: float | None) -> float | None:
    # + 0.0 turns a rounded -0.0 into 0.0, which reads as no difference, not as a loss.
    return None if rate is None else round(rate * 100, 1) + 0.0


def _count_cells(counts: Counts) -> dict:
    return {
        "planned": counts.planned,
        "sent": counts.sent,
        "delivered": counts.delivered,
        "delivery_rate": _percent(counts.delivery_rate),
        "clicked": counts.clicked,
        "click_rate": _percent(counts.click_rate),
        "failed": counts.failed,
        "suppressed": counts.suppressed,
        "cancelled": counts.cancelled,
        "expired": counts.expired,
        "held_out": counts.held_out,
        "waiting": counts.waiting,
        "segments": counts.segments,
    }


def _variant_label(channel: str, language: str) -> str:
    return f"{CHANNELS.get(channel, channel)} · {LANGUAGES.get(language, language)}"


def _trigger_label(trigger: str) -> str:
    spec = trigger_get(trigger)
    return str(spec.label) if spec else trigger


def _outcome_row(rule: RulePerformance, variant: str, figures: OutcomeFigures) -> dict:
    lift = figures.lift
    return {
        "rule": rule.rule.name,
        "variant": variant,
        "outcome": str(figures.spec.label),
        "treated_total": figures.treated_total,
        "treated": figures.treated,
        "treated_rate": _percent(figures.treated_rate),
        "holdout_total": figures.holdout_total,
        "holdout": figures.holdout,
        "holdout_rate": _percent(figures.holdout_rate),
        "lift": None if lift is None else _percent(lift.difference),
        "low": None if lift is None else _percent(lift.low),
        "high": None if lift is None else _percent(lift.high),
        "reading": lift.describe() if lift is not None else _("needs messages in both groups"),
    }


# The names of the tables of `rule_performance_tables`, in its order.
RULE_TABLE_NAMES = ("rules", "variants", "not_sent", "outcomes")


def rule_performance_tables(performance: list[RulePerformance], *, focus_url) -> list[Table]:
    """The page's four tables (RULE_TABLE_NAMES): rules, their variants, why messages were not sent, outcomes
    against the holdout."""
    many_shops = len({item.rule.shop_id for item in performance}) > 1
    shop_column = [Column("shop", _("Shop"))] if many_shops else []
    rules_rows, variant_rows, not_sent_rows, outcome_rows = [], [], [], []
    for item in performance:
        rule = item.rule
        rules_rows.append(
            {
                "rule": rule.name,
                "rule_id": rule.pk,
                "url": focus_url(rule.pk),
                "shop": rule.shop.name,
                "trigger": _trigger_label(rule.trigger),
                "holdout_percent": rule.holdout_percent,
                **_count_cells(item.counts),
                "cost": item.cost,
                "currency": item.currency,
            }
        )
        for variant in item.variants:
            label = _variant_label(variant.channel, variant.language)
            variant_rows.append(
                {
                    "rule": rule.name,
                    "rule_id": rule.pk,
                    "channel": CHANNELS.get(variant.channel, variant.channel),
                    "language": LANGUAGES.get(variant.language, variant.language),
                    "label": label,
                    **_count_cells(variant.counts),
                }
            )
            for reason, count in sorted(variant.counts.not_sent.items()):
                not_sent_rows.append(
                    {
                        "rule": rule.name,
                        "channel": CHANNELS.get(variant.channel, variant.channel),
                        "language": LANGUAGES.get(variant.language, variant.language),
                        "reason": str(NOT_SENT_LABELS.get(reason, reason)),
                        "count": count,
                    }
                )
        for index, figures in enumerate(item.outcomes):
            if not (figures.treated_total or figures.holdout_total):
                continue  # the rule kept no holdout group in the period: nothing to compare
            outcome_rows.append(_outcome_row(item, _("All variants"), figures))
            for variant in item.variants:
                outcome_rows.append(
                    _outcome_row(item, _variant_label(variant.channel, variant.language), variant.outcomes[index])
                )
    counts = _count_columns()
    return [
        Table(
            name="rules",
            title=_("Rules"),
            columns=[
                Column("rule", _("Rule")),
                *shop_column,
                Column("trigger", _("Trigger")),
                Column("holdout_percent", _("Holdout (%)"), numeric=True),
                *counts,
                Column("cost", _("Estimated SMS cost"), numeric=True),
                Column("currency", _("Currency")),
            ],
            rows=rules_rows,
            link_key="url",
        ),
        Table(
            name="variants",
            title=_("Template variants"),
            columns=[Column("rule", _("Rule")), Column("channel", _("Channel")), Column("language", _("Language"))]
            + counts,
            rows=variant_rows,
        ),
        Table(
            name="not_sent",
            title=_("Not sent, by reason"),
            columns=[
                Column("rule", _("Rule")),
                Column("channel", _("Channel")),
                Column("language", _("Language")),
                Column("reason", _("Why")),
                Column("count", _("Messages"), numeric=True),
            ],
            rows=not_sent_rows,
            note=_("Suppressed, cancelled and expired messages; held-out ones are counted apart."),
        ),
        Table(
            name="outcomes",
            title=_("Outcomes against the holdout group"),
            columns=[
                Column("rule", _("Rule")),
                Column("variant", _("Variant")),
                Column("outcome", _("Outcome")),
                Column("treated_total", _("Compared group"), numeric=True),
                Column("treated", _("Compared: did it"), numeric=True),
                Column("treated_rate", _("Compared rate (%)"), numeric=True, format="{:.1f}%"),
                Column("holdout_total", _("Holdout group"), numeric=True),
                Column("holdout", _("Holdout: did it"), numeric=True),
                Column("holdout_rate", _("Holdout rate (%)"), numeric=True, format="{:.1f}%"),
                Column("lift", _("Lift (points)"), numeric=True, format="{:+.1f}"),
                Column("low", _("95% CI from"), numeric=True, format="{:+.1f}"),
                Column("high", _("95% CI to"), numeric=True, format="{:+.1f}"),
                Column("reading", _("Reading")),
            ],
            rows=outcome_rows,
            note=_("Only rules that kept a holdout group in the period: the others have nothing to compare with."),
        ),
    ]


def _overview(rules: Table, variants: Table) -> Table:
    """For the page only: each rule's row followed by its variants' rows (the CSVs keep them apart)."""
    by_rule: dict[str, list[dict]] = {}
    for row in variants.rows:
        by_rule.setdefault(row["rule_id"], []).append(row)
    columns = [
        Column("rule", _("Rule and its variants")),
        Column("trigger", _("Trigger")),
        Column("holdout_percent", _("Holdout (%)"), numeric=True),
        *_count_columns(),
        Column("cost", _("Estimated SMS cost"), numeric=True),
    ]
    # A variant's row shows its figures only: its rule's words are on the rule's row above it.
    variant_blanks = {column.key: "" for column in columns[1:] if not column.numeric}
    variant_blanks.update(holdout_percent="", cost="")
    rows = []
    for rule_row in rules.rows:
        shop = rule_row["shop"] if any(column.key == "shop" for column in rules.columns) else ""
        label = f"{rule_row['rule']} ({shop})" if shop else rule_row["rule"]
        cost = f"{rule_row['cost']} {rule_row['currency']}"
        rows.append({**rule_row, "rule": label, "cost": cost, "kind": "rule"})
        rows.extend(
            {
                **variant,
                **variant_blanks,
                "rule": f"↳ {variant['label']}",
                "holdout_percent": "",
                "cost": "",
                "kind": "variant",
            }
            for variant in by_rule.get(rule_row["rule_id"], [])
        )
    return Table(name="overview", title=_("Rules"), columns=columns, rows=rows, link_key="url", row_class_key="kind")


def _charts(performance: list[RulePerformance], *, focus_url) -> dict:
    bars = []
    for item in performance:
        bars.append(Bar(_("%s: sent") % item.rule.name, item.counts.sent, href=focus_url(item.rule.pk)))
        bars.append(Bar(_("clicked"), item.counts.clicked, tone="good", href=focus_url(item.rule.pk)))
    sent = bar_chart(bars, title=_("Messages sent and clicked per rule"), width=760)
    intervals = []
    for item in performance:
        for figures in item.outcomes:
            lift = figures.lift
            if lift is None:
                continue
            tone = "muted" if not lift.distinguishable else ("good" if lift.difference > 0 else "bad")
            intervals.append(
                Interval(
                    f"{item.rule.name} · {figures.spec.label}",
                    lift.difference,
                    lift.low,
                    lift.high,
                    shown=points(lift.difference),
                    tone=tone,
                    href=focus_url(item.rule.pk),
                )
            )
    lift_chart = (
        interval_chart(
            intervals, title=_("Lift against the holdout group, points (95% CI)"), width=860, label_width=320
        )
        if intervals
        else None
    )
    return {"sent_chart": sent if performance else None, "lift_chart": lift_chart}


def _rule_id_from(request) -> int | None:
    raw = request.GET.get("rule")
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise Http404
    return int(raw)


def insight_rules_view(request):
    """The page. Queries: the person's shops, their rules, the counts, the SMS prices, one per outcome compared
    (a CSV of the rules, variants or reasons not sent reads no outcome)."""
    scope, form = insight_scope_from_request(request)
    rule_id = _rule_id_from(request)
    rules = rule_performance_rules(scope=scope) if scope.shop_ids else {}
    if rule_id is not None and rule_id not in rules:
        raise Http404  # another shop's rule, or none: no existence leak
    query = request.GET.copy()
    query.pop("csv", None)
    query.pop("rule", None)
    base = reverse(f"admin:{PAGE_NAME}")

    def focus_url(pk: int) -> str:
        return f"{base}?{urlencode({**query.dict(), 'rule': pk})}"

    # Each outcome costs a query: a CSV of another table goes without them.
    with_outcomes = request.GET.get("csv") in (None, "outcomes")

    @cache
    def reading() -> tuple[list[RulePerformance], list[Table]]:
        performance = (
            rule_performance_list(scope=scope, rules=rules, rule_id=rule_id, with_outcomes=with_outcomes)
            if scope.shop_ids
            else []
        )
        return performance, rule_performance_tables(performance, focus_url=focus_url)

    def context() -> dict:
        performance, tables = reading()
        return {
            "focus": rules.get(rule_id) if rule_id is not None else None,
            "all_rules_url": f"{base}?{query.urlencode()}" if query else base,
            "overview": _overview(tables[0], tables[1]),
            **_charts(performance, focus_url=focus_url),
        }

    return insight_render(
        request,
        page=PAGE_NAME,
        template="admin/insight/rules.html",
        scope=scope,
        form=form,
        tables=[
            LazyTable(name, lambda index=index: reading()[1][index]) for index, name in enumerate(RULE_TABLE_NAMES)
        ],
        context=context,
    )


RULES_PAGE = InsightPage(
    name=PAGE_NAME, title=gettext_lazy("Rule performance"), route="insight/rules/", view=insight_rules_view, position=20
)
