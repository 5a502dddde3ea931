"""Reads of the greeting calendar: the approved dates with the customers each would greet (the admin's
calendar view), and the owner's review of the next twelve months against the `holidays` package.

Nothing here writes: `journeys.campaigns.greetings` stores what the owner approves.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.campaigns.calendar import (
    FIRST_ORDER_ANNIVERSARY,
    Candidate,
    calendar_candidates,
    calendar_window,
    holiday_name_pick,
    shop_date_names,
)
from journeys.campaigns.models import ApprovedHoliday, HolidayGreeting, ShopDate
from journeys.campaigns.selectors.audiences import audience_customers_q
from merchant.models import Customer, Merchant

# How far a holiday may have moved for the review to call it "moved" rather than "gone".
MOVED_WITHIN = dt.timedelta(days=45)


# --- the approved calendar, per date ------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    holidays: tuple[ApprovedHoliday, ...]
    countries: tuple[str, ...]  # whose holidays they are; empty when one is a shop date (everyone)
    everyone: bool  # a shop date: customers of every country
    customers: int  # customers who would be greeted: in those countries and, with a greeting, in its audience
    greetings: tuple[str, ...] = ()  # names of the shop's active greetings covering one of the holidays


def approved_calendar_list(
    *,
    shop: Merchant,
    start: dt.date,
    end: dt.date | None = None,
    greeting: HolidayGreeting | None = None,
    now: dt.datetime | None = None,
) -> list[CalendarDay]:
    """Per approved date in [start, end) (default twelve months): its holidays, countries, and how many
    customers would be greeted. With `greeting`: only its holidays, counted within its audience.

    Three queries whatever the number of dates: the approved rows, the active greetings, and one
    COUNT per distinct set of countries, all in a single aggregate statement.
    """
    now = now or timezone.now()
    end = end or calendar_window(start)[1]
    rows = ApprovedHoliday.objects.filter(shop=shop, date__gte=start, date__lt=end).order_by("date", "country", "key")
    if greeting is not None:
        rows = rows.filter(key__in=[key for key in greeting.holiday_keys if key != FIRST_ORDER_ANNIVERSARY])
    by_date: dict[dt.date, list[ApprovedHoliday]] = defaultdict(list)
    for row in rows:
        by_date[row.date].append(row)
    greetings = list(
        HolidayGreeting.objects.filter(shop=shop, is_active=True).order_by("name").values_list("name", "holiday_keys")
    )
    country_sets: dict[tuple[str, ...] | None, str] = {}
    for day_rows in by_date.values():
        country_sets.setdefault(_country_set(day_rows), f"n{len(country_sets)}")
    customers = Customer.objects.filter(shop=shop)
    if greeting is not None:
        customers = customers.filter(audience_customers_q(greeting.audience, now=now, shop=shop))
    counts = (
        customers.aggregate(
            **{
                alias: Count("pk") if codes is None else Count("pk", filter=Q(country__in=codes))
                for codes, alias in country_sets.items()
            }
        )
        if country_sets
        else {}
    )
    days = []
    for date, day_rows in sorted(by_date.items()):
        codes = _country_set(day_rows)
        keys = {row.key for row in day_rows}
        days.append(
            CalendarDay(
                date=date,
                holidays=tuple(day_rows),
                countries=tuple(sorted({str(row.country) for row in day_rows if row.country})),
                everyone=codes is None,
                customers=counts.get(country_sets[codes]) or 0,
                greetings=tuple(name for name, greeting_keys in greetings if keys & set(greeting_keys)),
            )
        )
    return days


def _country_set(rows: list[ApprovedHoliday]) -> tuple[str, ...] | None:
    """The countries whose customers the day's holidays greet; None when one of them greets everyone."""
    if any(not row.country for row in rows):
        return None
    return tuple(sorted({str(row.country) for row in rows}))


# --- the owner's review ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    """A candidate of the next twelve months and, when approved, the stored row."""

    candidate: Candidate
    approved: ApprovedHoliday | None = None

    @property
    def is_approved(self) -> bool:
        return self.approved is not None or self.candidate.every_day


@dataclass(frozen=True)
class CalendarDifference:
    """An approved date the calendar now describes otherwise. Greetings keep the approved date and names."""

    MOVED = "moved"
    RENAMED = "renamed"
    GONE = "gone"

    kind: str
    approved: ApprovedHoliday
    now: Candidate | None  # what the package (or the shop date) says today; None when gone

    @property
    def description(self) -> str:
        name = self.approved.names.get("en") or holiday_name_pick(self.approved.names, language="en")
        where = self.approved.subdivision or str(self.approved.country) or _("all countries")
        when = f"{self.approved.date:%Y-%m-%d}"
        if self.kind == self.MOVED:
            return _("%(name)s (%(where)s) is approved on %(when)s; the calendar now says %(now)s.") % {
                "name": name,
                "where": where,
                "when": when,
                "now": f"{self.now.date:%Y-%m-%d}",
            }
        if self.kind == self.RENAMED:
            return _("%(name)s (%(where)s) on %(when)s is now called “%(now)s”; the approved name stays.") % {
                "name": name,
                "where": where,
                "when": when,
                "now": self.now.name,
            }
        return _("%(name)s (%(where)s) on %(when)s is no longer in the calendar; it is still approved.") % {
            "name": name,
            "where": where,
            "when": when,
        }


@dataclass(frozen=True)
class CalendarReview:
    start: dt.date
    end: dt.date  # exclusive
    rows: list[ReviewRow]
    differences: list[CalendarDifference]
    unsupported_countries: tuple[str, ...] = ()


def _renamed(approved: ApprovedHoliday, candidate: Candidate) -> bool:
    return any(
        approved.names.get(language) and approved.names[language] != name for language, name in candidate.names.items()
    )


def calendar_review(shop: Merchant, *, start: dt.date, subdivisions: Iterable[str] = ()) -> CalendarReview:
    """The next twelve months from `start` for the owner to approve: every candidate with its approved row
    (if any), and each approved date the calendar now disagrees with (moved, renamed or gone).

    Writes nothing. A difference never changes a greeting: the approved date and names stand until
    the owner withdraws them and approves the new ones.
    """
    start, end = calendar_window(start)
    # A little wider than the window, so a holiday that moved across its edge is "moved", not "gone".
    found = calendar_candidates(
        shop=shop, start=start - MOVED_WITHIN, end=end + MOVED_WITHIN, subdivisions=subdivisions
    )
    approved = list(ApprovedHoliday.objects.filter(shop=shop, date__gte=start, date__lt=end).order_by("date", "pk"))
    by_slot = {(str(row.country), row.subdivision, row.key, row.date): row for row in approved}
    candidate_slots = {(*candidate.identity, candidate.date) for candidate in found.candidates}
    rows = [
        ReviewRow(candidate, by_slot.get((*candidate.identity, candidate.date)))
        for candidate in found.candidates
        if start <= candidate.date < end or candidate.every_day
    ]
    differences = []
    for row in approved:
        slot = (str(row.country), row.subdivision, row.key, row.date)
        if slot in candidate_slots:
            candidate = next(c for c in found.candidates if (*c.identity, c.date) == slot)
            if _renamed(row, candidate):
                differences.append(CalendarDifference(CalendarDifference.RENAMED, row, candidate))
            continue
        identity = slot[:3]
        moved = [
            candidate
            for candidate in found.candidates
            if candidate.identity == identity
            and abs(candidate.date - row.date) <= MOVED_WITHIN
            and (*identity, candidate.date) not in by_slot
        ]
        if moved:
            nearest = min(moved, key=lambda candidate: abs(candidate.date - row.date))
            differences.append(CalendarDifference(CalendarDifference.MOVED, row, nearest))
            continue
        # Same day, same country, another key: the package renamed the holiday (its key follows the name).
        same_day = [
            candidate
            for candidate in found.candidates
            if (candidate.country, candidate.subdivision, candidate.date) == (slot[0], slot[1], row.date)
            and candidate.source == row.source
            and (*candidate.identity, candidate.date) not in by_slot
        ]
        if same_day:
            differences.append(CalendarDifference(CalendarDifference.RENAMED, row, same_day[0]))
        else:
            differences.append(CalendarDifference(CalendarDifference.GONE, row, None))
    return CalendarReview(start, end, rows, differences, found.unsupported_countries)


# --- what greetings pick, and when they go out ------------------------------------------------------


@dataclass(frozen=True)
class HolidayChoice:
    """A holiday a greeting may pick: a key of the approved calendar, with its names and countries."""

    shop_id: int
    key: str
    names: dict[str, str]  # language -> name, merged over the countries' approved rows
    countries: tuple[str, ...]  # empty: a shop date (every country)
    next_date: dt.date | None  # the next approved date on or after today; None when only past ones are approved

    @property
    def name(self) -> str:
        return holiday_name_pick(self.names, language="en") or self.key


def approved_holiday_choices(*, shop_ids: Iterable[int], today: dt.date) -> list[HolidayChoice]:
    """Every holiday key the shops approved, by next date (the first-order anniversary, where the shop has it,
    first). Two queries."""
    shop_ids = list(shop_ids)
    found: dict[tuple[int, str], dict] = {}
    for shop_id, key, date, country, names in (
        ApprovedHoliday.objects.filter(shop_id__in=shop_ids)
        .order_by("date", "country", "pk")
        .values_list("shop_id", "key", "date", "country", "names")
    ):
        entry = found.setdefault((shop_id, key), {"names": {}, "countries": set(), "next": None})
        for language, name in (names or {}).items():
            entry["names"].setdefault(language, name)
        if country:
            entry["countries"].add(str(country))
        if entry["next"] is None and date >= today:
            entry["next"] = date
    choices = [
        HolidayChoice(
            shop_id=shop_id,
            key=FIRST_ORDER_ANNIVERSARY,
            names=shop_date_names(shop_date, shop_date.shop),
            countries=(),
            next_date=today,
        )
        for shop_id, shop_date in {
            shop_date.shop_id: shop_date
            for shop_date in ShopDate.objects.filter(shop_id__in=shop_ids, kind=FIRST_ORDER_ANNIVERSARY)
            .select_related("shop")
            .order_by("-pk")
        }.items()
    ]
    choices += [
        HolidayChoice(
            shop_id=shop_id,
            key=key,
            names=entry["names"],
            countries=tuple(sorted(entry["countries"])),
            next_date=entry["next"],
        )
        for (shop_id, key), entry in found.items()
    ]
    return sorted(choices, key=lambda c: (c.key != FIRST_ORDER_ANNIVERSARY, c.next_date or dt.date.max, c.key))


@dataclass(frozen=True)
class GreetingDate:
    """One date a greeting goes out: its local send date (the holiday's, less the lead days) and the holiday."""

    send_on: dt.date
    holiday_date: dt.date
    key: str
    name: str
    countries: tuple[str, ...]  # empty: every country (a shop date)


def greeting_next_dates(
    greetings: Iterable[HolidayGreeting], *, today: dt.date, limit: int = 3
) -> dict[int, list[GreetingDate]]:
    """The next `limit` dates each greeting goes out (from the approved calendar; send date today or later).

    One query for any number of greetings. The first-order anniversary goes out every day: listed
    as today's date. An inactive greeting's dates are listed too: they are what it would send.
    """
    greetings = list(greetings)
    keys = {key for greeting in greetings for key in greeting.holiday_keys}
    shop_ids = {greeting.shop_id for greeting in greetings}
    by_key: dict[tuple[int, str], dict[dt.date, dict]] = defaultdict(dict)
    if greetings:
        for shop_id, key, date, country, names in (
            ApprovedHoliday.objects.filter(shop_id__in=shop_ids, key__in=keys, date__gte=today)
            .order_by("date", "country", "pk")
            .values_list("shop_id", "key", "date", "country", "names")
        ):
            entry = by_key[(shop_id, key)].setdefault(date, {"names": names, "countries": set()})
            if country:
                entry["countries"].add(str(country))
    result: dict[int, list[GreetingDate]] = {}
    for greeting in greetings:
        lead = dt.timedelta(days=greeting.lead_days)
        dates = []
        for key in greeting.holiday_keys:
            if key == FIRST_ORDER_ANNIVERSARY:
                dates.append(GreetingDate(today, today + lead, key, _("First-order anniversary (every day)"), ()))
                continue
            for date, entry in by_key.get((greeting.shop_id, key), {}).items():
                if date - lead >= today:
                    name = holiday_name_pick(entry["names"], language="en") or key
                    dates.append(GreetingDate(date - lead, date, key, name, tuple(sorted(entry["countries"]))))
        result[greeting.pk] = sorted(dates, key=lambda d: (d.send_on, d.key))[:limit]
    return result
