"""django-q2 entry points of holiday greetings and campaigns: thin adapters that call one service.

`journeys.tasks.SCHEDULES` includes the schedules declared here.
"""

from django_q.models import Schedule

from journeys.campaigns.greetings import greetings_schedule_due
from journeys.campaigns.services import campaign_fanout_chunk, campaigns_tick
from merchant.services.schedules import ScheduleSpec

SCHEDULES: list[ScheduleSpec] = [
    # Each minute: start planning campaigns due within a day, pick up a fan-out whose next chunk task
    # was lost, and mark campaigns whose messages are all finished as done.
    ScheduleSpec(
        name="journeys.campaigns_tick",
        func="journeys.campaigns.tasks.campaigns_tick_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    # Each hour: a greeting activated or a date approved during the day still gets its occurrence
    # well ahead of its send date (they are created two days ahead; reruns create nothing twice).
    ScheduleSpec(
        name="journeys.greetings_schedule_due",
        func="journeys.campaigns.tasks.greetings_schedule_due_task",
        schedule_type=Schedule.HOURLY,
    ),
]


def greetings_schedule_due_task() -> int:
    """Create the due occurrences of holiday greetings; returns how many were created."""
    return len(greetings_schedule_due())


def campaigns_tick_task() -> str:
    """Start, restart and finish campaigns (journeys.campaigns.services.campaigns_tick)."""
    return str(campaigns_tick())


def campaign_fanout_chunk_task(campaign_id: int, cursor: int) -> str:
    """Plan one chunk of a campaign's fan-out from `cursor`; the next chunk is enqueued by the service."""
    result = campaign_fanout_chunk(campaign_id=campaign_id, cursor=cursor)
    return "nothing to do" if result is None else f"planned {result.planned} up to {result.cursor}"
