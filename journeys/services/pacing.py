"""How fast a provider account may send, shared by every dispatcher through one database row.

A rate limit is kept by giving each send a *slot*: a moment no earlier than 1/rate after the
previous slot of the same account, whichever dispatcher took it (the generic cell rate algorithm
with no burst). Slots are handed out in one short locked transaction per batch and account, by the
database clock, so dispatchers on several machines share one pace. A daily cap is counted in the
same row and starts again at midnight UTC.

Why slots and not a token bucket: a bucket lets a whole second's tokens go out at once and then
the next second's right after, which puts up to twice the rate into one second. Slots never do,
provided a send starts close to its slot. So:
- slots are spaced for `PACE_SHARE` of the rate, which leaves room for a send to start up to
  `LATE_TOLERANCE` after its slot without ever putting more than the rate into any one second;
- a send that would start later than that is not made: the message goes back to the queue
  without using an attempt (`Outcome.DEFERRED`).
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from journeys.prepared_statements import prepared_cursor

PACE_SHARE = 0.97
# Spacing slots for 97% of the rate leaves about 31 ms of room in any one second. A send is checked
# against its slot before its request is built and written; the rest of the room is for what follows the
# check (the interpreter lock, the network, the provider's own clock). 25 ms left 6 ms, which a busy
# machine overran (11 arrivals in one second at 10/s, 1,002 at 1,000/s, counted at the fake provider).
LATE_TOLERANCE_SECONDS = 0.015
# How far ahead one batch may take slots when it is sent as a whole (`Dispatcher.batch`).
HORIZON = dt.timedelta(seconds=1)
# A draining dispatcher takes slots in blocks of at most this span, each shortly before it is due, so
# dispatchers sharing an account take turns every few milliseconds instead of in long runs, and
# a dispatcher slower than the rate falls behind its block by a few milliseconds at most.
BLOCK_SECONDS = 0.03
# ...and keeps this much of its own sending slotted ahead, so no slot passes unused between blocks.
LEAD_SECONDS = 0.25


@dataclass(frozen=True)
class Reservation:
    """The slots granted to one batch of one account, and what became of the rest."""

    slots: list[dt.datetime]  # one start time per granted send, in order
    paced: list[dt.datetime]  # for each send refused by the rate: when its slot should be free
    over_cap: int  # sends refused because the daily cap is used up
    cap_resets_at: dt.datetime  # when the daily cap counts from zero again
    next_free_at: dt.datetime  # the account's first slot nobody holds yet


def pace_interval(rate_per_second: float) -> float:
    """Seconds between two slots of an account sending at most `rate_per_second`."""
    return 1.0 / (rate_per_second * PACE_SHARE)


def pace_block(rate_per_second: float | None) -> int | None:
    """How many slots a draining dispatcher takes at once; None: as many as it has (no rate)."""
    return max(1, math.floor(BLOCK_SECONDS / pace_interval(rate_per_second))) if rate_per_second else None


_PACE_LOCK = {
    # The account's row, locked until the reservation commits (SQLite: the write transaction is the lock).
    "postgresql": "SELECT next_slot_at, day, sent_on_day FROM journeys_providerpace WHERE key = %s FOR UPDATE",
    "sqlite": "SELECT next_slot_at, day, sent_on_day FROM journeys_providerpace WHERE key = %s",
}
_PACE_CREATE = (
    "INSERT INTO journeys_providerpace (key, rate_per_second, next_slot_at, daily_cap, day, sent_on_day, updated_at) "
    "VALUES (%s, NULL, NULL, NULL, NULL, 0, %s) ON CONFLICT (key) DO NOTHING"
)
_PACE_WRITE = (
    "UPDATE journeys_providerpace SET next_slot_at = %s, day = %s, sent_on_day = %s, rate_per_second = %s, "
    "daily_cap = %s, updated_at = %s WHERE key = %s"
)


def pace_reserve(
    *,
    key: str,
    rate_per_second: float | None,
    daily_cap: int | None,
    wanted: int,
    now: dt.datetime,
    horizon: dt.timedelta = HORIZON,
    most: int | None = None,
) -> Reservation:
    """Take up to `wanted` (and at most `most`) slots of account `key`, none later than `now + horizon`.

    Guarantees: slots of one account never come closer than `pace_interval(rate)`, across all
    dispatchers; no more than `daily_cap` slots are granted per UTC day. One short transaction
    of two statements on the account's `ProviderPace` row (three the first time): a draining
    dispatcher reserves a block of slots about thirty times a second.
    """
    ops = connection.ops
    with transaction.atomic(), prepared_cursor() as cursor:
        lock = _PACE_LOCK["postgresql" if connection.vendor == "postgresql" else "sqlite"]
        cursor.execute(lock, [key])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_PACE_CREATE, [key, ops.adapt_datetimefield_value(now)])
            cursor.execute(lock, [key])
            row = cursor.fetchone()
        next_slot_at, day, sent_on_day = _pace_row(row)
        today = now.date()
        if day != today:
            day, sent_on_day = today, 0
        cap_room = wanted if daily_cap is None else max(0, daily_cap - sent_on_day)
        over_cap = max(0, wanted - cap_room)
        if rate_per_second:
            interval = dt.timedelta(seconds=pace_interval(rate_per_second))
            start = max(now, next_slot_at or now)
            room = math.floor((now + horizon - start) / interval) + 1 if start <= now + horizon else 0
            granted = min(wanted - over_cap, room, wanted if most is None else most)
            slots = [start + interval * n for n in range(granted)]
            next_slot_at = start + interval * granted
            paced = [next_slot_at + interval * n for n in range(wanted - over_cap - granted)]
        else:
            granted = min(wanted - over_cap, wanted if most is None else most)
            slots = [now] * granted
            paced = [now] * (wanted - over_cap - granted)
        sent_on_day += granted
        cursor.execute(
            _PACE_WRITE,
            [
                ops.adapt_datetimefield_value(next_slot_at),
                ops.adapt_datefield_value(day),
                sent_on_day,
                rate_per_second,
                daily_cap,
                ops.adapt_datetimefield_value(now),
                key,
            ],
        )
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    return Reservation(
        slots=slots, paced=paced, over_cap=over_cap, cap_resets_at=midnight, next_free_at=next_slot_at or now
    )


def _pace_row(row: tuple) -> tuple[dt.datetime | None, dt.date | None, int]:
    """The row's values as Python: SQLite returns its dates and times as text."""
    next_slot_at, day, sent_on_day = row
    if isinstance(next_slot_at, str):
        next_slot_at = parse_datetime(next_slot_at)
    if next_slot_at is not None and timezone.is_naive(next_slot_at):
        next_slot_at = next_slot_at.replace(tzinfo=dt.UTC)
    if isinstance(day, str):
        day = parse_date(day)
    return next_slot_at, day, sent_on_day or 0
