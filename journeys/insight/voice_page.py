"""The "Voice of the customer" page: the products customers complain about most, and shop-wide panels.

What the figures are made of comes from the apps that own the data (journeys.insight.voice); this page
ranks, draws and exports them.
"""

from dataclasses import replace
from functools import cache

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.insight.charts import BarPair, bar_pair_chart
from journeys.insight.pages import InsightPage, insight_render
from journeys.insight.scope import InsightScope, insight_scope_from_request
from journeys.insight.tables import Column, LazyTable, Table
from journeys.insight.voice import (
    MIN_UNITS,
    ProductVoice,
    SignalSource,
    VoicePanel,
    VoicePanelContent,
    negative_signal_sources,
    product_voice_list,
    voice_panels,
)

PAGE_NAME = "insight_voice"
TOP_PRODUCTS = 20  # rows shown; the CSV has every product
CHART_PRODUCTS = 10


def trend_words(voice: ProductVoice) -> str:
    """ "▲ 50%" (worse), "▼ 20%" (better), "=" or "new": this period's rate against the period before."""
    change = voice.change_percent
    if change is None:
        return _("new") if voice.score else "="
    if round(change) == 0:
        return "="
    return f"{'▲' if change > 0 else '▼'}\N{NO-BREAK SPACE}{abs(change):.0f}%"  # kept on one line in a narrow column


def ranking_table(voices: list[ProductVoice], sources: list[SignalSource]) -> Table:
    columns = [
        Column("product", _("Product")),
        Column("per_100_units", _("Score per 100 units"), numeric=True, format="{:.1f}"),
        Column("score", _("Score"), numeric=True),
        *[Column(source.name, str(source.label), numeric=True) for source in sources],
        Column("units", _("Units sold"), numeric=True),
        Column("previous_per_100_units", _("Period before, per 100 units"), numeric=True, format="{:.1f}"),
        Column("trend", _("Trend")),
        Column("reasons", _("Top reasons")),
    ]
    rows = [
        {
            "product": voice.title,
            "per_100_units": round(voice.per_100_units, 2),
            "score": voice.score,
            **{source.name: voice.counts.get(source.name, 0) for source in sources},
            "units": voice.units,
            "previous_per_100_units": round(voice.previous_per_100_units, 2),
            "trend": trend_words(voice),
            "reasons": "; ".join(f"{reason} ({count})" for reason, count in voice.reasons),
            "product_id": voice.product_id,  # not a column: for the link of a row shown
        }
        for voice in voices
    ]
    return Table(name="products", title=_("Products by negative signals"), columns=columns, rows=rows, link_key="href")


def with_product_links(table: Table, *, limit: int) -> Table:
    """The first `limit` rows of `table`, each linked to its product's admin page (only those shown need a link)."""
    return replace(
        table,
        rows=[
            {**row, "href": reverse("admin:merchant_product_change", args=[row["product_id"]])}
            for row in table.rows[:limit]
        ],
    )


def weights_note(sources: list[SignalSource], scope: InsightScope) -> str:
    parts = [f"{source.weight} × {source.counts or source.label}" for source in sources]
    return _(
        "Score = %(parts)s. Ranked by score per 100 units sold in the period (a product that sold fewer than "
        "%(units)d units counts as %(units)d). Trend: against the %(days)d days before."
    ) % {"parts": " + ".join(parts), "units": MIN_UNITS, "days": scope.days}


def voice_view(request):
    """The page. Each table is read when first needed: `?csv=products` reads the ranking only, the CSV of a
    panel's table that panel only."""
    scope, form = insight_scope_from_request(request)
    sources = negative_signal_sources()

    @cache
    def voices() -> list[ProductVoice]:
        return product_voice_list(scope) if scope.shop_ids else []

    @cache
    def ranking() -> Table:
        return ranking_table(voices(), sources)

    @cache
    def panel_content(panel: VoicePanel) -> VoicePanelContent:
        return panel.build(scope)

    shown_panels = voice_panels() if scope.shop_ids else []

    def context() -> dict:
        chart = bar_pair_chart(
            [
                BarPair(
                    voice.title,
                    before=voice.previous_per_100_units,
                    after=voice.per_100_units,
                    shown=f"{voice.per_100_units:.1f} ({trend_words(voice)})",
                    tone="bad" if voice.per_100_units > voice.previous_per_100_units else "",
                )
                for voice in voices()[:CHART_PRODUCTS]
            ],
            title=_("Score per 100 units sold: this period and the period before"),
            before_label=_("Period before"),
            after_label=_("This period (red: worse than before)"),
        )
        return {
            # The same name as the ranking's table: its CSV link serves every row.
            "ranking": with_product_links(ranking(), limit=TOP_PRODUCTS),
            "ranking_total": len(ranking().rows),
            "ranking_chart": chart if voices() else "",
            "weights_note": weights_note(sources, scope),
            "panels": [(panel, panel_content(panel)) for panel in shown_panels],
        }

    tables: list[Table | LazyTable] = [LazyTable("products", ranking)]
    for panel in shown_panels:
        if panel.table:
            tables.append(LazyTable(panel.table, lambda panel=panel: panel_content(panel).table))
        elif (content := panel_content(panel)).table is not None:
            tables.append(content.table)  # a panel that does not name its table is built to find it
    return insight_render(
        request,
        page=PAGE_NAME,
        template="admin/insight/voice.html",
        scope=scope,
        form=form,
        tables=tables,
        context=context,
    )


VOICE_PAGE = InsightPage(
    name=PAGE_NAME, title=gettext_lazy("Voice of the customer"), route="insight/voice/", view=voice_view, position=30
)
