"""django-q2 entry points of returns, one module per sub-domain; their schedules are declared here."""

from returns.tasks import auto_reply, cases, disputes, refunds, requests

SCHEDULES = [*requests.SCHEDULES, *refunds.SCHEDULES, *disputes.SCHEDULES, *cases.SCHEDULES, *auto_reply.SCHEDULES]
