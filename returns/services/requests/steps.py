"""Steps of a return request after it was asked for: approve, decline, sent back, received, inspected,
cancelled, expired, resolved. Each locks the order, then the request, and tells the customer where it should."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import CareRule
from journeys.services.external import message_plan
from merchant.actors import Actor
from merchant.actors import Kind as ActorKind
from merchant.exceptions import InvalidTransition
from merchant.models import Order
from returns.models import ReturnLine, ReturnRequest
from returns.selectors.requests import (
    CUSTOMER_CANCELLABLE,
    FEE_REASONS,
    line_value,
    refund_estimate,
    return_policy_for,
    return_requests_expired_due,
)
from returns.services.policy import return_rules_default_create
from returns.transitions import status_move
from returns.triggers.requests import RETURN_TRIGGERS, return_step

Status = ReturnRequest.Status
Disposition = ReturnLine.Disposition
DECLINE_MESSAGE_MAX = 500


@dataclass(frozen=True)
class LineInspection:
    return_line_id: int
    disposition: str  # accept | reject | partial
    accepted_quantity: int | None = None  # partial only: how many of the line are accepted
    restock: bool = False
    note: str = ""


# --- helpers -------------------------------------------------------------------------------------------------


def _locked(return_request: ReturnRequest) -> ReturnRequest:
    """Lock the order, then the request: the fixed order every writer of returns keeps."""
    Order.objects.select_for_update().filter(pk=return_request.order_id).values_list("pk").first()
    # Only the request's row: PostgreSQL cannot lock the nullable side of the join to the customer.
    return (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("shop", "order", "customer")
        .get(pk=return_request.pk)
    )


def customer_tell(return_request: ReturnRequest, trigger: str, *, now: dt.datetime) -> None:
    """Plan the customer's message of this step, once per request and trigger (journeys' idempotency key)."""
    if return_request.customer is None:
        return
    shop = return_request.shop
    if not CareRule.objects.filter(shop=shop, trigger__in=RETURN_TRIGGERS).exists():
        return_rules_default_create(shop=shop)  # a shop from before returns existed
    message_plan(
        trigger=trigger,
        shop=shop,
        customer=return_request.customer,
        order=return_request.order,
        anchor_at=now,
        step=return_step(return_request.pk),
        now=now,
    )


def admin_path_of(return_request: ReturnRequest) -> str:
    return reverse("admin:returns_returnrequest_change", args=[return_request.pk])


# --- staff (or a rule) decide ------------------------------------------------------------------------------------


def approval_record(return_request, *, actor: Actor, note: str, auto: bool, policy, now: dt.datetime) -> None:
    status_move(
        return_request,
        to=Status.APPROVED,
        actor=actor,
        note=note,
        details={"auto_approved": auto},
        fields={
            "auto_approved": auto,
            "instructions_expire_at": now + dt.timedelta(days=policy.instructions_valid_days),
        },
        now=now,
    )
    customer_tell(return_request, "return_approved", now=now)


@transaction.atomic
def return_request_approve(
    *, return_request: ReturnRequest, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> ReturnRequest:
    """Approve a requested (or reviewed) return: the customer gets the shop's instructions and has
    `instructions_valid_days` to send the items, after which the approval expires."""
    now = now or timezone.now()
    locked = _locked(return_request)
    approval_record(locked, actor=actor, note=note, auto=False, policy=return_policy_for(locked.shop_id), now=now)
    return locked


@transaction.atomic
def return_request_decline(
    *, return_request: ReturnRequest, actor: Actor, code: str, message: str, now: dt.datetime | None = None
) -> ReturnRequest:
    """Decline a return with an internal reason code and words to the customer (at most 500 characters), which
    the customer receives as written. Refused with a ValidationError naming `code` or `message`."""
    now = now or timezone.now()
    message = (message or "").strip()
    errors = {}
    if code not in ReturnRequest.DeclineCode.values:
        errors["code"] = _("Choose a reason.")
    if not message:
        errors["message"] = _("Write the customer a few words: they will read them.")
    elif len(message) > DECLINE_MESSAGE_MAX:
        errors["message"] = _("Keep the message under %(max)d characters (it has %(count)d).") % {
            "max": DECLINE_MESSAGE_MAX,
            "count": len(message),
        }
    if errors:
        raise ValidationError(errors)
    locked = _locked(return_request)
    status_move(
        locked,
        to=Status.DECLINED,
        actor=actor,
        note=message,
        details={"code": code},
        fields={"decline_code": code, "decline_message": message},
        now=now,
    )
    customer_tell(locked, "return_declined", now=now)
    return locked


@transaction.atomic
def return_request_mark_in_transit(
    *,
    return_request: ReturnRequest,
    actor: Actor,
    carrier: str = "",
    tracking_number: str = "",
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """The items are on their way back (a carrier scan, the customer, or staff), with the parcel's carrier and
    tracking number when known."""
    now = now or timezone.now()
    carrier, tracking_number = (carrier or "").strip(), (tracking_number or "").strip()
    errors = {}
    if len(carrier) > 100:
        errors["carrier"] = _("At most 100 characters.")
    if len(tracking_number) > 100:
        errors["tracking_number"] = _("At most 100 characters.")
    if errors:
        raise ValidationError(errors)
    locked = _locked(return_request)
    status_move(
        locked,
        to=Status.IN_TRANSIT,
        actor=actor,
        details={"carrier": carrier, "tracking_number": tracking_number},
        fields={"return_carrier": carrier, "return_tracking_number": tracking_number},
        now=now,
    )
    return locked


@transaction.atomic
def return_request_mark_received(
    *, return_request: ReturnRequest, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> ReturnRequest:
    """The items arrived back (from the journey, or handed over in a shop); the customer is told."""
    now = now or timezone.now()
    locked = _locked(return_request)
    status_move(locked, to=Status.RECEIVED, actor=actor, note=note, now=now)
    customer_tell(locked, "return_received", now=now)
    return locked


@transaction.atomic
def return_request_inspect(
    *,
    return_request: ReturnRequest,
    actor: Actor,
    lines: Iterable[LineInspection],
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """Record what was found in the parcel, line by line: accepted, rejected, or partly accepted (how many), and
    whether the items go back to stock. Every line of the request must be judged.

    Then each line's `credit_amount` is what its accepted items are worth less the restocking fee (for a change
    of mind or size), and the request's `estimated_refund` and `restocking_fee` are those of the accepted items:
    what the refund will be. Refused with a ValidationError naming `lines` and nothing changed otherwise.
    """
    now = now or timezone.now()
    locked = _locked(return_request)
    by_id = {line.pk: line for line in locked.lines.select_related("order_line")}
    judged = {inspection.return_line_id: inspection for inspection in lines}
    problems = []
    if set(judged) - set(by_id):
        problems.append(_("A line that is not part of this return was given."))
    for line_id, line in by_id.items():
        inspection = judged.get(line_id)
        title = line.order_line.title
        if inspection is None:
            problems.append(_("%s: say whether it is accepted.") % title)
        elif inspection.disposition not in (Disposition.ACCEPT, Disposition.REJECT, Disposition.PARTIAL):
            problems.append(_("%s: choose accept, reject or partial.") % title)
        elif inspection.disposition == Disposition.PARTIAL and not (
            inspection.accepted_quantity is not None and 0 < inspection.accepted_quantity < line.quantity
        ):
            problems.append(
                _("%(item)s: a partial acceptance takes between 1 and %(most)d of the %(count)d items.")
                % {"item": title, "most": line.quantity - 1, "count": line.quantity}
            )
        elif len(inspection.note) > 500:
            problems.append(_("%s: keep the note under 500 characters.") % title)
    if problems:
        raise ValidationError({"lines": problems})
    if not locked.can_move_to(Status.INSPECTED):
        # Refused by the table before any line is touched: status_move raises InvalidTransition and saves nothing.
        status_move(locked, to=Status.INSPECTED, actor=actor, now=now)
    policy = return_policy_for(locked.shop_id)
    fee_percent = policy.restocking_fee_percent if locked.reason in FEE_REASONS else Decimal("0")
    summary, values = {}, []
    for line_id, line in by_id.items():
        inspection = judged[line_id]
        accepted = {
            Disposition.ACCEPT: line.quantity,
            Disposition.REJECT: 0,
            Disposition.PARTIAL: inspection.accepted_quantity,
        }[inspection.disposition]
        value = line_value(line.order_line, accepted) if accepted else Decimal("0")
        values.append(value)
        line_estimate = refund_estimate(policy=policy, reason=locked.reason, values=[value])
        line.disposition = inspection.disposition
        line.accepted_quantity = accepted
        line.credit_amount = line_estimate.refund
        line.restock = bool(inspection.restock and accepted)
        line.inspection_note = inspection.note.strip()
        summary[str(line_id)] = {"disposition": inspection.disposition, "accepted": accepted, "restock": line.restock}
    ReturnLine.objects.bulk_update(
        by_id.values(), ["disposition", "accepted_quantity", "credit_amount", "restock", "inspection_note"]
    )
    total = refund_estimate(policy=policy, reason=locked.reason, values=values)
    # The refund follows the lines: their credits add up to it exactly (no rounding gap between the two).
    refund = sum((line.credit_amount for line in by_id.values()), Decimal("0"))
    status_move(
        locked,
        to=Status.INSPECTED,
        actor=actor,
        details={"lines": summary, "fee_percent": str(fee_percent)},
        fields={"estimated_refund": refund, "restocking_fee": total.items_value - refund},
        now=now,
    )
    return locked


@transaction.atomic
def return_request_cancel(
    *, return_request: ReturnRequest, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> ReturnRequest:
    """Call a return off before anything was sent back; its items can be returned again. A customer may cancel
    while it is requested, under review or approved; the shop tells them when it cancels."""
    now = now or timezone.now()
    locked = _locked(return_request)
    if actor.kind == ActorKind.CUSTOMER and locked.status not in CUSTOMER_CANCELLABLE:
        raise ValidationError({"__all__": _("This return can no longer be cancelled: the items are on their way.")})
    status_move(locked, to=Status.CANCELLED, actor=actor, note=note, now=now)
    if actor.kind != ActorKind.CUSTOMER:
        customer_tell(locked, "return_cancelled", now=now)
    return locked


@transaction.atomic
def return_request_expire(*, return_request: ReturnRequest, now: dt.datetime | None = None) -> ReturnRequest:
    """An approved return whose instructions ran out without the items being sent: expired, items returnable
    again while the window is open; the customer is told."""
    now = now or timezone.now()
    locked = _locked(return_request)
    if locked.instructions_expire_at is None or locked.instructions_expire_at > now:
        raise ValidationError({"__all__": _("The approval of this return has not run out yet.")})
    status_move(
        locked,
        to=Status.EXPIRED,
        actor=Actor.system("Return expiry"),
        note="Nothing was sent back before the approval ran out.",
        now=now,
    )
    customer_tell(locked, "return_expired", now=now)
    return locked


def return_requests_expire_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Expire the approved returns whose instructions ran out, each in its own transaction. Returns the count."""
    now = now or timezone.now()
    expired = 0
    for due in list(return_requests_expired_due(now=now).only("pk", "order_id")[:limit]):
        try:
            return_request_expire(return_request=due, now=now)
        except (ValidationError, InvalidTransition):
            continue  # sent back, cancelled or given more time meanwhile
        expired += 1
    return expired


# --- the end of the road (called by refunds) ----------------------------------------------------------------


@transaction.atomic
def return_request_resolve(
    *,
    return_request: ReturnRequest,
    actor: Actor,
    note: str = "",
    details: dict | None = None,
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """Close an inspected return with its outcome (refund, store credit, exchange; `details` names them), or an
    approved keep-the-item return. The refunds part calls this once the money is on its way."""
    now = now or timezone.now()
    locked = _locked(return_request)
    status_move(locked, to=Status.RESOLVED, actor=actor, note=note, details=details, now=now)
    return locked


@transaction.atomic
def return_request_close_without_outcome(
    *, return_request: ReturnRequest, actor: Actor, note: str = "", now: dt.datetime | None = None
) -> ReturnRequest:
    """Close an inspected return that gets nothing (every line rejected, the goods go back to the customer)."""
    now = now or timezone.now()
    locked = _locked(return_request)
    status_move(locked, to=Status.CLOSED_NO_OUTCOME, actor=actor, note=note, now=now)
    return locked
