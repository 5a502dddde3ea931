"""Periodic jobs are declared in code (`<app>.tasks.SCHEDULES`) and written to django-q2 here.

Nobody creates schedules by hand: `manage.py sync_schedules` (run by `make run` and on deploy)
makes the table match the declarations, so an edit in the admin cannot drift unnoticed.
"""

import datetime as dt
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule, Success


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str  # Schedule.MINUTES, Schedule.HOURLY, Schedule.DAILY, ...
    minutes: int | None = None
    first_run_offset: dt.timedelta = dt.timedelta(minutes=1)


def schedules_declared() -> list[ScheduleSpec]:
    """Every `SCHEDULES` list found in the installed apps' `tasks` modules."""
    declared: list[ScheduleSpec] = []
    for app_config in apps.get_app_configs():
        try:
            module = import_module(f"{app_config.name}.tasks")
        except ModuleNotFoundError as error:
            if error.name != f"{app_config.name}.tasks":
                raise
            continue
        declared.extend(getattr(module, "SCHEDULES", ()))
    return declared


@transaction.atomic
def schedules_sync(*, declared: list[ScheduleSpec] | None = None) -> dict[str, list[str]]:
    """Create or update the declared schedules and delete every other one. Idempotent.

    Returns the names created, updated, unchanged and deleted.
    """
    declared = schedules_declared() if declared is None else declared
    report: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
    for spec in declared:
        wanted = {"func": spec.func, "schedule_type": spec.schedule_type, "minutes": spec.minutes, "repeats": -1}
        schedule = Schedule.objects.filter(name=spec.name).first()
        if schedule is None:
            Schedule.objects.create(name=spec.name, next_run=timezone.now() + spec.first_run_offset, **wanted)
            report["created"].append(spec.name)
        elif any(getattr(schedule, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(schedule, key, value)
            schedule.save()
            report["updated"].append(spec.name)
        else:
            report["unchanged"].append(spec.name)
    stray = Schedule.objects.exclude(name__in=[spec.name for spec in declared])
    report["deleted"] = sorted(str(name) for name in stray.values_list("name", flat=True))
    stray.delete()
    return report


def task_results_prune(*, older_than: dt.timedelta) -> int:
    """Delete django-q2 success records older than `older_than`; failures are kept for people to read."""
    deleted, _ = Success.objects.filter(stopped__lt=timezone.now() - older_than).delete()
    return deleted
