"""Disputes recorded by staff or the API, and worked to an answer: evidence, staging, one submission, outcomes."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, Merchant, Order
from returns.models import Dispute, DisputeEvidence
from returns.selectors.evidence import dispute_packet, packet_json
from returns.services.disputes.common import (
    EVIDENCE_EXTENSIONS,
    EVIDENCE_MAX_BYTES,
    KINDS,
    dispute_after_open,
    dispute_case_refresh,
    dispute_lock,
)
from returns.transitions import audit_record, status_move

S = Dispute.Status

# --- by staff or the API -------------------------------------------------------------------------------


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: _("Enter an amount such as 49.90.")}) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**12:
        raise ValidationError({field: _("Enter an amount of zero or more with at most two decimals.")})
    return amount


@transaction.atomic
def dispute_create(
    *,
    shop: Merchant,
    actor: Actor,
    due_at: dt.datetime | None,
    amount: Decimal | str,
    reason_category: str = Dispute.ReasonCategory.OTHER,
    provider: str = Dispute.Provider.MARKETPLACE,
    external_id: str = "",
    kind: str = "chargeback",
    provider_reason: str = "",
    currency: str = "",
    order: Order | None = None,
    customer: Customer | None = None,
    opened_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Record a dispute staff or an API client learnt of (a marketplace claim, a bank letter), with the
    deadline set by hand. It gets what every new dispute gets (queue, customer guidance).

    Refused with a ValidationError naming the field, and nothing stored, when: the deadline is missing or
    already passed, the amount is not money, the order or customer is another shop's, the reason, provider
    or kind is unknown, or the provider's reference was recorded before.
    """
    now = now or timezone.now()
    problems: dict[str, str] = {}
    if due_at is None:
        problems["due_at"] = _("Set the deadline for the answer (the provider's “respond by” time).")
    elif timezone.is_naive(due_at):
        problems["due_at"] = _("Give the deadline with its time zone.")
    elif due_at <= now:
        problems["due_at"] = _("The deadline must be in the future.")
    if reason_category not in Dispute.ReasonCategory.values:
        problems["reason_category"] = _("Choose one of: %s.") % ", ".join(Dispute.ReasonCategory.values)
    if provider not in Dispute.Provider.values:
        problems["provider"] = _("Choose one of: %s.") % ", ".join(Dispute.Provider.values)
    if kind not in KINDS:
        problems["kind"] = _("Choose chargeback or inquiry.")
    if order is not None and order.shop_id != shop.pk:
        problems["order"] = _("No such order in this shop.")
    if customer is not None and customer.shop_id != shop.pk:
        problems["customer"] = _("No such customer in this shop.")
    currency = currency or (order.currency if order is not None and order.shop_id == shop.pk else shop.currency)
    if len(currency) != 3 or not currency.isalpha():
        problems["currency"] = _("Use a three-letter currency code such as EUR.")
    external_id = (external_id or "").strip()[:255]
    if external_id and Dispute.objects.filter(shop=shop, provider=provider, external_id=external_id).exists():
        problems["external_id"] = _("A dispute with this reference is already recorded.")
    try:
        amount = _money(amount, "amount")
    except ValidationError as error:
        problems.update({field: messages[0] for field, messages in error.message_dict.items()})
    if problems:
        raise ValidationError(problems)
    if order is not None:
        order = Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order.pk)
    dispute = Dispute.objects.create(
        shop=shop,
        order=order,
        customer=customer or (order.customer if order is not None else None),
        provider=provider,
        external_id=external_id or None,
        kind=kind,
        status=S.INQUIRY_OPEN if kind == "inquiry" else S.NEEDS_RESPONSE,
        status_changed_at=now,
        provider_reason=provider_reason[:60],
        reason_category=reason_category,
        amount=amount,
        currency=currency.upper(),
        opened_at=opened_at or now,
        due_at=due_at,
        created_at=now,
    )
    dispute_after_open(dispute, actor=actor, now=now)
    return dispute


# --- working a dispute ----------------------------------------------------------------------------------


def _refuse_when_answered(dispute: Dispute) -> None:
    if dispute.status == S.APPEAL_OPEN:
        answered = dispute.appeal_submitted_at
    else:
        answered = dispute.submitted_at if dispute.status not in {S.NEEDS_RESPONSE, S.INQUIRY_OPEN} else None
    if answered:
        raise InvalidTransition(
            _("The answer to dispute %(name)s was submitted on %(when)s. Providers take one answer: it cannot be "
              "changed or submitted again.")
            % {"name": dispute, "when": answered.strftime("%Y-%m-%d %H:%M UTC")}
        )  # fmt: skip
    if dispute.status not in Dispute.AWAITING_ANSWER:
        raise InvalidTransition(
            _("Dispute %(name)s is %(status)s: there is nothing to answer.")
            % {"name": dispute, "status": dispute.get_status_display().lower()}
        )


def _evidence_file_check(file: UploadedFile | None) -> None:
    if file is None:
        return
    if PurePath(file.name or "").suffix.lower() not in EVIDENCE_EXTENSIONS:
        raise ValidationError(
            {"file": _("Attach a PDF, an image, a text, CSV, HTML or email file (%s).") % ", ".join(
                sorted(EVIDENCE_EXTENSIONS))}
        )  # fmt: skip
    if file.size > EVIDENCE_MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 10 MB.")})


@transaction.atomic
def dispute_evidence_add(
    *, dispute: Dispute, actor: Actor, title: str, text: str = "", file: UploadedFile | None = None,
    now: dt.datetime | None = None,
) -> DisputeEvidence:  # fmt: skip
    """Add a note or a document to the dispute's evidence, until its answer is submitted.

    Refused (ValidationError naming the field, or InvalidTransition once answered or closed), nothing stored.
    """
    now = now or timezone.now()
    title, text = (title or "").strip(), (text or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the evidence a title, e.g. “Signed delivery receipt”.")})
    if len(title) > 200:
        raise ValidationError({"title": _("Keep the title under 200 characters.")})
    if not text and file is None:
        raise ValidationError({"text": _("Write something or attach a file.")})
    _evidence_file_check(file)
    dispute = dispute_lock(dispute)
    _refuse_when_answered(dispute)
    evidence = DisputeEvidence.objects.create(
        dispute=dispute, title=title, text=text, file=file or "", added_by=actor.user, created_at=now
    )
    audit_record(dispute, action="evidence_added", actor=actor, note=title, details={"evidence": evidence.pk}, at=now)
    return evidence


def _answer_inquiry(dispute: Dispute, *, actor: Actor, now: dt.datetime) -> None:
    # An inquiry is answered like a chargeback: it needs a response from here on.
    if dispute.status == S.INQUIRY_OPEN:
        status_move(dispute, to=S.NEEDS_RESPONSE, actor=actor, note=_("Answering the inquiry."), now=now)


def _snapshot(dispute: Dispute, *, response_text: str | None, now: dt.datetime, submitted: bool = False) -> dict:
    if response_text is not None:
        dispute.response_text = response_text.strip()
    packet = packet_json(dispute_packet(dispute=dispute))
    packet["staged_at"] = now.isoformat()
    if submitted:
        packet["submitted_at"] = now.isoformat()
    return packet


@transaction.atomic
def dispute_stage(
    *, dispute: Dispute, actor: Actor, response_text: str | None = None, now: dt.datetime | None = None
) -> Dispute:
    """Keep a snapshot of the evidence packet (and the written answer) in `staged_packet` for review.

    Staging again replaces the snapshot; possible until the answer is submitted (InvalidTransition after).
    """
    now = now or timezone.now()
    dispute = dispute_lock(dispute)
    _refuse_when_answered(dispute)
    _answer_inquiry(dispute, actor=actor, now=now)
    packet = _snapshot(dispute, response_text=response_text, now=now)
    fields = {"staged_packet": packet, "response_text": dispute.response_text}
    if dispute.status == S.NEEDS_RESPONSE:
        status_move(dispute, to=S.EVIDENCE_STAGED, actor=actor, note=_("Evidence staged for review."), fields=fields,
                    now=now)  # fmt: skip
    else:
        for name, value in fields.items():
            setattr(dispute, name, value)
        dispute.save(update_fields=[*fields, "updated_at"])
        audit_record(dispute, action="restaged", actor=actor, note=_("Evidence staged again."), at=now)
    return dispute


@transaction.atomic
def dispute_submit(
    *, dispute: Dispute, actor: Actor, response_text: str | None = None, now: dt.datetime | None = None
) -> Dispute:
    """Record that the answer (the packet as it is now, kept in `staged_packet`) went to the provider.

    Final: a second submission is refused with InvalidTransition saying when the first was made. Refused
    with a ValidationError naming `response_text` without a written answer. During an appeal, the appeal's
    answer is submitted once the same way (`appeal_submitted_at`).
    """
    now = now or timezone.now()
    dispute = dispute_lock(dispute)
    _refuse_when_answered(dispute)
    text = (response_text if response_text is not None else dispute.response_text).strip()
    if not text:
        raise ValidationError({"response_text": _("Write the answer to the claim before submitting.")})
    _answer_inquiry(dispute, actor=actor, now=now)
    packet = _snapshot(dispute, response_text=text, now=now, submitted=True)
    fields = {"staged_packet": packet, "response_text": text}
    if dispute.status == S.APPEAL_OPEN:
        fields["appeal_submitted_at"] = now
        for name, value in fields.items():
            setattr(dispute, name, value)
        dispute.save(update_fields=[*fields, "updated_at"])
        audit_record(dispute, action="appeal_submitted", actor=actor, note=_("Appeal answer submitted."), at=now)
        dispute_case_refresh(dispute)
        return dispute
    status_move(dispute, to=S.SUBMITTED, actor=actor, note=_("Answer submitted with its evidence."), fields=fields,
                now=now)  # fmt: skip
    dispute_case_refresh(dispute)
    return dispute


def _move(dispute: Dispute, *, to: str, actor: Actor, note: str, fields: dict | None = None,
          now: dt.datetime | None = None) -> Dispute:  # fmt: skip
    dispute = dispute_lock(dispute)
    status_move(dispute, to=to, actor=actor, note=note, fields=fields, now=now or timezone.now())
    dispute_case_refresh(dispute)
    return dispute


@transaction.atomic
def dispute_accept(*, dispute: Dispute, actor: Actor, note: str = "", now: dt.datetime | None = None) -> Dispute:
    """Accept the loss without contesting (irreversible, as the providers' own "accept")."""
    return _move(dispute, to=S.ACCEPTED, actor=actor, note=note or _("Accepted without contesting."), now=now)


@transaction.atomic
def dispute_settle(*, dispute: Dispute, actor: Actor, note: str = "", now: dt.datetime | None = None) -> Dispute:
    """Closed by an agreement with the customer (a refund or an offer they took)."""
    return _move(dispute, to=S.SETTLED, actor=actor, note=note or _("Settled with the customer."), now=now)


@transaction.atomic
def dispute_close_won(*, dispute: Dispute, actor: Actor, note: str = "", now: dt.datetime | None = None) -> Dispute:
    """Record that the provider decided for the shop."""
    return _move(dispute, to=S.WON, actor=actor, note=note or _("Decided for the shop."), now=now)


@transaction.atomic
def dispute_close_lost(*, dispute: Dispute, actor: Actor, note: str = "", now: dt.datetime | None = None) -> Dispute:
    """Record that the provider decided for the customer."""
    return _move(dispute, to=S.LOST, actor=actor, note=note or _("Decided for the customer."), now=now)


@transaction.atomic
def dispute_appeal(
    *, dispute: Dispute, actor: Actor, due_at: dt.datetime | None, note: str = "", now: dt.datetime | None = None
) -> Dispute:
    """Appeal a lost dispute (PayPal pre-arbitration, Amazon and eBay's 30-day appeals) with its new deadline.

    The deadline's warnings and the overdue alert apply again. Refused (ValidationError naming `due_at`)
    without a future deadline.
    """
    now = now or timezone.now()
    if due_at is None or timezone.is_naive(due_at) or due_at <= now:
        raise ValidationError({"due_at": _("Set the appeal's deadline, in the future.")})
    fields = {"due_at": due_at, "closed_at": None, "warned_hours_before": None, "owner_alerted_at": None}
    return _move(dispute, to=S.APPEAL_OPEN, actor=actor, note=note or _("Appeal opened."), fields=fields, now=now)
