"""Turning an inspected return into its refund, and closing the return once the money went back."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Order
from returns.gateways import gateway_get
from returns.models import Refund, ReturnLine, ReturnRequest
from returns.services.refunds import RefundLineInput, refund_create, refund_process
from returns.services.requests import return_request_close_without_outcome, return_request_resolve

ACCEPTED = (ReturnLine.Disposition.ACCEPT, ReturnLine.Disposition.PARTIAL)


def return_request_refund_key(return_request: ReturnRequest) -> str:
    """One refund per return request: its key is derived from the request, so asking again finds it."""
    return f"return-request-{return_request.pk}"


def _request_lock(return_request: ReturnRequest) -> ReturnRequest:
    return ReturnRequest.objects.select_for_update(of=("self",)).get(pk=return_request.pk)


def return_request_refund(
    *, return_request: ReturnRequest, actor: Actor, method: str | None = None, now: dt.datetime | None = None
) -> Refund | None:
    """Refund the accepted lines of an inspected return, once; close it when nothing was credited.

    Each accepted (or partly accepted) line is refunded with the credit its inspection gave, from which
    inspection already took the restocking fee (`return_request_inspect`): the customer gets exactly the
    refund the return's page showed them. The refund goes through `refund_create` (every invariant, the
    approval threshold); a refund that needs no staff reference (store credit) is processed at once. The request becomes
    resolved when its refund succeeds, now or later (`return_request_resolve_after_refund`). Asked again,
    the same refund is returned and nothing is paid twice. Returns None when the request was closed
    without a refund.
    """
    now = now or timezone.now()
    key = return_request_refund_key(return_request)
    with transaction.atomic():
        # Lock order: the order, then its children (the request, then the refund in refund_create).
        Order.objects.select_for_update(of=("self",)).get(pk=return_request.order_id)
        request = _request_lock(return_request)
        refund = Refund.objects.filter(shop_id=request.shop_id, idempotency_key=key).first()
        if refund is None:
            if request.status != ReturnRequest.Status.INSPECTED:
                raise ValidationError(
                    {
                        "status": _("Return %(number)s is %(status)s: only an inspected return is refunded.")
                        % {"number": request.number, "status": request.get_status_display().lower()}
                    }
                )
            # Inspection set each line's credit, the restocking fee already taken off: that is what is paid.
            credited = [
                line
                for line in request.lines.select_related("order_line").order_by("id")
                if line.disposition in ACCEPTED and line.accepted_quantity > 0 and line.credit_amount > 0
            ]
            if not credited:
                return_request_close_without_outcome(
                    return_request=request,
                    actor=actor,
                    note=_("Nothing was credited at inspection: nothing to refund."),
                    now=now,
                )
                return None
            lines = [
                RefundLineInput(order_line=line.order_line, quantity=line.accepted_quantity, amount=line.credit_amount)
                for line in credited
            ]
            amount = sum((line.credit_amount for line in credited), Decimal("0.00"))
            reason = _("Return %(number)s") % {"number": request.number}
            if request.restocking_fee:
                reason += " " + _("(restocking fee %(fee)s %(currency)s kept)") % {
                    "fee": request.restocking_fee,
                    "currency": request.currency,
                }
            refund = refund_create(
                order=request.order,
                amount=amount,
                lines=lines,
                method=method or request.refund_method,
                reason=reason,
                idempotency_key=key,
                actor=actor,
                return_request=request,
                now=now,
            )
    if refund.status == Refund.Status.APPROVED and not gateway_get(refund.gateway).needs_reference:
        refund = refund_process(refund=refund, actor=actor)
    return refund


def return_request_resolve_after_refund(*, refund: Refund, actor: Actor, now: dt.datetime) -> None:
    """The refund of a return succeeded: the return is resolved. Called under the order's lock."""
    request = _request_lock(refund.return_request)
    if request.can_move_to(ReturnRequest.Status.RESOLVED):
        return_request_resolve(
            return_request=request,
            actor=actor,
            note=_("Refunded %(amount)s %(currency)s.") % {"amount": refund.amount, "currency": refund.currency},
            details={"refund": refund.pk},
            now=now,
        )
