"""Dispute deadlines: warnings 72, 24 and 4 hours before, and unanswered disputes lost at their due time."""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Membership
from returns.models import Case, CaseItem, Dispute
from returns.selectors.disputes import disputes_awaiting_answer
from returns.services.cases import case_priority_raise
from returns.services.disputes.common import dispute_admin_path, dispute_case_refresh, dispute_lock, dispute_source
from returns.transitions import audit_record, status_move

logger = logging.getLogger(__name__)
S = Dispute.Status


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
    for dispute_id in disputes_awaiting_answer().filter(due_at__lt=now).values_list("pk", flat=True):
        with transaction.atomic():
            dispute = dispute_lock(Dispute.objects.only("pk", "order_id").get(pk=dispute_id))
            if not disputes_awaiting_answer().filter(pk=dispute.pk, due_at__lt=now).exists():
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
            dispute_case_refresh(dispute)
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
    candidates = disputes_awaiting_answer().filter(due_at__gt=now, due_at__lte=horizon)
    warned = 0
    for dispute_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            dispute = dispute_lock(Dispute.objects.only("pk", "order_id").get(pk=dispute_id))
            if not disputes_awaiting_answer().filter(pk=dispute.pk, due_at__gt=now).exists():
                continue  # answered meanwhile
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
                case_priority_raise(
                    case=case,
                    priority=Case.Priority.HIGH if hours > 24 else Case.Priority.URGENT,
                    actor=Actor.system("dispute deadline"),
                    note=_("Dispute %(dispute)s is due within %(hours)d hours.") % {"dispute": dispute, "hours": hours},
                    now=now,
                )
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
