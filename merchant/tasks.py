"""django-q2 entry points of the core app: thin adapters that call one service."""

import datetime as dt

from django_q.models import Schedule

from merchant.services.idempotency import idempotency_records_prune
from merchant.services.inbound import inbound_events_drain, inbound_events_waiting_sweep
from merchant.services.schedules import ScheduleSpec, task_results_prune

SCHEDULES = [
    ScheduleSpec(
        name="merchant.task_results_prune",
        func="merchant.tasks.task_results_prune_task",
        schedule_type=Schedule.HOURLY,
    ),
    # Every minute a drainer that runs 80 s: the next one starts before it ends, so webhook
    # deliveries wait at most a poll (0.2 s) once the cluster is up.
    ScheduleSpec(
        name="merchant.inbound_events_drain",
        func="merchant.tasks.inbound_events_drain_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        first_run_offset=dt.timedelta(0),
    ),
    # The safety net behind the dispatcher's own call: callbacks still waiting a minute after they came.
    ScheduleSpec(
        name="merchant.inbound_events_waiting_sweep",
        func="merchant.tasks.inbound_events_waiting_sweep_task",
        schedule_type=Schedule.MINUTES,
        minutes=1,
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


def inbound_events_drain_task() -> int:
    return inbound_events_drain(max_seconds=80)


def inbound_events_waiting_sweep_task() -> str:
    return str(inbound_events_waiting_sweep())
