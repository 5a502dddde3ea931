"""Send windows: the local hours in which a customer may receive a message (quiet hours outside).

Everything is decided on the customer's local wall clock in an IANA zone, so daylight saving time
is handled by `zoneinfo`, never by fixed offsets. A window is allowed-or-not per instant; the next
allowed instant is found from a handful of candidate instants around the moment (window starts,
the end of a DST gap that swallowed a start, the end of a DST fold that repeats in-window hours),
never by stepping through time.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

_RESOLUTION = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class SendWindow:
    """Local wall-clock hours [start, end) in which sending is allowed.

    start > end crosses midnight (22:00–06:00 allows the night). any_hour allows every instant and
    ignores start and end (transactional messages may choose it).
    """

    start: dt.time
    end: dt.time
    any_hour: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            # The zone comes from the customer; an offset here would mean two zones at once.
            raise ValueError("A send window's start and end are local wall times without a zone.")
        if not self.any_hour and _wall(self.start) == _wall(self.end):
            raise ValueError("A send window needs start and end to differ; use any_hour for all day.")


def window_describe(window: SendWindow) -> str:
    """A short label such as "09:00–20:00", "22:00–06:00" or "any hour"."""
    if window.any_hour:
        return "any hour"
    return f"{_clock(window.start)}–{_clock(window.end)}"


def window_allows(window: SendWindow, moment: dt.datetime, time_zone: str) -> bool:
    """Whether the aware `moment` (any zone) falls inside the window on the wall clock of `time_zone`.

    Raises ValueError for a naive moment and ZoneInfoNotFoundError for an unknown zone.
    """
    _require_aware(moment)
    if window.any_hour:
        return True
    return _time_allowed(window, moment.astimezone(ZoneInfo(time_zone)).time())


def window_next_allowed(window: SendWindow, moment: dt.datetime, time_zone: str) -> dt.datetime:
    """The earliest instant >= moment that the window allows, as an aware UTC datetime.

    Guarantees: the moment itself (in UTC) when it is allowed; otherwise the instant the window
    next opens: the next local start; the end of the DST gap when the start does not exist that
    day (02:30 on a spring-forward night gives 03:00); the earlier of the two instants when the
    start exists twice (fall-back fold) unless that one is already past; and the fold's end when
    clocks going back reopen the window before its next start. Works for every IANA zone.
    """
    _require_aware(moment)
    utc_moment = moment.astimezone(dt.UTC)
    if window_allows(window, utc_moment, time_zone):
        return utc_moment
    zone = ZoneInfo(time_zone)
    local_day = utc_moment.astimezone(zone).date()
    best: dt.datetime | None = None
    # The previous day counts for folds reaching back across midnight; the next day always opens
    # unless a gap swallows the whole window. Further days only for zones that skipped whole days.
    for day_offset in range(-1, 8):
        day = local_day + dt.timedelta(days=day_offset)
        for candidate in _openings(window, day, zone):
            if (
                candidate >= utc_moment
                and (best is None or candidate < best)
                and window_allows(window, candidate, time_zone)
            ):
                best = candidate
        if best is not None and day_offset >= 1:
            return best
    raise RuntimeError(f"No instant in {time_zone} within a week is inside {window_describe(window)}.")


def _openings(window: SendWindow, day: dt.date, zone: ZoneInfo) -> list[dt.datetime]:
    """UTC instants on local `day` at which the window may open; callers keep the allowed ones.

    A window opens when the wall clock reaches start, when a spring-forward gap jumps over start
    (at the gap's end), or when a fall-back fold sets the clock back from after end to before it
    (at the fold's end: end exists twice that day).
    """
    start_kind, start_instants = _resolve(dt.datetime.combine(day, window.start), zone)
    openings = [_transition(zone, *start_instants)] if start_kind == "gap" else list(start_instants)
    end_kind, end_instants = _resolve(dt.datetime.combine(day, window.end), zone)
    if end_kind == "fold":
        openings.append(_transition(zone, *end_instants))
    return openings


def _resolve(wall: dt.datetime, zone: ZoneInfo) -> tuple[str, tuple[dt.datetime, ...]]:
    """Classify naive local `wall` as "single", "fold" (two instants) or "gap" (none), with UTC instants.

    For "fold" the instants are (first, second) occurrence; for "gap" they bracket the transition:
    a wall time that does not exist changes when converted to UTC and back.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    if first == second:
        return "single", (first,)
    if first.astimezone(zone).replace(tzinfo=None, fold=0) != wall:
        return "gap", (second, first)  # in a gap fold=1 maps earlier: it uses the offset after the gap
    return "fold", (first, second)


def _transition(zone: ZoneInfo, before: dt.datetime, after: dt.datetime) -> dt.datetime:
    """The first instant in (before, after] already on after's UTC offset.

    Bisection over an interval no longer than one DST shift, with a single offset change inside.
    """
    target = after.astimezone(zone).utcoffset()
    while after - before > _RESOLUTION:
        middle = before + (after - before) // 2
        if middle.astimezone(zone).utcoffset() == target:
            after = middle
        else:
            before = middle
    return after


def _time_allowed(window: SendWindow, local: dt.time) -> bool:
    local = _wall(local)
    start, end = _wall(window.start), _wall(window.end)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _wall(value: dt.time) -> dt.time:
    # fold and tzinfo say nothing about the time of day being compared.
    return value.replace(tzinfo=None, fold=0)


def _clock(value: dt.time) -> str:
    return value.isoformat(timespec="minutes" if not (value.second or value.microsecond) else "auto")


def _require_aware(moment: dt.datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError("A send window needs an aware datetime; a naive one has no instant.")
