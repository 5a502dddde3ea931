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


def _time(value: str) -> dt.time:
    # "24:00" is how people write "until midnight"; Python's time has no hour 24.
    return dt.time(0, 0) if value in ("24:00", "24:00:00") else dt.time.fromisoformat(value)


def _merged(spans: list[tuple[dt.time, dt.time]]) -> list[tuple[dt.time, dt.time]]:
    """Overlapping or touching spans as one: 09–13 and 12–17 are open 09–17, never 10 hours."""
    merged: list[tuple[dt.time, dt.time]] = []
    for opens, closes in sorted(spans):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _parse_hours(business_hours: dict) -> dict[int, list[tuple[dt.time, dt.time]]]:
    parsed: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for day, spans in (business_hours or {}).items():
        weekday = int(day)
        for start, end in spans:
            opens, closes = _time(start), _time(end)
            if closes == dt.time(0, 0):
                closes = dt.time.max  # "24:00" written as 00:00: open to midnight
            if closes > opens:
                parsed.setdefault(weekday, []).append((opens, closes))
    return {day: _merged(spans) for day, spans in parsed.items()}


def _wall_to_utc(day: dt.date, wall: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time of `day` as UTC. A time the clocks skip (02:30 on the night DST starts) is the
    moment the clocks jump, when the shop's clock first shows a later time; a repeated time is its first pass."""
    naive = dt.datetime.combine(day, wall)
    for minutes in range(0, 24 * 60):
        candidate = (naive + dt.timedelta(minutes=minutes)).replace(tzinfo=zone)
        if candidate.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == candidate.replace(tzinfo=None):
            # Inside a gap (minutes > 0) the first wall time that exists is the end of the gap: the transition.
            return candidate.astimezone(dt.UTC)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


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
                opens, closes = (_time(value) for value in span)
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
            # Midnight too can fall in a gap (zones that change their clocks at 00:00).
            start = _wall_to_utc(day, dt.time(0, 0), self.zone)
            end = _wall_to_utc(day + dt.timedelta(days=1), dt.time(0, 0), self.zone)
            return [(start, end)]
        if self._is_holiday(day):
            return []
        spans = []
        for opens, closes in self.hours.get(day.isoweekday(), []):
            start = _wall_to_utc(day, opens, self.zone)
            if closes == dt.time.max:
                end = _wall_to_utc(day + dt.timedelta(days=1), dt.time(0, 0), self.zone)
            else:
                end = _wall_to_utc(day, closes, self.zone)
            if end > start:
                spans.append((start, end))
        return spans

    def _days_from(self, at: dt.datetime):
        day = at.astimezone(self.zone).date() - dt.timedelta(days=1)  # an interval may start the local day before
        for offset in range(MAX_DAYS_AHEAD):
            yield day + dt.timedelta(days=offset)

    # Arithmetic on an aware datetime of a zone with DST is wall-clock arithmetic (01:30 + 1 h across the
    # spring change is 02:30, which does not exist): every method works in UTC, whatever zone it is given.

    def is_open(self, at: dt.datetime) -> bool:
        at = at.astimezone(dt.UTC)
        local_day = at.astimezone(self.zone).date()
        return any(start <= at < end for start, end in self.intervals_on(local_day))

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """`at` itself when open, else when business next opens."""
        at = at.astimezone(dt.UTC)
        for day in self._days_from(at):
            for start, end in self.intervals_on(day):
                if end > at:
                    return max(start, at)
        return at

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment `duration` of business time after `start` (a deadline), in UTC."""
        start = start.astimezone(dt.UTC)
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
        start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        if end <= start:
            return total
        # Every day up to `end`, however far: a wait of more than MAX_DAYS_AHEAD days counts in full.
        days = (end - start).days + 2
        first = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        for day in (first + dt.timedelta(days=offset) for offset in range(days + 1)):
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
