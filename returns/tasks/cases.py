"""django-q2 entry points of returns: cases. Thin: take ids, call one service."""

from merchant.services.schedules import ScheduleSpec

SCHEDULES: list[ScheduleSpec] = []
