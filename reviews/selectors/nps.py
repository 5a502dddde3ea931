"""The NPS panel: % promoters (9-10) minus % detractors (0-6) per week or month, with counts and comments."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek

from reviews.models import NpsResponse
from reviews.models.feedback import DETRACTOR_MAX, PROMOTER_MIN

PERIODS = {"week": TruncWeek, "month": TruncMonth}


@dataclass(frozen=True)
class NpsFigures:
    start: dt.date | None  # the period's first day; None for a total
    answers: int
    promoters: int
    detractors: int

    @property
    def passives(self) -> int:
        return self.answers - self.promoters - self.detractors

    def _percent(self, count: int) -> float | None:
        return 100.0 * count / self.answers if self.answers else None

    @property
    def promoters_percent(self) -> float | None:
        return self._percent(self.promoters)

    @property
    def passives_percent(self) -> float | None:
        return self._percent(self.passives)

    @property
    def detractors_percent(self) -> float | None:
        return self._percent(self.detractors)

    @property
    def nps(self) -> int | None:
        """-100 to 100, rounded; None without answers."""
        if not self.answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.answers)


def _counts():
    return {
        "answers": Count("id"),
        "promoters": Count("id", filter=Q(score__gte=PROMOTER_MIN)),
        "detractors": Count("id", filter=Q(score__lte=DETRACTOR_MAX)),
    }


def nps_by_period(queryset: QuerySet[NpsResponse], *, period: str, tzinfo: dt.tzinfo) -> list[NpsFigures]:
    """NPS of each week (from Monday) or month that has answers, oldest first, in `tzinfo`'s calendar. 1 query."""
    rows = (
        queryset.order_by()
        .annotate(period=PERIODS[period]("submitted_at", tzinfo=tzinfo))
        .values("period")
        .annotate(**_counts())
        .order_by("period")
    )
    return [
        NpsFigures(
            start=row["period"].astimezone(tzinfo).date() if isinstance(row["period"], dt.datetime) else row["period"],
            answers=row["answers"],
            promoters=row["promoters"],
            detractors=row["detractors"],
        )
        for row in rows
    ]


def nps_total(queryset: QuerySet[NpsResponse]) -> NpsFigures:
    totals = queryset.order_by().aggregate(**_counts())
    return NpsFigures(start=None, **totals)


def nps_comments(queryset: QuerySet[NpsResponse], *, limit: int = 200) -> list[NpsResponse]:
    """The newest answers with a comment, with their customers (1 query)."""
    return list(
        queryset.exclude(comment="").select_related("customer", "shop").order_by("-submitted_at", "-id")[:limit]
    )
