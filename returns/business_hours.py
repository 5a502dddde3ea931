"""Business time: when a shop's support team works, and deadlines counted in its working hours.

Opening hours are given per ISO weekday in the shop's time zone (`SupportSettings.business_hours`),
and the shop country's public holidays (the `holidays` package) count as closed when the shop says
so. DST is handled by building each day's intervals as local wall-clock times resolved in the
zone: a day that loses an hour has a shorter interval, never a wrong one.

With no opening hours at all, every hour counts (a shop that answers around the clock).
"""

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

# Far enough to cross any run of closed days (a long holiday season); a calendar open on no day is 24/7.
MAX_DAYS_AHEAD = 400


def _parse_hours(business_hours: dict) -> dict[int, list[tuple[dt.time, dt.time]]]:
    parsed: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for day, spans in (business_hours or {}).items():
        weekday = int(day)
        for start, end in spans:
            opens, closes = dt.time.fromisoformat(start), dt.time.fromisoformat(end)
            if closes == dt.time(0, 0):
                closes = dt.time.max  # "24:00" written as 00:00: open to midnight
            if closes > opens:
                parsed.setdefault(weekday, []).append((opens, closes))
    return {day: sorted(spans) for day, spans in parsed.items()}


def business_hours_validate(business_hours) -> list[str]:
    """What is wrong with an opening-hours value, in words naming the day; [] when it is right."""
    problems = []
    if not isinstance(business_hours, dict):
        return ['Write the hours as {"1": [["09:00", "17:00"]], ...}: ISO weekdays 1 (Monday) to 7 (Sunday).']
    for day, spans in business_hours.items():
        if str(day) not in {str(n) for n in range(1, 8)}:
            problems.append(f"“{day}” is not a weekday: use 1 (Monday) to 7 (Sunday).")
            continue
        if not isinstance(spans, list):
            problems.append(f"Day {day}: give a list of [opens, closes] pairs.")
            continue
        for span in spans:
            try:
                opens, closes = (dt.time.fromisoformat(value) for value in span)
            except (TypeError, ValueError):
                problems.append(f'Day {day}: “{span}” is not a pair of times such as ["09:00", "17:00"].')
                continue
            if closes != dt.time(0, 0) and closes <= opens:
                problems.append(f"Day {day}: {span[0]}–{span[1]} closes before it opens.")
    return problems


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str
    business_hours: dict = field(default_factory=dict)
    holiday_country: str = ""  # ISO country whose public holidays are closed days; "" for none

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def hours(self) -> dict[int, list[tuple[dt.time, dt.time]]]:
        return _parse_hours(self.business_hours)

    @cached_property
    def always_open(self) -> bool:
        return not self.hours

    def _is_holiday(self, day: dt.date) -> bool:
        if not self.holiday_country:
            return False
        return day in _country_holidays(self.holiday_country, day.year)

    def intervals_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The open intervals of a local date, as aware UTC datetimes."""
        if self.always_open:
            start = dt.datetime.combine(day, dt.time(0, 0), self.zone)
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), self.zone)
            return [(start.astimezone(dt.UTC), end.astimezone(dt.UTC))]
        if self._is_holiday(day):
            return []
        spans = []
        for opens, closes in self.hours.get(day.isoweekday(), []):
            start = dt.datetime.combine(day, opens, self.zone).astimezone(dt.UTC)
            if closes == dt.time.max:
                end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), self.zone).astimezone(dt.UTC)
            else:
                end = dt.datetime.combine(day, closes, self.zone).astimezone(dt.UTC)
            if end > start:
                spans.append((start, end))
        return spans

    def _days_from(self, at: dt.datetime):
        day = at.astimezone(self.zone).date() - dt.timedelta(days=1)  # an interval may start the local day before
        for offset in range(MAX_DAYS_AHEAD):
            yield day + dt.timedelta(days=offset)

    def is_open(self, at: dt.datetime) -> bool:
        local_day = at.astimezone(self.zone).date()
        return any(start <= at < end for start, end in self.intervals_on(local_day))

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """`at` itself when open, else when business next opens."""
        for day in self._days_from(at):
            for start, end in self.intervals_on(day):
                if end > at:
                    return max(start, at)
        return at

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment `duration` of business time after `start` (a deadline)."""
        left = duration
        for day in self._days_from(start):
            for opens, closes in self.intervals_on(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                available = closes - begin
                if left <= available:
                    return begin + left
                left -= available
        return start + duration

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time from `start` to `end` (zero when end is not after start)."""
        total = dt.timedelta(0)
        if end <= start:
            return total
        for day in self._days_from(start):
            for opens, closes in self.intervals_on(day):
                if opens >= end:
                    return total
                overlap = min(closes, end) - max(opens, start)
                if overlap > dt.timedelta(0):
                    total += overlap
        return total


_holiday_cache: dict[tuple[str, int], holidays.HolidayBase] = {}


def _country_holidays(country: str, year: int):
    key = (country, year)
    if key not in _holiday_cache:
        try:
            _holiday_cache[key] = holidays.country_holidays(country, years=year)
        except NotImplementedError:  # a country the package does not know: no closed days
            _holiday_cache[key] = {}
    return _holiday_cache[key]


def business_calendar_for(shop, support_settings) -> BusinessCalendar:
    """The calendar a shop's support team works by."""
    return BusinessCalendar(
        time_zone=shop.time_zone,
        business_hours=support_settings.business_hours,
        holiday_country=str(shop.country) if support_settings.closed_on_public_holidays else "",
    )
