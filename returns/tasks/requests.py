"""django-q2 entry points of returns: requests. Thin: take ids, call one service."""

from django_q.models import Schedule

from merchant.services.schedules import ScheduleSpec
from returns.services.requests import return_requests_expire_due

SCHEDULES: list[ScheduleSpec] = [
    # Hourly: approved returns whose instructions ran out without a parcel expire, and the customer is told.
    ScheduleSpec(
        name="returns.return_requests_expire_due",
        func="returns.tasks.requests.return_requests_expire_due_task",
        schedule_type=Schedule.HOURLY,
    ),
]


def return_requests_expire_due_task() -> int:
    return return_requests_expire_due()
