"""The customer asks: a return request from the portal, judged by the shop's policy at once."""

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchant.actors import Actor
from merchant.models import Order
from merchant.uploads import PreparedFile
from returns.models import Case, CaseItem, RefundMethod, ReturnLine, ReturnPhoto, ReturnReason, ReturnRequest
from returns.selectors.requests import (
    line_value,
    refund_estimate,
    return_eligibility,
    return_policy_for,
)
from returns.services.cases import case_item_attach
from returns.services.requests.steps import admin_path_of, approval_record, customer_tell
from returns.transitions import audit_record, status_move

Status = ReturnRequest.Status
Disposition = ReturnLine.Disposition
# The customer's word is enough for a size or a change of mind; damage and wrong items are shown with a photo.
PHOTO_REASONS = frozenset({ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM})
PHOTOS_PER_REQUEST = 5


@dataclass(frozen=True)
class LineChoice:
    order_line_id: int
    quantity: int


class ReviewReason:
    HIGH_VALUE = "high_value"
    PHOTOS_MISSING = "photos_missing"


REVIEW_REASON_WORDS = {
    ReviewReason.HIGH_VALUE: "worth more than the policy lets through without a person",
    ReviewReason.PHOTOS_MISSING: "no photo of the damaged or wrong item",
}


def _to_queue(return_request: ReturnRequest, *, actor: Actor, now: dt.datetime) -> CaseItem:
    """Put the request in the support queue, on the case of its order (idempotent per request)."""
    if return_request.review_reasons:
        reasons = "; ".join(REVIEW_REASON_WORDS.get(reason, reason) for reason in return_request.review_reasons)
        summary = f"Return {return_request.number} needs review: {reasons}"
        priority = Case.Priority.HIGH
    else:
        summary = f"Return {return_request.number} waits for approval"
        priority = None
    return case_item_attach(
        shop=return_request.shop,
        order=return_request.order,
        customer=return_request.customer,
        kind=CaseItem.Kind.RETURN_REQUEST,
        source=f"returns.returnrequest:{return_request.pk}",
        summary=summary,
        actor=actor,
        admin_path=admin_path_of(return_request),
        priority=priority,
        now=now,
        return_request=return_request,
    )


def _photo_store(return_request: ReturnRequest, photo: PreparedFile) -> ReturnPhoto | None:
    if ReturnPhoto.objects.filter(return_request=return_request, sha256=photo.sha256).exists():
        return None  # the same picture chosen twice
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(photo.content_type, "bin")
    stored = ReturnPhoto(
        return_request=return_request,
        content_type=photo.content_type,
        size=len(photo.content),
        width=photo.width,
        height=photo.height,
        sha256=photo.sha256,
        original_name=photo.original_name[:200],
    )
    # A random name: the customer's file name may say more than the picture (and is kept apart).
    stored.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(photo.content), save=False)
    stored.save()
    return stored


def _next_number(order: Order) -> str:
    """#1001-R1, #1001-R2, ... per order (the order row is locked, so two requests cannot take the same)."""
    count = ReturnRequest.objects.filter(order=order).count()
    return f"{order.number[:30]}-R{count + 1}"


# --- the customer asks ----------------------------------------------------------------------------------------


@transaction.atomic
def return_request_create(
    *,
    order: Order,
    lines: Sequence[LineChoice],
    reason: str,
    actor: Actor,
    comment: str = "",
    photos: Sequence[PreparedFile] = (),
    refund_method: str = "",
    now: dt.datetime | None = None,
) -> ReturnRequest:
    """Store a request to return `lines` of `order`, then judge it by the shop's policy.

    Guarantees: the order row is locked first, so two requests at once cannot return the same item twice;
    a line can return at most what was bought minus what is already in an open or resolved return, and never
    an item of a non-returnable category; the window (with the EU floor) is the one of now and is kept on the
    request. Refused with a ValidationError naming the field (`lines`, `reason`, `refund_method`, `comment`,
    `photos`, or `__all__` for the window) and nothing stored otherwise.

    Then: a request that needs a person (high value, no photo of a damaged or wrong item) moves to needs_review
    with its `review_reasons`; else one the policy lets through (worth at most the auto-approve amount, or a
    listed reason) is approved by the rule; else it stays requested for staff. One that needs a person goes to
    the support queue. The customer is told (return_requested, or return_approved when approved at once).
    """
    now = now or timezone.now()
    order = Order.objects.select_for_update(of=("self",)).select_related("shop", "customer").get(pk=order.pk)
    policy = return_policy_for(order.shop_id)
    eligibility = return_eligibility(order=order, policy=policy, now=now)
    if not eligibility.can_return:
        raise ValidationError({"__all__": eligibility.refusal})
    errors: dict[str, str] = {}
    if reason not in ReturnReason.values:
        errors["reason"] = _("Choose why you are returning the items.")
    refund_method = refund_method or (policy.refund_methods[0] if policy.refund_methods else "")
    if refund_method not in policy.refund_methods or refund_method not in RefundMethod.values:
        errors["refund_method"] = _("Choose how you would like to be refunded.")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        errors["comment"] = _("Keep the comment under 2000 characters.")
    if len(photos) > PHOTOS_PER_REQUEST:
        errors["photos"] = _("Choose up to %d photos.") % PHOTOS_PER_REQUEST
    if reason == ReturnReason.OTHER and not comment:
        errors["comment"] = _("Tell us a little about the reason.")
    chosen: dict[int, int] = {}
    for choice in lines:
        if choice.quantity:
            chosen[choice.order_line_id] = chosen.get(choice.order_line_id, 0) + choice.quantity
    line_problems = []
    for order_line_id, quantity in chosen.items():
        entry = eligibility.line(order_line_id)
        if entry is None:
            line_problems.append(_("An item that is not part of this order was chosen."))
        elif quantity < 0:
            line_problems.append(_("%(item)s: choose a quantity of 0 or more.") % {"item": entry.line.title})
        elif entry.refusal:
            line_problems.append(f"{entry.line.title}: {entry.refusal}")
        elif quantity > entry.returnable:
            line_problems.append(
                _("%(item)s: you can return at most %(count)d.") % {"item": entry.line.title, "count": entry.returnable}
            )
    if line_problems:
        errors["lines"] = " ".join(line_problems)
    elif not chosen:
        errors["lines"] = _("Choose at least one item to return.")
    if errors:
        raise ValidationError(errors)

    values = [line_value(eligibility.line(line_id).line, quantity) for line_id, quantity in chosen.items()]
    estimate = refund_estimate(policy=policy, reason=reason, values=values)
    return_request = ReturnRequest.objects.create(
        shop=order.shop,
        order=order,
        customer=order.customer,
        number=_next_number(order),
        status=Status.REQUESTED,
        status_changed_at=now,
        created_at=now,
        reason=reason,
        comment=comment,
        refund_method=refund_method,
        window_ends_at=eligibility.window.ends_at,
        eu_floor_applied=eligibility.window.eu_floor_applied,
        estimated_refund=estimate.refund,
        restocking_fee=estimate.restocking_fee,
        currency=order.currency,
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(return_request=return_request, order_line_id=line_id, quantity=quantity, reason=reason)
        for line_id, quantity in chosen.items()
    )
    stored_photos = [stored for photo in photos if (stored := _photo_store(return_request, photo)) is not None]
    audit_record(
        return_request,
        action="requested",
        actor=actor,
        to_status=Status.REQUESTED,
        note=comment,
        details={
            "lines": {str(line_id): quantity for line_id, quantity in chosen.items()},
            "photos": len(stored_photos),
            "window_ends_at": eligibility.window.ends_at.isoformat(),
            "eu_floor_applied": eligibility.window.eu_floor_applied,
        },
        at=now,
    )

    review_reasons = []
    if policy.review_above_amount is not None and estimate.items_value > policy.review_above_amount:
        review_reasons.append(ReviewReason.HIGH_VALUE)
    if reason in PHOTO_REASONS and not stored_photos:
        review_reasons.append(ReviewReason.PHOTOS_MISSING)
    if review_reasons:
        status_move(
            return_request,
            to=Status.NEEDS_REVIEW,
            actor=Actor.rule("Return policy"),
            note="; ".join(REVIEW_REASON_WORDS[reason] for reason in review_reasons),
            details={"review_reasons": review_reasons},
            fields={"review_reasons": review_reasons},
            now=now,
        )
    else:
        rule = _auto_approve_rule(policy, reason=reason, items_value=estimate.items_value)
        if rule:
            approval_record(return_request, actor=Actor.rule(rule), note=rule, auto=True, policy=policy, now=now)
            return return_request
    _to_queue(return_request, actor=actor, now=now)
    customer_tell(return_request, "return_requested", now=now)
    return return_request


def _auto_approve_rule(policy, *, reason: str, items_value: Decimal) -> str:
    """The words of the policy rule that approves this request by itself, or "" when none does."""
    if reason in policy.auto_approve_reasons:
        return f"Return policy: approve “{ReturnReason(reason).label}” by itself"
    if policy.auto_approve_max_amount is not None and items_value <= policy.auto_approve_max_amount:
        return f"Return policy: approve up to {policy.auto_approve_max_amount} by itself"
    return ""
