"""Disputes as a payment provider reports them (webhooks): made once, then moved only forward."""

import datetime as dt
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Merchant, Order
from returns.models import Dispute
from returns.services.disputes.common import dispute_after_open, dispute_case_refresh
from returns.transitions import audit_record, status_move

S = Dispute.Status


@dataclass(frozen=True)
class DisputeSynced:
    dispute: Dispute
    created: bool
    # The delivery was older than what we have: only its raw status was recorded (in the history).
    stale: bool = False


def _path(current: str, target: str) -> list[str] | None:
    """The shortest chain of allowed moves from `current` to `target` ([] when already there), or None."""
    if current == target:
        return []
    seen, queue = {current}, deque([(current, [])])
    while queue:
        status, steps = queue.popleft()
        for following in sorted(Dispute.TRANSITIONS[status]):
            if following == target:
                return [*steps, following]
            if following not in seen:
                seen.add(following)
                queue.append((following, [*steps, following]))
    return None


# --- from a provider ----------------------------------------------------------------------------------


@transaction.atomic
def dispute_open_or_update_from_provider(
    *,
    shop: Merchant,
    provider: str,
    external_id: str,
    kind: str,
    provider_status: str,
    status: str | None,
    actor: Actor,
    provider_reason: str = "",
    reason_category: str = Dispute.ReasonCategory.OTHER,
    network_reason_code: str = "",
    amount: Decimal | None = None,
    currency: str = "",
    due_at: dt.datetime | None = None,
    opened_at: dt.datetime | None = None,
    submitted_at: dt.datetime | None = None,
    finalized_at: dt.datetime | None = None,
    order: Order | None = None,
    received_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> DisputeSynced:
    """Record what a provider says about one of its disputes (`status`: ours for its `provider_status`, None
    for a word we do not know).

    Guarantees: one Dispute per (shop, provider, external_id), made on the first delivery (with or without
    an order) and then put in the queue with guidance planned for the customer; each later delivery leaves
    a history row with the raw status as sent, and moves the dispute only forward along TRANSITIONS (a
    chain of allowed moves when the provider skipped steps). A late delivery that would move it backwards
    changes nothing but that history row (`stale`). A loss or win after an appeal was opened counts only
    when the provider finalised it after the appeal opened.
    """
    now = now or timezone.now()
    if order is not None:
        order = Order.objects.select_for_update().get(pk=order.pk)
    existing = Dispute.objects.select_for_update().filter(shop=shop, provider=provider, external_id=external_id)
    dispute = existing.first()
    if dispute is None:
        initial = status or (S.INQUIRY_OPEN if kind == "inquiry" else S.NEEDS_RESPONSE)
        try:
            with transaction.atomic():
                dispute = Dispute.objects.create(
                    shop=shop,
                    order=order,
                    customer=order.customer if order is not None else None,
                    provider=provider,
                    external_id=external_id,
                    kind=kind,
                    status=initial,
                    status_changed_at=now,
                    provider_status=provider_status[:60],
                    provider_reason=provider_reason[:60],
                    network_reason_code=network_reason_code[:20],
                    reason_category=reason_category,
                    amount=amount if amount is not None else (order.total if order is not None else 0),
                    currency=(currency or (order.currency if order is not None else shop.currency)).upper(),
                    opened_at=opened_at or now,
                    due_at=due_at,
                    submitted_at=submitted_at,
                    closed_at=finalized_at or (now if initial in Dispute.CLOSED else None),
                    created_at=now,
                )
        except IntegrityError:  # the same dispute delivered twice at once: the other delivery made it
            dispute = existing.get()
        else:
            dispute_after_open(dispute, actor=actor, now=now)
            return DisputeSynced(dispute=dispute, created=True)
    return _provider_update(
        dispute,
        status=status,
        provider_status=provider_status,
        actor=actor,
        now=now,
        changes={
            "provider_reason": provider_reason[:60],
            "reason_category": reason_category if provider_reason else None,
            "network_reason_code": network_reason_code[:20],
            "amount": amount,
            "currency": currency.upper(),
            "due_at": due_at,
            "submitted_at": submitted_at,
        },
        finalized_at=finalized_at,
        order=order,
        received_at=received_at,
    )


def _provider_update(
    dispute: Dispute,
    *,
    status: str | None,
    provider_status: str,
    actor: Actor,
    now: dt.datetime,
    changes: dict,
    finalized_at: dt.datetime | None,
    order: Order | None,
    received_at: dt.datetime | None,
) -> DisputeSynced:
    steps = _path(dispute.status, status) if status else []
    if (
        steps
        and dispute.status == S.APPEAL_OPEN
        and (finalized_at is None or finalized_at <= dispute.status_changed_at)
    ):
        steps = None  # the loss the appeal is about, delivered again, or a decision older than the appeal
    stale = steps is None
    audit_record(
        dispute,
        action="provider_update",
        actor=actor,
        note=_("%(provider)s says “%(status)s”.")
        % {"provider": dispute.get_provider_display(), "status": provider_status}
        + (" " + _("Older than what we have: nothing changed.") if stale else ""),
        details={
            "provider_status": provider_status,
            "applied": not stale,
            "received_at": received_at.isoformat() if received_at else None,
        },
        at=now,
    )
    if stale:
        return DisputeSynced(dispute=dispute, created=False, stale=True)
    fields: dict = {"provider_status": provider_status[:60]}
    for name, value in changes.items():
        if (
            value not in (None, "")
            and getattr(dispute, name) != value
            and not (name == "submitted_at" and dispute.submitted_at)
        ):
            fields[name] = value
    if "due_at" in fields and dispute.due_at and fields["due_at"] > dispute.due_at:
        fields["warned_hours_before"] = None  # a later deadline: its warnings come again
    if order is not None and dispute.order_id is None:
        fields.update(order=order, customer=dispute.customer or order.customer)
    if finalized_at and status in Dispute.CLOSED:
        fields["closed_at"] = finalized_at
    for name, value in fields.items():
        setattr(dispute, name, value)
    dispute.save(update_fields=[*fields, "updated_at"])
    for step in steps:
        extra = {"closed_at": finalized_at} if finalized_at and step in Dispute.CLOSED else None
        status_move(dispute, to=step, actor=actor, note=_("Reported by %s.") % dispute.get_provider_display(),
                    fields=extra, now=now)  # fmt: skip
    dispute_case_refresh(dispute)
    return DisputeSynced(dispute=dispute, created=False)
