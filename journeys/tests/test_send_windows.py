"""Send windows follow the customer's wall clock, including the days clocks jump or repeat an hour."""

import datetime as dt
import functools
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeys.send_windows import SendWindow, window_allows, window_describe, window_next_allowed

DAYTIME = SendWindow(start=dt.time(9), end=dt.time(20))
NIGHT = SendWindow(start=dt.time(22), end=dt.time(6))
MINUTE = dt.timedelta(minutes=1)
HALF_HOUR = dt.timedelta(minutes=30)
FIRST = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
LAST = dt.datetime(2028, 1, 1, tzinfo=dt.UTC)
ZONES = sorted(available_timezones())


def local(zone: str, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(zone))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# -- examples -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        # Seoul has no DST: a late message waits for the morning, an early one for 09:00 the same day.
        ("Asia/Seoul", local("Asia/Seoul", 2026, 5, 4, 23, 10), local("Asia/Seoul", 2026, 5, 5, 9)),
        ("Asia/Seoul", local("Asia/Seoul", 2026, 5, 4, 7), local("Asia/Seoul", 2026, 5, 4, 9)),
        ("Asia/Seoul", local("Asia/Seoul", 2026, 5, 4, 12), local("Asia/Seoul", 2026, 5, 4, 12)),
        ("Asia/Seoul", local("Asia/Seoul", 2026, 5, 4, 20), local("Asia/Seoul", 2026, 5, 5, 9)),  # end is exclusive
        # Kathmandu is +05:45.
        ("Asia/Kathmandu", utc(2026, 1, 15, 2), utc(2026, 1, 15, 3, 15)),
        # Chatham is +12:45 in its winter: 20:45 local waits for 09:00 the next day.
        ("Pacific/Chatham", utc(2026, 7, 1, 8), utc(2026, 7, 1, 20, 15)),
        # Berlin: Saturday evening in winter time, Sunday morning already in summer time.
        ("Europe/Berlin", local("Europe/Berlin", 2026, 3, 28, 21, 30), utc(2026, 3, 29, 7)),
    ],
)
def test_a_message_outside_the_window_moves_to_the_next_local_start(zone, moment, expected):
    assert window_next_allowed(DAYTIME, moment, zone) == expected


def test_an_allowed_moment_is_returned_unchanged_in_utc():
    given_moment = local("Asia/Seoul", 2026, 5, 4, 12, 34, 56)
    result = window_next_allowed(DAYTIME, given_moment, "Asia/Seoul")
    assert result == given_moment
    assert result.tzinfo is dt.UTC


def test_any_hour_allows_every_moment():
    window = SendWindow(start=dt.time(0), end=dt.time(0), any_hour=True)
    moment = local("Europe/Berlin", 2026, 1, 1, 3, 17)
    assert window_allows(window, moment, "Europe/Berlin")
    assert window_next_allowed(window, moment, "Europe/Berlin") == moment


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (local("Europe/Berlin", 2026, 6, 1, 12), local("Europe/Berlin", 2026, 6, 1, 22)),
        (local("Europe/Berlin", 2026, 6, 1, 23), local("Europe/Berlin", 2026, 6, 1, 23)),
        (local("Europe/Berlin", 2026, 6, 1, 5, 59), local("Europe/Berlin", 2026, 6, 1, 5, 59)),
        (local("Europe/Berlin", 2026, 6, 1, 6), local("Europe/Berlin", 2026, 6, 1, 22)),
    ],
)
def test_a_window_crossing_midnight_allows_the_night_only(moment, expected):
    assert window_next_allowed(NIGHT, moment, "Europe/Berlin") == expected


def test_a_start_skipped_by_spring_forward_moves_to_the_end_of_the_gap():
    # Given New York clocks jump from 02:00 EST to 03:00 EDT on 2026-03-08
    window = SendWindow(start=dt.time(2, 30), end=dt.time(20))
    # When a message is planned at 01:00 EST that night
    result = window_next_allowed(window, local("America/New_York", 2026, 3, 8, 1), "America/New_York")
    # Then it goes out at 03:00 EDT, the first instant after the gap
    assert result == utc(2026, 3, 8, 7)
    assert result.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "03:00 EDT"


def test_a_start_repeated_by_fall_back_uses_its_first_occurrence():
    # Given New York clocks go back from 02:00 EDT to 01:00 EST on 2026-11-01, so 01:30 happens twice
    window = SendWindow(start=dt.time(1, 30), end=dt.time(20))
    result = window_next_allowed(window, local("America/New_York", 2026, 11, 1, 0, 10), "America/New_York")
    assert result == utc(2026, 11, 1, 5, 30)
    assert result.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "01:30 EDT"


def test_a_start_repeated_by_fall_back_uses_the_second_occurrence_once_the_first_is_past():
    # Given a window of 01:30-01:45 and a message at 01:50 EDT, between the two 01:30s
    window = SendWindow(start=dt.time(1, 30), end=dt.time(1, 45))
    result = window_next_allowed(window, local("America/New_York", 2026, 11, 1, 1, 50), "America/New_York")
    # Then it waits for the second 01:30, in EST
    assert result == utc(2026, 11, 1, 6, 30)
    assert result.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "01:30 EST"


def test_clocks_going_back_into_the_window_reopen_it_before_the_next_start():
    # Given a window until 01:30 that closed at 01:30 EDT, and clocks going back at 02:00 EDT to 01:00 EST
    window = SendWindow(start=dt.time(8), end=dt.time(1, 30))
    # When a message is planned at 01:45 EDT
    result = window_next_allowed(window, local("America/New_York", 2026, 11, 1, 1, 45), "America/New_York")
    # Then 01:00 EST is inside the window again, long before 08:00
    assert result == utc(2026, 11, 1, 6)
    assert result.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "01:00 EST"


def test_lord_howe_half_hour_spring_forward_moves_a_skipped_start_to_02_30():
    # Lord Howe moves from +10:30 to +11:00 at 02:00 local on 2026-10-04
    window = SendWindow(start=dt.time(2, 15), end=dt.time(20))
    result = window_next_allowed(window, local("Australia/Lord_Howe", 2026, 10, 4, 1), "Australia/Lord_Howe")
    assert result == local("Australia/Lord_Howe", 2026, 10, 4, 2, 30)
    assert result == utc(2026, 10, 3, 15, 30)


def test_lord_howe_half_hour_fall_back_uses_the_first_of_the_repeated_start():
    # Lord Howe moves from +11:00 back to +10:30 at 02:00 local on 2026-04-05: 01:30-02:00 happens twice
    window = SendWindow(start=dt.time(1, 45), end=dt.time(20))
    result = window_next_allowed(window, local("Australia/Lord_Howe", 2026, 4, 5, 1), "Australia/Lord_Howe")
    assert result == utc(2026, 4, 4, 14, 45)


def test_chatham_spring_forward_moves_a_skipped_start_to_03_45():
    # Chatham moves from +12:45 to +13:45 at 02:45 local on 2026-09-27
    window = SendWindow(start=dt.time(3), end=dt.time(20))
    result = window_next_allowed(window, local("Pacific/Chatham", 2026, 9, 27, 1), "Pacific/Chatham")
    assert result == utc(2026, 9, 26, 14)
    assert result.astimezone(ZoneInfo("Pacific/Chatham")).time() == dt.time(3, 45)


def test_window_allows_compares_the_wall_clock_of_the_given_zone():
    moment = utc(2026, 6, 1, 12)  # 21:00 in Seoul, 08:00 in New York, 14:00 in Berlin
    assert not window_allows(DAYTIME, moment, "Asia/Seoul")
    assert not window_allows(DAYTIME, moment, "America/New_York")
    assert window_allows(DAYTIME, moment, "Europe/Berlin")


def test_a_window_needs_distinct_start_and_end_unless_any_hour():
    with pytest.raises(ValueError, match="differ"):
        SendWindow(start=dt.time(9), end=dt.time(9))
    assert SendWindow(start=dt.time(9), end=dt.time(9), any_hour=True).any_hour


def test_a_window_refuses_times_with_a_zone():
    with pytest.raises(ValueError, match="without a zone"):
        SendWindow(start=dt.time(9, tzinfo=dt.UTC), end=dt.time(20))


def test_a_naive_moment_is_refused():
    naive = utc(2026, 6, 1, 12).replace(tzinfo=None)
    with pytest.raises(ValueError, match="aware"):
        window_allows(DAYTIME, naive, "Europe/Berlin")
    with pytest.raises(ValueError, match="aware"):
        window_next_allowed(DAYTIME, naive, "Europe/Berlin")


@pytest.mark.parametrize(
    ("window", "label"),
    [
        (DAYTIME, "09:00–20:00"),
        (NIGHT, "22:00–06:00"),
        (SendWindow(start=dt.time(0), end=dt.time(0), any_hour=True), "any hour"),
    ],
)
def test_window_describe(window, label):
    assert window_describe(window) == label


# -- properties ---------------------------------------------------------------------------------

whole_minutes = st.builds(dt.time, hour=st.integers(0, 23), minute=st.integers(0, 59))
windows = (
    st.tuples(whole_minutes, whole_minutes)
    .filter(lambda times: times[0] != times[1])
    .map(lambda times: SendWindow(start=times[0], end=times[1]))
)
moments = st.integers(0, (LAST - FIRST) // dt.timedelta(microseconds=1) - 1).map(
    lambda micros: FIRST + dt.timedelta(microseconds=micros)
)


def offset_at_minute(zone: ZoneInfo, minutes: int) -> dt.timedelta | None:
    return (FIRST + minutes * MINUTE).astimezone(zone).utcoffset()


@functools.cache
def transitions_2025_2027() -> tuple[tuple[str, dt.datetime], ...]:
    """(zone, instant) for every UTC offset change in 2025-2027, to the minute (all are on whole minutes then)."""
    found = []
    week, last = 7 * 24 * 60, (LAST - FIRST) // MINUTE
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        for before in range(0, last, week):
            after = min(before + week, last)
            if offset_at_minute(zone, before) == offset_at_minute(zone, after):
                continue  # no zone changes its offset twice within a week in these years
            while after - before > 1:
                middle = (before + after) // 2
                if offset_at_minute(zone, middle) == offset_at_minute(zone, after):
                    after = middle
                else:
                    before = middle
            found.append((zone_name, FIRST + after * MINUTE))
    return tuple(found)


@st.composite
def around_a_transition(draw):
    """A zone, a moment within 30 hours of one of its offset changes, and a window opening or closing near it."""
    zone, instant = draw(st.sampled_from(transitions_2025_2027()))
    # Mostly the hours just before the change, where a window start or end inside it matters.
    seconds = draw(st.one_of(st.integers(-6 * 3600, 3600), st.integers(-30 * 3600, 30 * 3600)))
    moment = instant + dt.timedelta(seconds=seconds)
    # Wall times around the skipped (gap) or repeated (fold) stretch of the clock, half of them inside it.
    walls = sorted(
        (instant - moment_offset).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        for moment_offset in (MINUTE, dt.timedelta(0))
    )
    earliest, latest = walls[0] + MINUTE - HALF_HOUR, walls[1] + HALF_HOUR
    near = st.integers(0, (latest - earliest) // MINUTE).map(lambda minutes: (earliest + minutes * MINUTE).time())
    start, end = draw(st.one_of(near, whole_minutes)), draw(st.one_of(near, whole_minutes))
    if start == end:
        end = (dt.datetime.combine(earliest.date(), start) + MINUTE).time()
    return zone, moment, SendWindow(start=start, end=end)


def assert_earliest_allowed(window: SendWindow, moment: dt.datetime, zone: str) -> None:
    result = window_next_allowed(window, moment, zone)
    assert result.tzinfo is dt.UTC
    assert result >= moment
    assert window_allows(window, result, zone)
    if window_allows(window, moment, zone):
        assert result == moment
        return
    # The window opened exactly at result: by the clock reaching start, or by the clock jumping.
    assert not window_allows(window, result - MINUTE, zone)
    result_local = result.astimezone(ZoneInfo(zone))
    clock_jumped = (result - MINUTE).astimezone(ZoneInfo(zone)).utcoffset() != result_local.utcoffset()
    assert result_local.time() == window.start or clock_jumped
    # Nothing earlier is allowed: in these years offsets and transitions fall on whole minutes, so
    # whether an instant is allowed only changes on whole UTC minutes.
    minute = moment.replace(second=0, microsecond=0) + MINUTE
    while minute < result:
        assert not window_allows(window, minute, zone), minute
        minute += MINUTE


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES), moment=moments, window=windows)
def test_next_allowed_is_the_earliest_allowed_instant_in_every_zone(zone, moment, window):
    assert_earliest_allowed(window, moment, zone)


@settings(max_examples=300, deadline=None)
@given(case=around_a_transition())
def test_next_allowed_is_the_earliest_allowed_instant_around_offset_changes(case):
    zone, moment, window = case
    assert_earliest_allowed(window, moment, zone)
