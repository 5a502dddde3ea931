"""The support queue's write path: cases, what they gather, and the conversation on them.

Other parts of returns (return requests, refunds, disputes, customer messages) put work in the queue
only through `case_item_attach` and `case_customer_message_add`.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order
from returns.models import Case, CaseEntry, CaseItem
from returns.transitions import status_move


def _case_subject(order: Order | None, customer: Customer | None) -> str:
    if order is not None:
        return f"Order {order.number}"
    return f"Messages from {customer}" if customer else "Messages from an unknown sender"


def case_get_or_create(
    *, shop: Merchant, order: Order | None, customer: Customer | None, actor: Actor, now: dt.datetime | None = None
) -> tuple[Case, bool]:
    """The case of `order` (one per order), or of `customer` when there is no order (their latest active
    case without an order). Created when there is none. Returns (case, created)."""
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
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    shop=shop,
                    order=order,
                    customer=customer if customer is not None else (order.customer if order else None),
                    number=number,
                    subject=_case_subject(order, customer),
                    created_at=now,
                    status_changed_at=now,
                )
        except IntegrityError:  # another process took the number, or made the order's case meanwhile
            if order is not None and (found := Case.objects.filter(shop=shop, order=order).first()):
                return found, False
            continue
        return case, True
    raise RuntimeError("Could not number a new case.")


def _reopen(case: Case, *, actor: Actor, why: str, now: dt.datetime) -> None:
    if case.status == Case.Status.RESOLVED:
        status_move(case, to=Case.Status.OPEN, actor=actor, note=why, now=now)


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
    resolved. `links` are the item's return_request, refund or dispute. Idempotent per source."""
    now = now or timezone.now()
    case, _created = case_get_or_create(shop=shop, order=order, customer=customer, actor=actor, now=now)
    case = Case.objects.select_for_update().get(pk=case.pk)
    item, created = CaseItem.objects.get_or_create(
        case=case,
        source=source[:100],
        defaults={"kind": kind, "summary": summary[:300], "admin_path": admin_path, **links},
    )
    if created:
        _reopen(case, actor=actor, why=summary, now=now)
        changes = {}
        if priority is not None and priority > case.priority:
            changes["priority"] = priority
        if due_at is not None and (case.due_at is None or due_at < case.due_at):
            changes["due_at"] = due_at
        if changes:
            Case.objects.filter(pk=case.pk).update(**changes, updated_at=now)
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
    """A message from the customer (an SMS reply, an email) on their case, which opens again if it was resolved."""
    at = at or timezone.now()
    case, _created = case_get_or_create(shop=shop, order=order, customer=customer, actor=actor, now=at)
    case = Case.objects.select_for_update().get(pk=case.pk)
    entry = CaseEntry.objects.create(
        case=case, kind=CaseEntry.Kind.CUSTOMER_MESSAGE, body=body[:5000], channel=channel, at=at
    )
    if source:
        CaseItem.objects.get_or_create(
            case=case, source=source[:100], defaults={"kind": CaseItem.Kind.CUSTOMER_MESSAGE, "summary": body[:300]}
        )
    if case.status == Case.Status.WAITING_ON_CUSTOMER:
        status_move(case, to=Case.Status.OPEN, actor=actor, note="The customer answered.", now=at)
    else:
        _reopen(case, actor=actor, why="The customer wrote again.", now=at)
    Case.objects.filter(pk=case.pk).update(last_customer_message_at=at, updated_at=at)
    return entry
