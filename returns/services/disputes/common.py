"""What every part of the dispute services shares: its place in the queue, the row lock, the opening steps."""

import datetime as dt

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from journeys.models import CareRule
from journeys.services.external import message_plan
from journeys.services.rules import care_rules_for_triggers_create
from merchant.actors import Actor
from merchant.models import Merchant, Order
from returns.models import Case, CaseItem, Dispute
from returns.services.cases import case_item_attach
from returns.services.sla import case_due_refresh
from returns.transitions import audit_record
from returns.triggers.disputes import DISPUTE_OPENED, DISPUTE_TRIGGER_SPECS, dispute_step

S = Dispute.Status
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", ".csv", ".eml", ".html"})
KINDS = ("chargeback", "inquiry")


def dispute_source(dispute: Dispute) -> str:
    """The dispute's reference in the support queue (CaseItem.source)."""
    return f"returns.dispute:{dispute.pk}"


def dispute_admin_path(dispute: Dispute) -> str:
    try:
        return reverse("admin:returns_dispute_change", args=[dispute.pk])
    except NoReverseMatch:  # the admin is not mounted (a project without it)
        return ""


def dispute_case_refresh(dispute: Dispute) -> None:
    """The dispute's deadline or status changed: the due time of its case in the queue follows."""
    item = CaseItem.objects.filter(dispute=dispute).select_related("case").first()
    if item is not None:
        case_due_refresh(case=item.case)


def dispute_lock(dispute: Dispute) -> Dispute:
    """The dispute locked for a change, its order locked first (the fixed lock order)."""
    if dispute.order_id:
        Order.objects.select_for_update().filter(pk=dispute.order_id).first()
    return (
        Dispute.objects.select_for_update(of=("self",)).select_related("shop", "order", "customer").get(pk=dispute.pk)
    )


def _priority_for(dispute: Dispute, now: dt.datetime) -> int:
    """High, and urgent once the answer is due within 24 hours: the same steps the deadline warnings raise it by."""
    urgent = dispute.due_at is not None and dispute.due_at - now <= dt.timedelta(hours=Dispute.WARNING_HOURS[1])
    return Case.Priority.URGENT if dispute.status in Dispute.AWAITING_ANSWER and urgent else Case.Priority.HIGH


def _summary(dispute: Dispute) -> str:
    words = _("%(kind)s: %(reason)s, %(amount)s %(currency)s") % {
        "kind": _("Inquiry") if dispute.kind == "inquiry" else _("Chargeback"),
        "reason": dispute.get_reason_category_display(),
        "amount": dispute.amount,
        "currency": dispute.currency,
    }
    if dispute.due_at and dispute.status in Dispute.AWAITING_ANSWER:
        words += " · " + _("answer by %s") % dispute.due_at.strftime("%Y-%m-%d %H:%M UTC")
    return words


def dispute_rules_ensure(*, shop: Merchant) -> None:
    """The shop's rule of `dispute_opened` (on, with the shipped copy), for shops made before it existed."""
    if not CareRule.objects.filter(shop=shop, trigger=DISPUTE_OPENED.name).exists():
        care_rules_for_triggers_create(shop=shop, specs=DISPUTE_TRIGGER_SPECS, active=lambda spec: True)


def dispute_after_open(dispute: Dispute, *, actor: Actor, now: dt.datetime) -> None:
    """What every new dispute gets: its first history row, a place in the queue, guidance to the customer."""
    audit_record(
        dispute,
        action="opened",
        actor=actor,
        to_status=dispute.status,
        note=_summary(dispute),
        details={"provider_status": dispute.provider_status},
        at=now,
    )
    awaiting = dispute.status in Dispute.AWAITING_ANSWER
    case_item_attach(
        shop=dispute.shop,
        order=dispute.order,
        customer=dispute.customer,
        kind=CaseItem.Kind.DISPUTE,
        source=dispute_source(dispute),
        summary=_summary(dispute),
        actor=actor,
        admin_path=dispute_admin_path(dispute),
        due_at=dispute.due_at if awaiting else None,
        priority=_priority_for(dispute, now),
        now=now,
        dispute=dispute,
    )
    if dispute.status in Dispute.OPEN and dispute.customer is not None:
        dispute_rules_ensure(shop=dispute.shop)
        message_plan(
            trigger=DISPUTE_OPENED.name,
            shop=dispute.shop,
            customer=dispute.customer,
            order=dispute.order,
            anchor_at=now,
            step=dispute_step(dispute.pk),
            now=now,
        )
