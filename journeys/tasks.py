"""django-q2 entry points of journeys: thin adapters that call one service."""

import datetime as dt

from django.conf import settings
from django_q.models import Schedule

from journeys.campaigns.tasks import SCHEDULES as CAMPAIGN_SCHEDULES
from journeys.services.dispatch import dispatch_due, messages_reap
from journeys.services.planning import time_triggers_scan
from merchant.services.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="journeys.time_triggers_scan",
        func="journeys.tasks.time_triggers_scan_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    ScheduleSpec(
        name="journeys.messages_reap",
        func="journeys.tasks.messages_reap_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
    ),
    *CAMPAIGN_SCHEDULES,
]
if settings.JOURNEYS_EMBEDDED_DISPATCH:
    # Embedded mode: one dispatcher run a minute, sending for 50 s, so at most one runs at a time
    # on SQLite. With separate `manage.py dispatch` processes this schedule is left out.
    SCHEDULES.append(
        ScheduleSpec(
            name="journeys.dispatch",
            func="journeys.tasks.dispatch_due_task",
            schedule_type=Schedule.MINUTES,
            minutes=1,
            first_run_offset=dt.timedelta(0),
        )
    )


def time_triggers_scan_task() -> int:
    return time_triggers_scan()


def messages_reap_task() -> int:
    return messages_reap()


def dispatch_due_task() -> str:
    return str(dispatch_due(max_seconds=50, batch_size=settings.JOURNEYS_DISPATCH_BATCH))
