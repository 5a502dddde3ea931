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

import datetime as dt
import logging
from collections import deque
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import CareRule
from journeys.services.external import message_plan
from journeys.services.rules import care_rules_for_triggers_create
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, Membership, Merchant, Order
from returns.models import Case, CaseItem, Dispute, DisputeEvidence
from returns.selectors.evidence import dispute_packet, packet_json
from returns.services.cases import case_item_attach
from returns.transitions import audit_record, status_move
from returns.triggers.disputes import DISPUTE_OPENED, DISPUTE_TRIGGER_SPECS, dispute_step

logger = logging.getLogger(__name__)
S = Dispute.Status
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_EXTENSIONS = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", ".csv", ".eml", ".html"})
KINDS = ("chargeback", "inquiry")


@dataclass(frozen=True)
class DisputeSynced:
    dispute: Dispute
    created: bool
    # The delivery was older than what we have: only its raw status was recorded (in the history).
    stale: bool = False


def dispute_source(dispute: Dispute) -> str:
    """The dispute's reference in the support queue (CaseItem.source)."""
    return f"returns.dispute:{dispute.pk}"


def dispute_admin_path(dispute: Dispute) -> str:
    try:
        return reverse("admin:returns_dispute_change", args=[dispute.pk])
    except NoReverseMatch:  # the admin is not mounted (a project without it)
        return ""


def _locked(dispute: Dispute) -> Dispute:
    """The dispute locked for a change, its order locked first (the fixed lock order)."""
    if dispute.order_id:
        Order.objects.select_for_update().filter(pk=dispute.order_id).first()
    return Dispute.objects.select_for_update().select_related("shop", "order", "customer").get(pk=dispute.pk)


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


def _priority_for(dispute: Dispute, now: dt.datetime) -> int:
    urgent = dispute.due_at is not None and dispute.due_at - now <= dt.timedelta(hours=Dispute.WARNING_HOURS[0])
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


def _opened(dispute: Dispute, *, actor: Actor, now: dt.datetime) -> None:
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
            _opened(dispute, actor=actor, now=now)
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
    return DisputeSynced(dispute=dispute, created=False)


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
        order = Order.objects.select_for_update().select_related("customer").get(pk=order.pk)
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
    _opened(dispute, actor=actor, now=now)
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
    dispute = _locked(dispute)
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
    dispute = _locked(dispute)
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
    dispute = _locked(dispute)
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
        return dispute
    status_move(dispute, to=S.SUBMITTED, actor=actor, note=_("Answer submitted with its evidence."), fields=fields,
                now=now)  # fmt: skip
    return dispute


def _move(dispute: Dispute, *, to: str, actor: Actor, note: str, fields: dict | None = None,
          now: dt.datetime | None = None) -> Dispute:  # fmt: skip
    dispute = _locked(dispute)
    status_move(dispute, to=to, actor=actor, note=note, fields=fields, now=now or timezone.now())
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


# --- deadlines ------------------------------------------------------------------------------------------


def _awaiting_answer():
    return Dispute.objects.filter(status__in=Dispute.AWAITING_ANSWER, due_at__isnull=False).exclude(
        status=S.APPEAL_OPEN, appeal_submitted_at__isnull=False
    )


def _owner_emails(shop_id: int) -> list[str]:
    return sorted(
        set(
            Membership.objects.filter(shop_id=shop_id, role=Membership.Role.OWNER, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _mail_after_commit(*, subject: str, body: str, to: list[str]) -> None:
    if not to:
        return

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
        except Exception:  # the state is recorded; a mail server down must not undo it
            logger.exception("Could not send the dispute alert “%s”.", subject)

    transaction.on_commit(send)


def _dispute_words(dispute: Dispute) -> dict[str, str]:
    return {
        "dispute": str(dispute),
        "order": dispute.order.number if dispute.order_id else _("no order"),
        "amount": f"{dispute.amount} {dispute.currency}",
        "reason": str(dispute.get_reason_category_display()),
        "due": dispute.due_at.strftime("%Y-%m-%d %H:%M UTC") if dispute.due_at else "—",
        "url": settings.PUBLIC_BASE_URL + dispute_admin_path(dispute),
    }


def disputes_expire_overdue(*, now: dt.datetime | None = None) -> int:
    """Disputes still waiting for the shop's answer past their deadline become lost (providers decide
    against a silent merchant), each in its own transaction; the shop's owners get one email naming it
    (`owner_alerted_at`). Returns how many were moved."""
    now = now or timezone.now()
    moved = 0
    for dispute_id in _awaiting_answer().filter(due_at__lt=now).values_list("pk", flat=True):
        with transaction.atomic():
            dispute = _locked(Dispute.objects.only("pk", "order_id").get(pk=dispute_id))
            if not _awaiting_answer().filter(pk=dispute.pk, due_at__lt=now).exists():
                continue  # answered meanwhile
            alert = dispute.owner_alerted_at is None
            status_move(
                dispute,
                to=S.LOST,
                actor=Actor.system("dispute deadline"),
                note=_("No answer was submitted before the deadline (%s).")
                % dispute.due_at.strftime("%Y-%m-%d %H:%M UTC"),
                details={"expired": True},
                fields={"owner_alerted_at": now} if alert else None,
                now=now,
            )
            if alert:
                words = _dispute_words(dispute)
                _mail_after_commit(
                    subject=_("Dispute lost: no answer before the deadline (%(dispute)s, order %(order)s)") % words,
                    body=_(
                        "The dispute %(dispute)s (order %(order)s, %(amount)s, %(reason)s) was due on %(due)s and "
                        "no answer was submitted. It is marked lost.\n\nIf the provider allows an appeal, open it "
                        "here: %(url)s\n"
                    )
                    % words,
                    to=_owner_emails(dispute.shop_id),
                )
            moved += 1
    return moved


def _case_of(dispute: Dispute) -> Case | None:
    item = CaseItem.objects.filter(source=dispute_source(dispute)).select_related("case__assignee").first()
    return item.case if item else None


def disputes_warn_due(*, now: dt.datetime | None = None) -> int:
    """Warn about disputes whose answer is due within 72, 24 and 4 hours: once per threshold (the nearest one
    crossed; a dispute found at 3 hours gets only the 4-hour warning), recorded in `warned_hours_before` and
    the history. Each warning raises the case's priority (high at 72 hours, urgent from 24) and emails the
    case's assignee, or the owners when nobody is assigned. Returns how many warnings were made."""
    now = now or timezone.now()
    horizon = now + dt.timedelta(hours=Dispute.WARNING_HOURS[0])
    candidates = _awaiting_answer().filter(due_at__gt=now, due_at__lte=horizon)
    warned = 0
    for dispute_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            dispute = _locked(Dispute.objects.only("pk", "order_id").get(pk=dispute_id))
            if dispute.status not in Dispute.AWAITING_ANSWER or not dispute.due_at or dispute.due_at <= now:
                continue
            left = dispute.due_at - now
            hours = min(h for h in Dispute.WARNING_HOURS if left <= dt.timedelta(hours=h))
            if dispute.warned_hours_before is not None and dispute.warned_hours_before <= hours:
                continue
            dispute.warned_hours_before = hours
            dispute.save(update_fields=["warned_hours_before", "updated_at"])
            audit_record(
                dispute,
                action="due_warning",
                actor=Actor.system("dispute deadline"),
                note=_("The answer is due within %d hours.") % hours,
                details={"hours_before": hours, "due_at": dispute.due_at.isoformat()},
                at=now,
            )
            case = _case_of(dispute)
            if case is not None:
                _case_priority_raise(case, to=Case.Priority.HIGH if hours > 24 else Case.Priority.URGENT, now=now,
                                     why=_("Dispute %(dispute)s is due within %(hours)d hours.")
                                     % {"dispute": dispute, "hours": hours})  # fmt: skip
            assignee = case.assignee if case is not None else None
            to = [assignee.email] if assignee is not None and assignee.email else _owner_emails(dispute.shop_id)
            words = {**_dispute_words(dispute), "hours": hours}
            _mail_after_commit(
                subject=_("Dispute due within %(hours)d hours: %(dispute)s (order %(order)s)") % words,
                body=_(
                    "The answer to dispute %(dispute)s (order %(order)s, %(amount)s, %(reason)s) is due on %(due)s. "
                    "Without an answer by then it is lost.\n\nReview the evidence and submit it: %(url)s\n"
                )
                % words,
                to=to,
            )
            warned += 1
    return warned


def _case_priority_raise(case: Case, *, to: int, now: dt.datetime, why: str) -> None:
    """The case sorts higher in the queue; never lowered here. Audited on the case."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.priority >= to:
        return
    before = case.priority
    Case.objects.filter(pk=case.pk).update(priority=to, updated_at=now)
    audit_record(
        case,
        action="priority",
        actor=Actor.system("dispute deadline"),
        note=why,
        details={"from": before, "to": to},
        at=now,
    )
