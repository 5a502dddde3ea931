"""What returns adds to the "Voice of the customer" page (journeys.insight.voice): return and dispute reasons as
complaints about products, the dispute win rate and the support queue's SLA attainment."""

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.insight.charts import Bar, bar_chart
from journeys.insight.scope import InsightScope
from journeys.insight.tables import Column, Table
from journeys.insight.voice import (
    SignalSource,
    VoicePanel,
    VoicePanelContent,
    negative_signal_register,
    voice_panel_register,
)
from returns.models import Case, Dispute, ReturnLine, ReturnReason, ReturnRequest

# Every status but cancelled (withdrawn by the customer before anything happened: not a complaint). Listed rather
# than excluded so that returns_request_status_idx (shop, status, created_at) serves the period's range per status.
RETURNS_COUNTED = tuple(status for status in ReturnRequest.Status.values if status != ReturnRequest.Status.CANCELLED)
DECIDED = (Dispute.Status.WON, Dispute.Status.LOST)


def return_signals(scope: InsightScope) -> list[tuple[int, str, int]]:
    """(product, reason, return requests) of the returns asked for in the period: one signal per product per
    request, whatever the quantity (one customer, one voice). A line's own reason, else the request's. One query.

    Served by returns_request_status_idx (shop, status, created_at), then the lines of those requests."""
    rows = (
        ReturnLine.objects.filter(
            return_request__shop_id__in=scope.shop_ids,
            return_request__status__in=RETURNS_COUNTED,
            return_request__created_at__gte=scope.start_at,
            return_request__created_at__lt=scope.end_at,
        )
        .order_by()
        .values(
            product=F("order_line__product_id"),
            why=Coalesce(NullIf("reason", Value("")), F("return_request__reason")),
        )
        .annotate(count=Count("return_request_id", distinct=True))
    )
    # Translated once per reason, not once per row.
    words = {code: _("Return: %(reason)s") % {"reason": label} for code, label in ReturnReason.choices}
    return [(row["product"], words.get(row["why"], row["why"]), row["count"]) for row in rows]


def disputes_opened_in(scope: InsightScope) -> QuerySet[Dispute]:
    """Disputes opened in the period. Served by returns_dispute_opened_idx (shop, opened_at)."""
    return Dispute.objects.filter(shop_id__in=scope.shop_ids, opened_at__gte=scope.start_at, opened_at__lt=scope.end_at)


def dispute_signals(scope: InsightScope) -> list[tuple[int, str, int]]:
    """(product, reason category, disputes) of the disputes opened in the period. A dispute is about a payment,
    that is a whole order: each product on the disputed order gets one signal (not a share), so a dispute over
    a one-item order and one over a three-item order weigh the same on each product. Disputes with no order
    name no product and are not counted. One query."""
    rows = (
        disputes_opened_in(scope)
        .filter(order__isnull=False)
        .order_by()
        .values("reason_category", product=F("order__lines__product_id"))
        .annotate(count=Count("id", distinct=True))
    )
    words = {code: _("Dispute: %(reason)s") % {"reason": label} for code, label in Dispute.ReasonCategory.choices}
    return [(row["product"], words.get(row["reason_category"], row["reason_category"]), row["count"]) for row in rows]


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _shown_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def dispute_win_rate_panel(scope: InsightScope) -> VoicePanelContent:
    """Won / decided (won + lost) of the disputes decided in the period (by `closed_at`), per reason. One query.

    Disputes the shop accepted, settled or that closed as inquiries were never decided by the provider and are
    left out; a lost dispute under appeal waits for its appeal's outcome."""
    rows = list(
        Dispute.objects.filter(
            shop_id__in=scope.shop_ids,
            status__in=DECIDED,
            closed_at__gte=scope.start_at,
            closed_at__lt=scope.end_at,
        )
        .order_by()
        .values("reason_category")
        .annotate(
            won=Count("id", filter=Q(status=Dispute.Status.WON)), lost=Count("id", filter=Q(status=Dispute.Status.LOST))
        )
    )
    labels = dict(Dispute.ReasonCategory.choices)
    table_rows = sorted(
        (
            {
                "reason": str(labels.get(row["reason_category"], row["reason_category"])),
                "won": row["won"],
                "lost": row["lost"],
                "decided": row["won"] + row["lost"],
                "win_rate": _percent(row["won"], row["won"] + row["lost"]),
            }
            for row in rows
        ),
        key=lambda row: (-row["decided"], row["reason"]),
    )
    won, lost = sum(row["won"] for row in table_rows), sum(row["lost"] for row in table_rows)
    total = {
        "reason": _("All reasons"),
        "won": won,
        "lost": lost,
        "decided": won + lost,
        "win_rate": _percent(won, won + lost),
    }
    table = Table(
        name="dispute_win_rate",
        title=_("Disputes decided in the period"),
        columns=[
            Column("reason", _("Reason")),
            Column("won", _("Won"), numeric=True),
            Column("lost", _("Lost"), numeric=True),
            Column("decided", _("Decided"), numeric=True),
            Column("win_rate", _("Win rate"), numeric=True, format="{:.1f}%"),
        ],
        rows=[*table_rows, total] if table_rows else [],
    )
    chart = bar_chart(
        [
            Bar(row["reason"], row["win_rate"] or 0, shown=f"{_shown_percent(row['win_rate'])} ({row['decided']})")
            for row in [total, *table_rows]
        ],
        title=_("Dispute win rate by reason"),
        maximum=100,
    )
    return VoicePanelContent(
        headline=_shown_percent(total["win_rate"]),
        headline_label=_("won of %(decided)d disputes decided") % {"decided": won + lost},
        chart=chart if table_rows else "",
        table=table,
        note=_(
            "Win rate = won ÷ (won + lost), of the disputes decided in the period; accepted or settled ones left out."
        ),
    )


def sla_panel(scope: InsightScope) -> VoicePanelContent:
    """How many of the support queue's SLA clocks that fell due in the period were met. One query.

    A clock is judged at its due time (returns.services.sla): the first response is met when the first reply
    to the customer went out by `first_response_due_at`; the resolution when the case was resolved by
    `resolution_due_at` (which already moved on by the time spent waiting for the customer). Clocks not due yet
    (the period runs to now) and resolution clocks paused while the case waits for the customer are left out.
    """
    start, until = scope.start_at, min(scope.end_at, timezone.now())
    first_due = Q(first_response_due_at__gte=start, first_response_due_at__lt=until)
    resolution_due = Q(resolution_due_at__gte=start, resolution_due_at__lt=until, waiting_since__isnull=True)
    counts = (
        Case.objects.filter(shop_id__in=scope.shop_ids)
        .filter(first_due | resolution_due)
        .aggregate(
            first_due=Count("id", filter=first_due),
            first_met=Count("id", filter=first_due & Q(first_responded_at__lte=F("first_response_due_at"))),
            resolution_due=Count("id", filter=resolution_due),
            resolution_met=Count("id", filter=resolution_due & Q(resolved_at__lte=F("resolution_due_at"))),
        )
    )
    rows = [
        {
            "clock": _("First response"),
            "due": counts["first_due"],
            "met": counts["first_met"],
            "missed": counts["first_due"] - counts["first_met"],
            "attainment": _percent(counts["first_met"], counts["first_due"]),
        },
        {
            "clock": _("Resolution"),
            "due": counts["resolution_due"],
            "met": counts["resolution_met"],
            "missed": counts["resolution_due"] - counts["resolution_met"],
            "attainment": _percent(counts["resolution_met"], counts["resolution_due"]),
        },
    ]
    table = Table(
        name="sla_attainment",
        title=_("SLA attainment"),
        columns=[
            Column("clock", _("Clock")),
            Column("due", _("Fell due"), numeric=True),
            Column("met", _("Met"), numeric=True),
            Column("missed", _("Missed"), numeric=True),
            Column("attainment", _("Attainment"), numeric=True, format="{:.1f}%"),
        ],
        rows=rows,
    )
    chart = bar_chart(
        [
            Bar(
                str(row["clock"]),
                row["attainment"] or 0,
                shown=_shown_percent(row["attainment"]),
                tone="good",
            )
            for row in rows
        ],
        title=_("SLA attainment"),
        maximum=100,
    )
    return VoicePanelContent(
        headline=_shown_percent(rows[0]["attainment"]),
        headline_label=_("first responses on time"),
        chart=chart,
        table=table,
        note=_(
            "Clocks that fell due in the period, counted in business hours as the support queue does: met when "
            "answered or resolved by the due time; resolution clocks paused while waiting for the customer are "
            "left out."
        ),
    )


def returns_voice_register() -> None:
    """Hand the voice-of-the-customer page what only returns knows. Idempotent."""
    negative_signal_register(
        SignalSource(
            name="returns",
            label=gettext_lazy("Returns"),
            weight=2,
            rows=return_signals,
            counts=gettext_lazy("return requests with the product"),
            position=20,
        )
    )
    negative_signal_register(
        SignalSource(
            name="disputes",
            label=gettext_lazy("Disputes"),
            weight=4,
            rows=dispute_signals,
            counts=gettext_lazy("disputes of an order with the product"),
            position=30,
        )
    )
    voice_panel_register(
        VoicePanel(
            name="dispute_win_rate",
            title=gettext_lazy("Dispute win rate"),
            build=dispute_win_rate_panel,
            position=30,
            table="dispute_win_rate",
        )
    )
    voice_panel_register(
        VoicePanel(
            name="sla", title=gettext_lazy("SLA attainment"), build=sla_panel, position=40, table="sla_attainment"
        )
    )
