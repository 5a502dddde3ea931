"""The journey map (the admin's landing page) and the list of orders behind each of its stages."""

from functools import cache
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.insight.charts import FlowStage, flow_chart
from journeys.insight.journey import (
    REPEAT_WINDOW_DAYS,
    JourneyFigures,
    RuleFigure,
    journey_cohort,
    journey_figures,
    journey_rule_figures,
    journey_stage_get,
    journey_stage_orders,
    journey_stages,
    percent,
)
from journeys.insight.pages import insight_render
from journeys.insight.rules import CAMPAIGN_TRIGGERS
from journeys.insight.scope import InsightScope, insight_scope_from_request
from journeys.insight.tables import Column, LazyTable, Table

PAGE = "insight_journey"
ORDERS_PER_PAGE = 50
# What happened to some orders besides the journey, each listed like a stage.
OUTCOMES = {
    "cancelled": (gettext_lazy("Cancelled"), lambda: Q(cancelled_at__isnull=False)),
    "refunded": (gettext_lazy("Refunded in part or in whole"), lambda: Q(refunded_at__isnull=False)),
}


def _filter_query(request, scope: InsightScope, **extra) -> str:
    """The page's filter with the period written out, so a link lists exactly the orders counted here."""
    query = {"start": scope.start.isoformat(), "end": scope.end.isoformat()}
    if request.GET.get("shop"):
        query["shop"] = request.GET["shop"]
    query.update({key: value for key, value in extra.items() if value})
    return urlencode(query)


def _stage_url(request, scope: InsightScope, name: str, **extra) -> str:
    return f"{reverse('admin:insight_journey_stage', args=[name])}?{_filter_query(request, scope, **extra)}"


def _rule_url(request, scope: InsightScope, rule: RuleFigure) -> str:
    """The rule's performance page (journeys.insight rules page) when there is one, else the rule itself.

    Campaign and greeting rules are not on the performance page (they have their own progress pages): a link
    there would answer 404, so they open the rule itself."""
    if rule.trigger in CAMPAIGN_TRIGGERS:
        return reverse("admin:journeys_carerule_change", args=[rule.rule_id])
    try:
        return f"{reverse('admin:insight_rules')}?{_filter_query(request, scope, rule=str(rule.rule_id))}"
    except NoReverseMatch:
        return reverse("admin:journeys_carerule_change", args=[rule.rule_id])


def _shops_named(form, scope: InsightScope) -> str:
    names = {value: str(label) for value, label in form.fields["shop"].choices if value}
    if len(scope.shop_ids) == 1:
        return names.get(scope.shop_ids[0], "")
    return _("all your %(count)d shops") % {"count": len(scope.shop_ids)}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%" if value >= 10 or value == 0 else f"{value:.1f}%"


def _headline(figures: JourneyFigures) -> list[dict]:
    tiles = [{"label": _("Orders placed"), "value": f"{figures.placed:,}", "base": _("in the period")}]
    for name, label, base, figure_of in (
        ("paid", _("Paid"), _("of orders placed"), lambda f: f.of_placed),
        ("delivered", _("Delivered"), _("of orders placed"), lambda f: f.of_placed),
        ("reviewed", _("Reviewed"), _("of delivered orders"), lambda f: f.of_previous),
    ):
        figure = figures.stage(name)
        if figure is not None:
            tiles.append(
                {"label": label, "value": _percent(figure_of(figure)), "base": base, "hint": figure.stage.description}
            )
    again = figures.stage("bought_again")
    if again is not None:
        tiles.append(
            {
                "label": _("Bought again"),
                "value": _percent(percent(again.reached, figures.placed)),
                "base": _("came back within %(days)d days") % {"days": REPEAT_WINDOW_DAYS},
                "hint": again.stage.description,
            }
        )
    return tiles


def _rules_by_stage(rules: list[RuleFigure]) -> dict[str, list[RuleFigure]]:
    grouped: dict[str, list[RuleFigure]] = {}
    for rule in rules:
        grouped.setdefault(rule.stage or "", []).append(rule)
    return grouped


def _rule_notes(rules: list[RuleFigure]) -> list[str]:
    active = [rule for rule in rules if rule.is_active or rule.planned]
    if not active:
        return [_("no rules")]
    sent = sum(rule.sent for rule in active)
    clicked = sum(rule.clicked for rule in active)
    count = len(active)
    rules_words = _("1 rule") if count == 1 else _("%(count)d rules") % {"count": count}
    # Outside the f-string, where makemessages finds the words to translate.
    sent_words = _("%(sent)s sent") % {"sent": f"{sent:,}"}
    return [
        f"{rules_words} · {sent_words}",
        _("%(clicked)s clicked") % {"clicked": f"{clicked:,}"},
    ]


def _stage_table(request, scope: InsightScope, figures: JourneyFigures) -> Table:
    return Table(
        name="stages",
        title=_("Stages"),
        columns=[
            Column("stage", _("Stage")),
            Column("orders", _("Orders"), numeric=True),
            # The labels below hold a percent sign, not a format: translators write it as they like.
            # xgettext:no-python-format
            Column("of_previous", _("% of the stage before"), numeric=True, format="{:.1f}%"),
            # xgettext:no-python-format
            Column("of_placed", _("% of orders placed"), numeric=True, format="{:.1f}%"),
            Column("dropped", _("Stopped before it"), numeric=True),
            Column("reached", _("Reached by any path"), numeric=True),
        ],
        rows=[
            {
                "stage": str(figure.stage.label),
                "orders": figure.orders,
                "of_previous": figure.of_previous,
                "of_placed": figure.of_placed,
                "dropped": figure.dropped if index else None,
                "reached": figure.reached,
                "url": _stage_url(request, scope, figure.stage.name),
            }
            for index, figure in enumerate(figures.stages)
        ],
        link_key="url",
    )


def _rule_table(request, scope: InsightScope, rules: list[RuleFigure]) -> Table:
    stage_labels = {spec.name: str(spec.label) for spec in journey_stages()}
    positions = {spec.name: spec.position for spec in journey_stages()}
    several_shops = len(scope.shop_ids) > 1
    ordered_rules = sorted(rules, key=lambda rule: (positions.get(rule.stage or "", 10_000), rule.shop_name, rule.name))
    rule_columns = [Column("rule", _("Rule"))]
    if several_shops:
        rule_columns.append(Column("shop", _("Shop")))
    rule_columns += [
        Column("stage", _("Stage")),
        Column("active", _("On")),
        Column("planned", _("Planned"), numeric=True),
        Column("sent", _("Sent"), numeric=True),
        Column("clicked", _("Clicked"), numeric=True),
        # xgettext:no-python-format
        Column("click_rate", _("Clicked, % of sent"), numeric=True, format="{:.1f}%"),
    ]
    return Table(
        name="rules",
        title=_("Rules at each stage"),
        columns=rule_columns,
        rows=[
            {
                "rule": rule.name,
                "shop": rule.shop_name,
                "stage": stage_labels.get(rule.stage or "", _("Outside the journey")),
                "active": _("yes") if rule.is_active else _("no"),
                "planned": rule.planned,
                "sent": rule.sent,
                "clicked": rule.clicked,
                "click_rate": rule.click_rate,
                "url": _rule_url(request, scope, rule),
            }
            for rule in ordered_rules
        ],
        link_key="url",
        note=_("Messages count in the period they were planned in, as on the rule performance page."),
    )


def journey_map_view(request):
    """The map. Each figure is read when first needed: `?csv=stages` reads the stages only, `?csv=rules` the
    rules only, the page both, once."""
    scope, form = insight_scope_from_request(request)

    @cache
    def figures() -> JourneyFigures:
        return journey_figures(scope) if scope.shop_ids else JourneyFigures([], 0, 0, 0)

    @cache
    def rules() -> list[RuleFigure]:
        return journey_rule_figures(scope) if scope.shop_ids else []

    def context() -> dict:
        by_stage = _rules_by_stage(rules())
        flow = flow_chart(
            [
                FlowStage(
                    label=str(figure.stage.label),
                    value=figure.orders,
                    shown=f"{figure.orders:,}",
                    conversion=_percent(figure.of_previous) if index else "",
                    dropped=f"−{figure.dropped:,}" if figure.dropped else "",
                    notes=_rule_notes(by_stage.get(figure.stage.name, [])),
                    description=str(figure.stage.description),
                    href=_stage_url(request, scope, figure.stage.name),
                )
                for index, figure in enumerate(figures().stages)
            ],
            title=_("The journey of the orders placed in the period"),
            maximum=figures().placed,
        )
        return {
            "figures": figures(),
            "flow": flow,
            "headline": _headline(figures()),
            "shops_named": _shops_named(form, scope) if scope.shop_ids else "",
            "legend": [(str(figure.stage.label), str(figure.stage.description)) for figure in figures().stages],
            "cancelled_url": _stage_url(request, scope, "cancelled"),
            "refunded_url": _stage_url(request, scope, "refunded"),
            "app_list": _available_apps(request),
        }

    return insight_render(
        request,
        page=PAGE,
        template="admin/insight/journey.html",
        scope=scope,
        form=form,
        tables=[
            LazyTable("stages", lambda: _stage_table(request, scope, figures())),
            LazyTable("rules", lambda: _rule_table(request, scope, rules())),
        ],
        context=context,
    )


def _available_apps(request) -> list:
    from django.contrib import admin

    return admin.site.get_app_list(request)


def journey_stage_orders_view(request, stage: str):
    """The orders behind one stage of the map (`?stopped=1`: those that stopped just before it), or behind a
    drop-off (cancelled, refunded), with the map's filter; paginated, the CSV carries them all."""
    scope, form = insight_scope_from_request(request)
    spec = journey_stage_get(stage)
    stopped = request.GET.get("stopped") == "1"
    if spec is not None:
        orders = journey_stage_orders(scope, spec, dropped=stopped)
        heading = (_("Orders that stopped before “%(stage)s”") if stopped else _("Orders that reached “%(stage)s”")) % {
            "stage": spec.label
        }
        explanation = spec.description
    elif stage in OUTCOMES:
        label, outcome_filter = OUTCOMES[stage]
        orders = journey_cohort(scope).filter(outcome_filter())
        heading, explanation = _("Orders: %(outcome)s") % {"outcome": label}, ""
    else:
        raise Http404
    orders = orders.select_related("customer", "shop").order_by("-placed_at", "-pk")
    columns = [
        Column("number", _("Order")),
        Column("customer", _("Customer")),
        Column("shop", _("Shop")),
        Column("placed_at", _("Placed")),
        Column("status", _("Status")),
        Column("total", _("Total"), numeric=True),
    ]

    def rows(chunk) -> list[dict]:
        return [
            {
                "number": order.number,
                "customer": str(order.customer or ""),
                "shop": order.shop.name,
                "placed_at": formats.date_format(order.placed_at.astimezone(scope.tzinfo), "SHORT_DATETIME_FORMAT"),
                "status": order.get_status_display(),
                "total": f"{order.total} {order.currency}",
                "url": reverse("admin:merchant_order_change", args=[order.pk]),
            }
            for order in chunk
        ]

    page = None
    if request.GET.get("csv") == "orders":
        table_rows = rows(orders.iterator(chunk_size=2000))
    else:
        page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
        table_rows = rows(page.object_list)
    if len(scope.shop_ids) == 1:
        columns = [column for column in columns if column.key != "shop"]
    table = Table(name="orders", title=heading, columns=columns, rows=table_rows, link_key="url")
    return insight_render(
        request,
        page=PAGE,
        template="admin/insight/journey_orders.html",
        scope=scope,
        form=form,
        tables=[table],
        context={
            "title": heading,
            "explanation": explanation,
            "page_obj": page,
            "stopped": stopped,
            "stage_name": stage,
            "map_url": f"{reverse('admin:insight_journey')}?{_filter_query(request, scope)}",
            "page_query": _filter_query(request, scope, stopped="1" if stopped else ""),
        },
    )
