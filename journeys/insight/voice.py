"""Voice of the customer: products ranked by what unhappy customers said about them, and shop-wide panels.

journeys knows orders and products, not reviews, returns or disputes. The apps that own those register
here from their `AppConfig.ready()` (DESIGN.md §2):

- a **negative signal source** (`negative_signal_register`) counts, per product and reason, the complaints of
  one kind in a period (a 1–2★ review, a returned item, a dispute, an NPS detractor), in one grouped query;
- a **panel** (`voice_panel_register`) draws one shop-wide figure (NPS trend, rating distribution, dispute
  win rate, SLA attainment) from the data its app owns.

The ranking is deliberately simple so an owner can check it by hand: each signal scores its source's weight,
a product's score is the sum, and products are ranked by score per 100 units sold in the same period (at least
`MIN_UNITS` units are counted, so one bad review of a product that sold twice does not top the list).
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils.safestring import SafeString

from journeys.insight.scope import InsightScope
from journeys.insight.tables import Table
from merchant.models import Order, OrderLine, Product

# Products that sold fewer units in the period are counted as having sold this many.
MIN_UNITS = 10
TOP_REASONS = 3
# Orders that count as sold: paid at some point and not cancelled.
NOT_SOLD = (Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED)

SignalRows = Iterable[tuple[int, str, int]]


@dataclass(frozen=True)
class SignalSource:
    """One kind of complaint about products, provided by the app that owns it.

    `rows(scope)` answers (product id, reason, count) for the scope's shops and period, in one grouped query
    (GROUP BY product, reason); `reason` is what the owner reads, e.g. "Return: Too small".
    """

    name: str  # key of its column and CSV field, e.g. "returns"
    label: str  # its column's title, e.g. "Returns"
    weight: int  # points one signal adds to a product's score
    rows: Callable[[InsightScope], SignalRows]
    counts: str = ""  # what one signal is, shown with the weights, e.g. "a returned item"
    position: int = 0  # order of the columns


@dataclass(frozen=True)
class VoicePanelContent:
    headline: str = ""  # the panel's one figure, e.g. "42"
    headline_label: str = ""  # what it is, e.g. "NPS from 57 answers"
    chart: SafeString | str = ""  # server-side SVG (journeys.insight.charts)
    table: Table | None = None  # downloadable as CSV from the page; its name must be unique on the page
    note: str = ""  # how the figure is counted


@dataclass(frozen=True)
class VoicePanel:
    """A shop-wide figure of the page; `build(scope)` reads it in a query or two."""

    name: str
    title: str
    build: Callable[[InsightScope], VoicePanelContent]
    position: int = 0
    # The name of the table its content carries (VoicePanelContent.table), "" for none: the page's
    # `?csv=<table>` builds only the panel that has it.
    table: str = ""


_sources: dict[str, SignalSource] = {}
_panels: dict[str, VoicePanel] = {}


def negative_signal_register(source: SignalSource) -> SignalSource:
    """Count `source` in the ranking; registering the same name again replaces it."""
    _sources[source.name] = source
    return source


def negative_signal_unregister(name: str) -> None:
    _sources.pop(name, None)


def negative_signal_sources() -> list[SignalSource]:
    return sorted(_sources.values(), key=lambda source: (source.position, source.name))


def voice_panel_register(panel: VoicePanel) -> VoicePanel:
    """Show `panel` on the page; registering the same name again replaces it."""
    _panels[panel.name] = panel
    return panel


def voice_panel_unregister(name: str) -> None:
    _panels.pop(name, None)


def voice_panels() -> list[VoicePanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.position, panel.name))


@dataclass
class ProductVoice:
    """One product's complaints in the period and the period before, with its units sold in each."""

    product_id: int
    title: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # source name -> signals this period
    previous_counts: dict[str, int] = field(default_factory=dict)
    score: int = 0
    previous_score: int = 0
    units: int = 0
    previous_units: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)  # the most frequent first, at most TOP_REASONS

    @property
    def per_100_units(self) -> float:
        return 100 * self.score / max(self.units, MIN_UNITS)

    @property
    def previous_per_100_units(self) -> float:
        return 100 * self.previous_score / max(self.previous_units, MIN_UNITS)

    @property
    def change_percent(self) -> float | None:
        """How much the rate moved against the period before, in %; None when there was nothing before."""
        before = self.previous_per_100_units
        return None if not before else 100 * (self.per_100_units - before) / before


def _signals(scope: InsightScope, sources: list[SignalSource]):
    """{product id: {source name: signals}} and {product id: Counter of reasons}: one query per source."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    reasons: dict[int, Counter] = defaultdict(Counter)
    for source in sources:
        for product_id, reason, count in source.rows(scope):
            if product_id is None or not count:
                continue
            counts[product_id][source.name] = counts[product_id].get(source.name, 0) + count
            reasons[product_id][reason] += count
    return counts, reasons


def _units_sold(scope: InsightScope) -> dict[int, tuple[int, int]]:
    """{product id: (units this period, units the period before)} of every product sold in either, by the orders
    placed in each: one query. (Not narrowed to the ranked products: a list of ids as long as the catalogue costs
    more to match per line than the few extra groups it saves.)

    Served by merchant_order_placed_idx (shop, -placed_at): the orders of both periods, then their lines."""
    previous = scope.previous()
    rows = (
        OrderLine.objects.filter(
            order__shop_id__in=scope.shop_ids,
            order__placed_at__gte=previous.start_at,
            order__placed_at__lt=scope.end_at,
        )
        .exclude(order__status__in=NOT_SOLD)
        .order_by()
        .values("product_id")
        .annotate(
            units=Sum("quantity", filter=Q(order__placed_at__gte=scope.start_at)),
            previous_units=Sum("quantity", filter=Q(order__placed_at__lt=scope.start_at)),
        )
    )
    return {row["product_id"]: (row["units"] or 0, row["previous_units"] or 0) for row in rows}


def product_voice_list(scope: InsightScope) -> list[ProductVoice]:
    """Every product of the scope's shops with a complaint in the period, the worst (per 100 units) first.

    Queries: one per source and period, one for the units sold in both periods, one for the titles."""
    sources = negative_signal_sources()
    weights = {source.name: source.weight for source in sources}
    counts, reasons = _signals(scope, sources)
    previous_counts, _previous_reasons = _signals(scope.previous(), sources)
    if not counts:
        return []
    product_ids = sorted(counts)
    titles = dict(Product.objects.filter(pk__in=product_ids, shop_id__in=scope.shop_ids).values_list("pk", "title"))
    units = _units_sold(scope)
    found = []
    for product_id in product_ids:
        if product_id not in titles:  # a product of another shop: a source that forgot the tenancy filter
            continue
        voice = ProductVoice(
            product_id=product_id,
            title=titles[product_id],
            counts=counts[product_id],
            previous_counts=previous_counts.get(product_id, {}),
        )
        voice.score = sum(weights[name] * count for name, count in voice.counts.items())
        voice.previous_score = sum(weights[name] * count for name, count in voice.previous_counts.items())
        voice.units, voice.previous_units = units.get(product_id, (0, 0))
        # Most frequent first; equal counts in the reason's alphabetical order, so the list is stable.
        voice.reasons = sorted(reasons[product_id].items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS]
        found.append(voice)
    found.sort(key=lambda voice: (-voice.per_100_units, -voice.score, voice.title, voice.product_id))
    return found
