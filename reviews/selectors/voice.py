"""What reviews adds to the "Voice of the customer" page (journeys.insight.voice): 1–2★ reviews and NPS
detractors as complaints about products, the NPS trend and the rating distribution.

Reviews hidden by staff are left out everywhere: they may only be hidden as fake, spam, abusive and the like
(never for being negative, 16 CFR 465), so they are not a customer's voice. Reviews waiting for a person count.
"""

from django.db.models import Count, F, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from journeys.insight.charts import Bar, Series, column_chart, line_chart
from journeys.insight.scope import InsightScope
from journeys.insight.tables import Column, Table
from journeys.insight.voice import (
    SignalSource,
    VoicePanel,
    VoicePanelContent,
    negative_signal_register,
    voice_panel_register,
)
from merchant.formats import date_named
from reviews.models import NpsResponse, Review
from reviews.models.feedback import DETRACTOR_MAX
from reviews.selectors.nps import NpsFigures, nps_by_period

LOW_RATING_MAX = 2
COUNTED_STATUSES = (Review.Status.PENDING, Review.Status.PUBLISHED)
REASON_LENGTH = 60
# Periods up to about a quarter are drawn per week, longer ones per month.
WEEKLY_UP_TO_DAYS = 92


def reviews_in(scope: InsightScope) -> QuerySet[Review]:
    """Reviews written in the scope's period in its shops, hidden ones left out.

    Served by reviews_review_shop_status_idx (shop, status, -submitted_at)."""
    return Review.objects.filter(
        shop_id__in=scope.shop_ids,
        status__in=COUNTED_STATUSES,
        submitted_at__gte=scope.start_at,
        submitted_at__lt=scope.end_at,
    )


def nps_answers_in(scope: InsightScope) -> QuerySet[NpsResponse]:
    """NPS answers given in the scope's period in its shops. Served by reviews_nps_shop_idx (shop, -submitted_at)."""
    return NpsResponse.objects.filter(
        shop_id__in=scope.shop_ids, submitted_at__gte=scope.start_at, submitted_at__lt=scope.end_at
    )


def _clipped(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def low_rating_signals(scope: InsightScope) -> list[tuple[int, str, int]]:
    """(product, reason, reviews) of the 1–2★ reviews of the period; the reason is the stars and the review's
    title, the customer's own summary ("1★: “Fell apart”"). One query."""
    rows = (
        reviews_in(scope)
        .filter(rating__lte=LOW_RATING_MAX, product__isnull=False)
        .order_by()
        .values("product_id", "rating", "title")
        .annotate(count=Count("id"))
    )
    # Translated once per query, not once per row.
    untitled, titled = _("%(stars)d★ review"), _("%(stars)d★: “%(title)s”")
    return [
        (
            row["product_id"],
            titled % {"stars": row["rating"], "title": title}
            if (title := _clipped(row["title"]))
            else untitled % {"stars": row["rating"]},
            row["count"],
        )
        for row in rows
    ]


def detractor_signals(scope: InsightScope) -> list[tuple[int, str, int]]:
    """(product, reason, answers) of the NPS answers of 0–6 given in the period about an order: each product on
    the order gets the answer (the question is about the shop, so an unhappy order speaks for all it held).
    The reason is the customer's comment. One query."""
    rows = (
        nps_answers_in(scope)
        .filter(score__lte=DETRACTOR_MAX, order__isnull=False)
        .order_by()
        .values(product=F("order__lines__product_id"), said=Substr("comment", 1, REASON_LENGTH * 2))
        .annotate(count=Count("id", distinct=True))
    )
    silent, said = _("NPS detractor, no comment"), _("NPS detractor: “%(comment)s”")
    return [
        (
            row["product"],
            said % {"comment": comment} if (comment := _clipped(row["said"] or "")) else silent,
            row["count"],
        )
        for row in rows
    ]


def _period_label(figures: NpsFigures, period: str) -> str:
    return date_named(figures.start, "SHORT_MONTH_DAY_FORMAT" if period == "week" else "SHORT_YEAR_MONTH_FORMAT")


def nps_panel(scope: InsightScope) -> VoicePanelContent:
    """NPS per week (per month for periods longer than a quarter) of the answers given in the period. One query."""
    period = "week" if scope.days <= WEEKLY_UP_TO_DAYS else "month"
    figures = nps_by_period(nps_answers_in(scope), period=period, tzinfo=scope.tzinfo)
    total = NpsFigures(
        start=None,
        answers=sum(row.answers for row in figures),
        promoters=sum(row.promoters for row in figures),
        detractors=sum(row.detractors for row in figures),
    )
    table = Table(
        name="nps_trend",
        title=_("NPS per week") if period == "week" else _("NPS per month"),
        columns=[
            Column("start", _("Week of") if period == "week" else _("Month")),
            Column("answers", _("Answers"), numeric=True),
            Column("promoters", _("Promoters (9–10)"), numeric=True),
            Column("passives", _("Passives (7–8)"), numeric=True),
            Column("detractors", _("Detractors (0–6)"), numeric=True),
            Column("nps", _("NPS"), numeric=True),
        ],
        rows=[
            {
                "start": row.start,
                "answers": row.answers,
                "promoters": row.promoters,
                "passives": row.passives,
                "detractors": row.detractors,
                "nps": row.nps,
            }
            for row in figures
        ],
    )
    chart = (
        line_chart(
            [_period_label(row, period) for row in figures],
            [Series("NPS", [row.nps for row in figures])],
            title=_("NPS per week") if period == "week" else _("NPS per month"),
            minimum=-100,
            maximum=100,
        )
        if figures
        else ""
    )
    return VoicePanelContent(
        headline="—" if total.nps is None else str(total.nps),
        headline_label=_("NPS from %(answers)d answers") % {"answers": total.answers},
        chart=chart,
        table=table,
        note=_("NPS = % promoters (9–10) − % detractors (0–6) of the answers given in the period."),
    )


def rating_panel(scope: InsightScope) -> VoicePanelContent:
    """How many reviews of the period gave each number of stars. One query."""
    found = dict(reviews_in(scope).order_by().values_list("rating").annotate(count=Count("id")))
    counts = {stars: found.get(stars, 0) for stars in range(1, 6)}
    total = sum(counts.values())
    average = sum(stars * count for stars, count in counts.items()) / total if total else None
    tones = {1: "bad", 2: "bad", 3: "muted", 4: "good", 5: "good"}
    table = Table(
        name="rating_distribution",
        title=_("Reviews by stars"),
        columns=[
            Column("stars", _("Stars")),
            Column("reviews", _("Reviews"), numeric=True),
            Column("percent", _("Share"), numeric=True, format="{:.1f}%"),
        ],
        rows=[
            {"stars": stars, "reviews": count, "percent": round(100 * count / total, 1) if total else None}
            for stars, count in sorted(counts.items(), reverse=True)
        ],
    )
    return VoicePanelContent(
        headline="—" if average is None else f"{average:.1f}★",
        headline_label=_("average of %(reviews)d reviews") % {"reviews": total},
        chart=column_chart(
            [Bar(f"{stars}★", count, tone=tones[stars]) for stars, count in counts.items()],
            title=_("Reviews by stars"),
        ),
        table=table,
        note=_("Reviews written in the period; reviews hidden as fake, spam or abusive are not counted."),
    )


def review_voice_register() -> None:
    """Hand the voice-of-the-customer page what only reviews knows. Idempotent."""
    negative_signal_register(
        SignalSource(
            name="low_ratings",
            label=gettext_lazy("1–2★ reviews"),
            weight=3,
            rows=low_rating_signals,
            counts=gettext_lazy("1–2★ reviews"),
            position=10,
        )
    )
    negative_signal_register(
        SignalSource(
            name="detractors",
            label=gettext_lazy("NPS detractors"),
            weight=1,
            rows=detractor_signals,
            counts=gettext_lazy("NPS answers of 0–6 about an order with the product"),
            position=40,
        )
    )
    voice_panel_register(
        VoicePanel(name="nps", title=gettext_lazy("NPS trend"), build=nps_panel, position=10, table="nps_trend")
    )
    voice_panel_register(
        VoicePanel(
            name="ratings",
            title=gettext_lazy("Rating distribution"),
            build=rating_panel,
            position=20,
            table="rating_distribution",
        )
    )
