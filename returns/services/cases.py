"""The support queue's write path: cases, what they gather, their status and priority.

Other parts of returns (return requests, refunds, disputes, customer messages) put work in the queue
only through `case_item_attach` and `case_customer_message_add`; reviews hands unhappy customers over
through `merchant.support_handoff` (`case_from_handoff`). A new case gets its SLA deadlines from the
shop's support settings and business calendar, and, when the shop turns it on, an agent (round robin).
Every step leaves a row in the case's audit trail (`CaseEvent`). The conversation (notes, replies,
macros) is in returns.services.case_messages, the survey in returns.services.satisfaction.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order
from merchant.support_handoff import PersonNeeded
from returns.models import Case, CaseEntry, CaseItem
from returns.services.assignment import case_auto_assign
from returns.services.sla import (
    calendar_for,
    case_due_refresh,
    sla_pause,
    sla_resume,
    sla_start,
    support_settings_for,
)
from returns.transitions import audit_record, status_move

S = Case.Status


def _case_subject(order: Order | None, customer: Customer | None, about: str = "") -> str:
    if order is not None:
        return f"Order {order.number}"
    if customer is not None:
        return f"Messages from {customer}"
    # Neither order nor customer (a chargeback the platform could not tie to an order): what it is about.
    return about[:200] or "Messages from an unknown sender"


def _case_language(shop: Merchant, order: Order | None, customer: Customer | None) -> str:
    for language in (getattr(order, "language", ""), getattr(customer, "language", ""), shop.default_language):
        if language:
            return language
    return ""


def case_get_or_create(
    *,
    shop: Merchant,
    order: Order | None,
    customer: Customer | None,
    actor: Actor,
    now: dt.datetime | None = None,
    about: str = "",
) -> tuple[Case, bool]:
    """The case of `order` (one per order), or of `customer` when there is no order (their latest active
    case without an order). Created when there is none, with its SLA deadlines counted in the shop's
    business hours and, when the shop turns auto-assignment on, the next available agent. Returns (case, created)."""
    now = now or timezone.now()
    existing = Case.objects.filter(shop=shop)
    if order is not None:
        found = existing.filter(order=order).first()
    else:
        found = (
            existing.filter(order=None, customer=customer, status__in=Case.ACTIVE).order_by("-created_at").first()
            if customer is not None
            else None
        )
    if found is not None:
        return found, False
    for _attempt in range(3):
        number = (Case.objects.filter(shop=shop).aggregate(top=Max("number"))["top"] or 0) + 1
        case = Case(
            shop=shop,
            order=order,
            customer=customer if customer is not None else (order.customer if order else None),
            number=number,
            subject=_case_subject(order, customer, about),
            language=_case_language(shop, order, customer),
            created_at=now,
            status_changed_at=now,
        )
        sla_start(case, now=now)
        case.due_at = min(case.first_response_due_at, case.resolution_due_at)
        try:
            with transaction.atomic():
                case.save(force_insert=True)
        except IntegrityError:  # another process took the number, or made the order's case meanwhile
            if order is not None and (found := Case.objects.filter(shop=shop, order=order).first()):
                return found, False
            continue
        audit_record(
            case,
            action="created",
            actor=actor,
            details={
                "first_response_due_at": case.first_response_due_at.isoformat(),
                "resolution_due_at": case.resolution_due_at.isoformat(),
            },
            at=now,
        )
        if support_settings_for(shop).auto_assign:
            case = case_auto_assign(case=case, actor=Actor.system("round robin"), now=now)
        return case, True
    raise RuntimeError("Could not number a new case.")


def _status_fields(case: Case, to: str, *, now: dt.datetime) -> tuple[dict, dict]:
    """The fields that go with moving `case` to `to` (clocks paused, resumed, restarted), and audit details."""
    fields: dict = {}
    details: dict = {}
    if case.status == S.WAITING_ON_CUSTOMER and to != S.WAITING_ON_CUSTOMER:
        resumed, waited = sla_resume(case, now=now)
        fields.update(resumed)
        details["waited_business_minutes"] = int(waited.total_seconds() // 60)
    if to == S.WAITING_ON_CUSTOMER:
        fields.update(sla_pause(case, now=now))
    if to == S.RESOLVED:
        fields["resolved_at"] = now
    if case.status == S.RESOLVED and to == S.OPEN:
        # Opened again: a fresh resolution clock from now (the old one was met when it was resolved).
        settings = support_settings_for(case.shop)
        calendar = calendar_for(case.shop)
        fields["resolution_due_at"] = calendar.add(now, dt.timedelta(hours=settings.resolution_hours))
        if case.first_responded_at is None:  # resolved without a word to the customer: they are owed one now
            fields["first_response_due_at"] = calendar.add(now, dt.timedelta(hours=settings.first_response_hours))
        fields["resolved_at"] = None
    return fields, details


def case_move(case: Case, *, to: str, actor: Actor, note: str = "", now: dt.datetime) -> Case:
    """Move a locked `case` to `to`, pausing or resuming its clocks, and refresh its due time (no survey)."""
    fields, details = _status_fields(case, to, now=now)
    status_move(case, to=to, actor=actor, note=note, details=details, fields=fields, now=now)
    return case_due_refresh(case=case)


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update(of=("self",)).select_related("shop", "customer", "order").get(pk=case.pk)


@transaction.atomic
def case_status_set(*, case: Case, to: str, actor: Actor, note: str = "", now: dt.datetime | None = None) -> Case:
    """Move `case` to `to` (open, waiting for the customer, resolved) along its transitions.

    Waiting for the customer pauses the resolution clock; leaving it resumes the clock, moved on by the
    business time spent waiting. Resolving asks the customer the satisfaction question once per case,
    when the shop's settings say so. Raises InvalidTransition (nothing changed) for a move not allowed."""
    now = now or timezone.now()
    case = _locked(case)
    if case.status == to:
        return case
    case_move(case, to=to, actor=actor, note=note, now=now)
    if to == S.RESOLVED:
        from returns.services.satisfaction import satisfaction_survey_request

        satisfaction_survey_request(case=case, actor=actor, now=now)
    return case


@transaction.atomic
def case_priority_set(
    *, case: Case, priority: int, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> Case:
    """Change the priority of `case` (higher sorts first among cases due at the same time). Audited."""
    return _priority_change(case, priority=priority, actor=actor, note=note, now=now, only_raise=False)


@transaction.atomic
def case_priority_raise(
    *, case: Case, priority: int, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> Case:
    """Raise the priority of `case` to at least `priority` (a deadline coming closer); never lowers it."""
    return _priority_change(case, priority=priority, actor=actor, note=note, now=now, only_raise=True)


def _priority_change(
    case: Case, *, priority: int, actor: Actor, note: str, now: dt.datetime | None, only_raise: bool
) -> Case:
    now = now or timezone.now()
    if priority not in Case.Priority.values:
        raise ValidationError({"priority": _("Choose one of the priorities.")})
    case = _locked(case)
    if case.priority == priority or (only_raise and case.priority > priority):
        return case
    before = case.priority
    case.priority = priority
    case.save(update_fields=["priority", "updated_at"])
    audit_record(
        case,
        action="priority",
        actor=actor,
        details={"from": before, "to": priority},
        note=note or f"{Case.Priority(before).label} → {Case.Priority(priority).label}",
        at=now,
    )
    return case


def _reopen(case: Case, *, actor: Actor, why: str, now: dt.datetime) -> None:
    if case.status == S.RESOLVED:
        case_move(case, to=S.OPEN, actor=actor, note=why, now=now)


@transaction.atomic
def case_item_attach(
    *,
    shop: Merchant,
    order: Order | None,
    customer: Customer | None,
    kind: str,
    source: str,
    summary: str,
    actor: Actor,
    admin_path: str = "",
    due_at: dt.datetime | None = None,
    priority: int | None = None,
    now: dt.datetime | None = None,
    **links,
) -> CaseItem:
    """Put `source` (e.g. "returns.dispute:7") in the queue: on the case of its order, opened again when it was
    resolved. `links` are the item's return_request, refund or dispute. Idempotent per source.

    The case's due time becomes the soonest of its clocks, `due_at` (answer by then; for a dispute the dispute's
    own deadline is read, and read again on every later attach) and its disputes' deadlines. A higher
    `priority` raises the case's."""
    now = now or timezone.now()
    case, _created = case_get_or_create(shop=shop, order=order, customer=customer, actor=actor, now=now, about=summary)
    case = _locked(case)
    item, created = CaseItem.objects.get_or_create(
        case=case,
        source=source[:100],
        defaults={
            "kind": kind,
            "summary": summary[:300],
            "admin_path": admin_path,
            "due_at": None if links.get("dispute") else due_at,
            "created_at": now,
            **links,
        },
    )
    if created:
        audit_record(case, action="item_added", actor=actor, note=summary[:300], details={"source": source}, at=now)
        _reopen(case, actor=actor, why=summary, now=now)
        if priority is not None and priority > case.priority:
            Case.objects.filter(pk=case.pk).update(priority=priority, updated_at=now)
            case.priority = priority
    case_due_refresh(case=case)
    return item


@transaction.atomic
def case_customer_message_add(
    *,
    shop: Merchant,
    order: Order | None,
    customer: Customer | None,
    body: str,
    channel: str,
    actor: Actor,
    source: str = "",
    at: dt.datetime | None = None,
) -> CaseEntry:
    """A message from the customer (an SMS reply, an email) on their case, which opens again if it was resolved
    and resumes its resolution clock if it was waiting for them."""
    at = at or timezone.now()
    case, _created = case_get_or_create(shop=shop, order=order, customer=customer, actor=actor, now=at)
    case = _locked(case)
    entry = CaseEntry.objects.create(
        case=case, kind=CaseEntry.Kind.CUSTOMER_MESSAGE, body=body[:5000], channel=channel, at=at
    )
    if source:
        CaseItem.objects.get_or_create(
            case=case, source=source[:100], defaults={"kind": CaseItem.Kind.CUSTOMER_MESSAGE, "summary": body[:300]}
        )
    if case.status == S.WAITING_ON_CUSTOMER:
        case_move(case, to=S.OPEN, actor=actor, note="The customer answered.", now=at)
    else:
        _reopen(case, actor=actor, why="The customer wrote again.", now=at)
    Case.objects.filter(pk=case.pk).update(last_customer_message_at=at, updated_at=at)
    return entry


def case_from_handoff(person: PersonNeeded) -> str:
    """The support queue's handler of `merchant.support_handoff`: a case item of kind "review" for an unhappy
    customer found by another app, idempotent per `person.source`. Returns the queue's reference ("case:<id>")."""
    shop = Merchant.objects.get(pk=person.shop_id)
    customer = Customer.objects.filter(pk=person.customer_id, shop=shop).first() if person.customer_id else None
    order = Order.objects.filter(pk=person.order_id, shop=shop).first() if person.order_id else None
    item = case_item_attach(
        shop=shop,
        order=order,
        customer=customer,
        kind=CaseItem.Kind.REVIEW,
        source=person.source,
        summary=person.summary,
        actor=Actor.system(person.kind or "hand-off"),
        admin_path=person.admin_path,
        due_at=person.due_at,
        priority=Case.Priority.HIGH,
    )
    return f"case:{item.case_id}"
