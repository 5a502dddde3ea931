"""django-q2 entry points of holiday greetings and campaigns: thin adapters that call one service.

`journeys.tasks.SCHEDULES` includes the schedules declared here.
"""

from merchant.services.schedules import ScheduleSpec

SCHEDULES: list[ScheduleSpec] = []
