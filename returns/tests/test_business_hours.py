"""Business time (returns.business_hours): opening hours per weekday in the shop's zone, public holidays closed,
nights and weekends skipped, DST changes counted in real hours, and the value check of the settings form."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from returns.business_hours import BusinessCalendar, business_hours_validate

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = {str(day): [["09:00", "17:00"]] for day in range(1, 6)}


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def calendar() -> BusinessCalendar:
    return BusinessCalendar(time_zone="Europe/Berlin", business_hours=WEEKDAYS, holiday_country="DE")


def test_open_only_within_the_hours_of_a_weekday(calendar):
    assert calendar.is_open(berlin(2026, 6, 10, 9, 0))
    assert calendar.is_open(berlin(2026, 6, 10, 16, 59))
    assert not calendar.is_open(berlin(2026, 6, 10, 17, 0))
    assert not calendar.is_open(berlin(2026, 6, 10, 8, 59))
    assert not calendar.is_open(berlin(2026, 6, 13, 12, 0))  # Saturday


def test_a_deadline_skips_the_night_and_the_weekend(calendar):
    assert calendar.add(berlin(2026, 6, 12, 15, 0), dt.timedelta(hours=4)) == berlin(2026, 6, 15, 11, 0)
    assert calendar.add(berlin(2026, 6, 13, 10, 0), dt.timedelta(hours=1)) == berlin(2026, 6, 15, 10, 0)


def test_public_holidays_of_the_country_are_closed(calendar):
    # 1 May 2026 (Friday) is Labour Day in Germany.
    assert not calendar.is_open(berlin(2026, 5, 1, 12, 0))
    assert calendar.add(berlin(2026, 4, 30, 16, 0), dt.timedelta(hours=2)) == berlin(2026, 5, 4, 10, 0)
    without = BusinessCalendar(time_zone="Europe/Berlin", business_hours=WEEKDAYS)
    assert without.add(berlin(2026, 4, 30, 16, 0), dt.timedelta(hours=2)) == berlin(2026, 5, 1, 10, 0)


def test_between_counts_only_business_time(calendar):
    assert calendar.between(berlin(2026, 6, 12, 16, 0), berlin(2026, 6, 15, 10, 0)) == dt.timedelta(hours=2)
    assert calendar.between(berlin(2026, 6, 15, 10, 0), berlin(2026, 6, 12, 16, 0)) == dt.timedelta(0)
    assert calendar.between(berlin(2026, 6, 13, 1, 0), berlin(2026, 6, 14, 23, 0)) == dt.timedelta(0)


def test_between_counts_a_wait_longer_than_a_year_in_full(calendar):
    # Two years of weekdays: far beyond the look-ahead that bounds `add`.
    waited = calendar.between(berlin(2026, 1, 5, 9, 0), berlin(2028, 1, 3, 9, 0))
    assert waited > dt.timedelta(hours=8 * 400)


def test_next_open(calendar):
    assert calendar.next_open(berlin(2026, 6, 13, 12, 0)) == berlin(2026, 6, 15, 9, 0)
    assert calendar.next_open(berlin(2026, 6, 15, 12, 0)) == berlin(2026, 6, 15, 12, 0)


def test_results_are_in_utc_and_the_same_whatever_zone_the_input_is_in(calendar):
    start = berlin(2026, 6, 12, 15, 0)
    in_utc = calendar.add(start.astimezone(dt.UTC), dt.timedelta(hours=4))
    in_tokyo = calendar.add(start.astimezone(ZoneInfo("Asia/Tokyo")), dt.timedelta(hours=4))
    assert in_utc == in_tokyo == berlin(2026, 6, 15, 11, 0)
    assert in_utc.utcoffset() == dt.timedelta(0)


def test_the_day_clocks_go_forward_has_one_hour_less_when_open_around_it():
    # 29 March 2026: Berlin's clocks jump from 02:00 to 03:00.
    always_sunday = BusinessCalendar(time_zone="Europe/Berlin", business_hours={"7": [["00:00", "24:00"]]})
    assert always_sunday.between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == dt.timedelta(hours=23)
    # Four business hours from 00:30 end at 05:30 on the wall clock: four real hours.
    due = always_sunday.add(berlin(2026, 3, 29, 0, 30), dt.timedelta(hours=4))
    assert due == berlin(2026, 3, 29, 5, 30)
    assert due - berlin(2026, 3, 29, 0, 30) == dt.timedelta(hours=4)


def test_the_day_clocks_go_back_has_one_hour_more_when_open_around_it():
    always_sunday = BusinessCalendar(time_zone="Europe/Berlin", business_hours={"7": [["00:00", "24:00"]]})
    assert always_sunday.between(berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == dt.timedelta(hours=25)


def test_an_opening_time_the_clocks_skip_opens_when_the_clocks_jump():
    # Open 02:30–04:00 on Sundays: on 29 March 02:30 does not exist, so the day is open 03:00–04:00 (one hour).
    night = BusinessCalendar(time_zone="Europe/Berlin", business_hours={"7": [["02:30", "04:00"]]})
    ((opens, closes),) = night.intervals_on(dt.date(2026, 3, 29))
    assert opens == berlin(2026, 3, 29, 3, 0)
    assert closes - opens == dt.timedelta(hours=1)


def test_office_hours_across_a_dst_change_stay_at_the_same_wall_clock_times(calendar):
    # The week after the change: still 09:00–17:00 local, i.e. 07:00–15:00 UTC instead of 08:00–16:00.
    ((opens, closes),) = calendar.intervals_on(dt.date(2026, 3, 30))
    assert (opens.hour, closes.hour) == (7, 15)
    ((opens, closes),) = calendar.intervals_on(dt.date(2026, 3, 27))
    assert (opens.hour, closes.hour) == (8, 16)


def test_overlapping_spans_count_once():
    # 09–13 and 12–17 is open 09–17: eight hours, never nine.
    overlapping = BusinessCalendar(
        time_zone="Europe/Berlin", business_hours={"1": [["12:00", "17:00"], ["09:00", "13:00"]]}
    )
    assert overlapping.between(berlin(2026, 6, 15, 0, 0), berlin(2026, 6, 16, 0, 0)) == dt.timedelta(hours=8)
    assert overlapping.add(berlin(2026, 6, 15, 9, 0), dt.timedelta(hours=8)) == berlin(2026, 6, 15, 17, 0)


def test_split_days_and_midnight_closing():
    split = BusinessCalendar(
        time_zone="Europe/Berlin",
        business_hours={"1": [["09:00", "12:00"], ["13:00", "17:00"]], "2": [["20:00", "24:00"]]},
    )
    assert not split.is_open(berlin(2026, 6, 15, 12, 30))
    assert split.add(berlin(2026, 6, 15, 11, 0), dt.timedelta(hours=2)) == berlin(2026, 6, 15, 14, 0)
    assert split.is_open(berlin(2026, 6, 16, 23, 59))
    assert split.add(berlin(2026, 6, 16, 23, 0), dt.timedelta(hours=2)) == berlin(2026, 6, 22, 10, 0)


def test_no_hours_at_all_means_around_the_clock():
    always = BusinessCalendar(time_zone="Europe/Berlin")
    start = berlin(2026, 6, 13, 3, 0)
    assert always.add(start, dt.timedelta(hours=30)) == start + dt.timedelta(hours=30)
    assert always.is_open(start)


def test_validation_names_the_day_and_the_problem():
    assert business_hours_validate(WEEKDAYS) == []
    assert business_hours_validate({"1": [["09:00", "24:00"]], "7": [["10:00", "00:00"]]}) == []
    assert business_hours_validate([]) != []
    (problem,) = business_hours_validate({"8": [["09:00", "17:00"]]})
    assert "“8” is not a weekday" in problem
    (problem,) = business_hours_validate({"2": [["17:00", "09:00"]]})
    assert problem == "Day 2: 17:00–09:00 closes before it opens."
    (problem,) = business_hours_validate({"3": [["nine", "five"]]})
    assert "Day 3" in problem
    (problem,) = business_hours_validate({"4": "09:00-17:00"})
    assert "Day 4: give a list" in problem
