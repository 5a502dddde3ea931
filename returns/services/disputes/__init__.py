"""Disputes: the only write path for payment disputes and chargebacks, from opening to the outcome.

A dispute arrives from a provider's webhook (`dispute_open_or_update_from_provider`), or is recorded by
staff or the API (`dispute_create`, e.g. an Amazon A-to-z claim with its deadline typed in). Every new
dispute lands in the support queue (one case per order) and the customer gets guidance
(`dispute_opened`: we can solve it faster directly). An agent adds evidence, stages the packet (a
snapshot, editable until submission) and submits it once; or accepts, settles, records the outcome and
appeals a loss. Deadlines are watched by `disputes_warn_due` (72, 24 and 4 hours before) and
`disputes_expire_overdue` (unanswered past due: lost, owners told).

Every status change goes through `returns.transitions.status_move` with the row locked (its order first),
and leaves a DisputeEvent naming the actor.
"""

from returns.services.disputes.common import dispute_admin_path, dispute_rules_ensure, dispute_source
from returns.services.disputes.deadlines import disputes_expire_overdue, disputes_warn_due
from returns.services.disputes.provider import DisputeSynced, dispute_open_or_update_from_provider
from returns.services.disputes.work import (
    dispute_accept,
    dispute_appeal,
    dispute_close_lost,
    dispute_close_won,
    dispute_create,
    dispute_evidence_add,
    dispute_settle,
    dispute_stage,
    dispute_submit,
)

__all__ = [
    "DisputeSynced",
    "dispute_accept",
    "dispute_admin_path",
    "dispute_appeal",
    "dispute_close_lost",
    "dispute_close_won",
    "dispute_create",
    "dispute_evidence_add",
    "dispute_open_or_update_from_provider",
    "dispute_rules_ensure",
    "dispute_settle",
    "dispute_source",
    "dispute_stage",
    "dispute_submit",
    "disputes_expire_overdue",
    "disputes_warn_due",
]
