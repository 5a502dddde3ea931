"""Returns, refunds, disputes and the support queue. Each module is one sub-domain."""

from returns.models.cases import AgentPresence, Case, CaseEntry, CaseEvent, CaseItem, Macro
from returns.models.disputes import Dispute, DisputeEvent, DisputeEvidence
from returns.models.inbox import EmailInbox
from returns.models.policy import (
    EU_WITHDRAWAL_DAYS,
    FaqEntry,
    RefundMethod,
    ReturnPolicy,
    ReturnReason,
    SupportSettings,
)
from returns.models.refunds import Refund, RefundEvent, RefundLine
from returns.models.requests import ReturnEvent, ReturnLine, ReturnPhoto, ReturnRequest

__all__ = [
    "EU_WITHDRAWAL_DAYS",
    "AgentPresence",
    "Case",
    "CaseEntry",
    "CaseEvent",
    "CaseItem",
    "Dispute",
    "DisputeEvent",
    "DisputeEvidence",
    "EmailInbox",
    "FaqEntry",
    "Macro",
    "Refund",
    "RefundEvent",
    "RefundLine",
    "RefundMethod",
    "ReturnEvent",
    "ReturnLine",
    "ReturnPhoto",
    "ReturnPolicy",
    "ReturnReason",
    "ReturnRequest",
    "SupportSettings",
]
