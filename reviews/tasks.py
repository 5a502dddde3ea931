"""django-q2 entry points of reviews: thin adapters that call one service. Schedules are declared here and
written to django-q2 by `manage.py sync_schedules`."""

from django_q.models import Schedule

from merchant.services.schedules import ScheduleSpec
from reviews.services.requests import review_reminders_plan

SCHEDULES = [
    # Every 15 minutes: plan the reminders that came due (a request sent some days ago, not answered).
    ScheduleSpec(
        name="reviews.review_reminders_plan",
        func="reviews.tasks.review_reminders_plan_task",
        schedule_type=Schedule.MINUTES,
        minutes=15,
    ),
]


def review_reminders_plan_task() -> int:
    return review_reminders_plan()
