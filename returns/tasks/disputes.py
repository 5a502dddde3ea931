"""django-q2 entry points of returns: disputes. Thin: take ids, call one service."""

from django_q.models import Schedule

from merchant.services.schedules import ScheduleSpec
from returns.services.disputes import disputes_expire_overdue, disputes_warn_due

SCHEDULES: list[ScheduleSpec] = [
    # Every 5 minutes: a dispute unanswered past its deadline is lost (the providers decide so); owners are told.
    ScheduleSpec(
        name="returns.disputes_expire_overdue",
        func="returns.tasks.disputes.disputes_expire_overdue_task",
        schedule_type=Schedule.MINUTES,
        minutes=5,
    ),
    # Every 5 minutes: warnings 72, 24 and 4 hours before a dispute's deadline (the 4-hour one must not be late).
    ScheduleSpec(
        name="returns.disputes_warn_due",
        func="returns.tasks.disputes.disputes_warn_due_task",
        schedule_type=Schedule.MINUTES,
        minutes=5,
    ),
]


def disputes_expire_overdue_task() -> int:
    return disputes_expire_overdue()


def disputes_warn_due_task() -> int:
    return disputes_warn_due()
