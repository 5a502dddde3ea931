"""django-q2 entry points of the core app: thin adapters that call one service."""

import datetime as dt

from django_q.models import Schedule

from merchant.models import InboundEvent
from merchant.services.idempotency import idempotency_records_prune
from merchant.services.inbound import inbound_event_process, inbound_events_schedule_stuck
from merchant.services.schedules import ScheduleSpec, task_results_prune

SCHEDULES = [
    ScheduleSpec(
        name="merchant.task_results_prune",
        func="merchant.tasks.task_results_prune_task",
        schedule_type=Schedule.HOURLY,
    ),
    ScheduleSpec(
        name="merchant.inbound_events_schedule_stuck",
        func="merchant.tasks.inbound_events_schedule_stuck_task",
        schedule_type=Schedule.MINUTES,
        minutes=5,
    ),
    ScheduleSpec(
        name="merchant.idempotency_records_prune",
        func="merchant.tasks.idempotency_records_prune_task",
        schedule_type=Schedule.HOURLY,
    ),
]


def task_results_prune_task() -> int:
    return task_results_prune(older_than=dt.timedelta(days=7))


def idempotency_records_prune_task() -> int:
    return idempotency_records_prune()


def inbound_event_process_task(event_id: int) -> str:
    event = InboundEvent.objects.filter(pk=event_id).first()
    return inbound_event_process(event=event).status if event else "missing"


def inbound_events_schedule_stuck_task() -> int:
    return inbound_events_schedule_stuck()
