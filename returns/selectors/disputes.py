"""Reads of disputes shared by the deadline jobs and the support queue."""

from django.db.models import QuerySet

from returns.models import Dispute


def disputes_awaiting_answer() -> QuerySet[Dispute]:
    """Disputes whose answer the shop still owes by their `due_at`: open ones not yet answered, and appeals
    whose own answer has not been submitted (an answered appeal waits for the provider, not for the shop)."""
    return Dispute.objects.filter(status__in=Dispute.AWAITING_ANSWER, due_at__isnull=False).exclude(
        status=Dispute.Status.APPEAL_OPEN, appeal_submitted_at__isnull=False
    )
