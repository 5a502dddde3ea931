"""Review requests: planned when an order is delivered, one per group of items due on the same day.

The messages themselves are journeys outbox rows (triggers `review_request`, `review_reminder`),
so the shop's rules give channel, hours and copy, and the class per country, consent, contact
budget and holds (open return, dispute, late shipment) apply as to any message.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.models import Message
from journeys.services.external import message_plan, messages_cancel_for_step, trigger_has_active_rule
from merchant.models import Order, OrderEvent, OrderLine
from reviews.models import ReviewPolicy, ReviewRequest, ReviewRequestItem
from reviews.models.policy import MAX_REMINDERS

Status = ReviewRequest.Status
REQUEST_TRIGGER = "review_request"
REMINDER_TRIGGER = "review_reminder"
DAY = dt.timedelta(days=1)
SCAN_BATCH = 1000


def request_step(request_id: int) -> str:
    return f"review-{request_id}"


def reminder_step(request_id: int, number: int) -> str:
    return f"review-{request_id}-reminder-{number}"


def _policy_for(shop_id: int) -> ReviewPolicy:
    policy = ReviewPolicy.objects.filter(shop_id=shop_id).prefetch_related("delays").first()
    return policy if policy is not None else ReviewPolicy(shop_id=shop_id)


def _day(moment: dt.datetime, time_zone: str) -> str:
    local = timezone.localtime(moment, ZoneInfo(time_zone))
    return f"{local.day} {local:%b %Y}"


# --- when each item can be judged ---------------------------------------------------------------------


@dataclass(frozen=True)
class LineDelay:
    days: int
    why: str  # "product “Washer”", "category “vouchers”", "the shop's default"


def line_delays(*, policy: ReviewPolicy, lines: Iterable[OrderLine]) -> dict[int, LineDelay]:
    """Days after delivery for each line: the product's own delay, else its category's, else the default."""
    delays = list(policy.delays.all()) if policy.pk else []
    by_product = {delay.product_id: delay.delay_days for delay in delays if delay.product_id}
    by_category = {delay.category.casefold(): delay.delay_days for delay in delays if not delay.product_id}
    found = {}
    for line in lines:
        product = line.product
        if product is not None and product.pk in by_product:
            found[line.pk] = LineDelay(by_product[product.pk], _("product “%s”") % product.title)
        elif product is not None and product.category.casefold() in by_category:
            found[line.pk] = LineDelay(by_category[product.category.casefold()], _("category “%s”") % product.category)
        else:
            found[line.pk] = LineDelay(policy.default_delay_days, _("the shop's default"))
    return found


def cap_slot(due: dt.datetime, taken: list[dt.datetime], *, cap_days: int) -> dt.datetime:
    """The first moment from `due` that is at least `cap_days` away from every moment in `taken`."""
    if not cap_days:
        return due
    gap = dt.timedelta(days=cap_days)
    for _attempt in range(len(taken) + 1):
        clashes = [moment for moment in taken if abs(moment - due) < gap]
        if not clashes:
            break
        due = max(clashes) + gap
    return due


def products_recently_asked(*, customer_id: int, product_ids: set[int], since: dt.datetime) -> set[int]:
    """Which of the products the customer was asked about (or is about to be) since `since`."""
    if not product_ids:
        return set()
    return set(
        ReviewRequestItem.objects.filter(
            request__customer_id=customer_id,
            request__status__in=ReviewRequest.COUNTED,
            request__due_at__gte=since,
            product_id__in=product_ids,
        ).values_list("product_id", flat=True)
    )


# --- planning -------------------------------------------------------------------------------------------------


@transaction.atomic
def review_requests_plan(
    *, order: Order, delivered_at: dt.datetime, now: dt.datetime | None = None
) -> list[ReviewRequest]:
    """Plan the review requests of a delivered order: one per group of items that come due on the same day.

    Guarantees: idempotent (a group planned once is not planned again); nothing is planned unless the
    shop has an active review-request rule; a product the customer was asked about within the
    policy's product cap is left out; a group comes due no sooner than the customer cap after the
    customer's other requests (it waits, it is not dropped). Each request's message goes through
    journeys; a request whose message could not be planned (no consent, too late) is kept as
    skipped with the reason.
    """
    customer = order.customer
    if customer is None or not trigger_has_active_rule(shop_id=order.shop_id, trigger=REQUEST_TRIGGER):
        return []
    now = now or timezone.now()
    policy = _policy_for(order.shop_id)
    lines = list(order.lines.select_related("product"))
    delays = line_delays(policy=policy, lines=lines)
    asked = (
        products_recently_asked(
            customer_id=customer.pk,
            product_ids={line.product_id for line in lines if line.product_id},
            since=delivered_at - dt.timedelta(days=policy.product_cap_days),
        )
        if policy.product_cap_days
        else set()
    )
    groups: dict[int, list[OrderLine]] = {}
    left_out = []
    for line in lines:
        if line.product_id in asked:
            left_out.append(line.title)
        else:
            groups.setdefault(delays[line.pk].days, []).append(line)
    existing = {request.group_days: request for request in order.review_requests.all()}
    taken = list(
        ReviewRequest.objects.filter(customer=customer, status__in=ReviewRequest.COUNTED).values_list(
            "due_at", flat=True
        )
    )
    time_zone = customer.time_zone or order.shop.time_zone
    planned = []
    for days in sorted(groups):
        if days in existing:
            planned.append(existing[days])
            continue
        natural = delivered_at + dt.timedelta(days=days)
        due = cap_slot(natural, taken, cap_days=policy.customer_cap_days)
        words = [
            _("Delivered %(when)s.") % {"when": _day(delivered_at, time_zone)},
            *(
                _("%(item)s: %(days)d days (%(why)s).") % {"item": line.title, "days": days, "why": delays[line.pk].why}
                for line in groups[days]
            ),
        ]
        if due != natural:
            words.append(
                _("Moved from %(natural)s to %(due)s: one request per customer in %(cap)d days.")
                % {"natural": _day(natural, time_zone), "due": _day(due, time_zone), "cap": policy.customer_cap_days}
            )
        if left_out:
            words.append(
                _("Not asked again within %(cap)d days: %(items)s.")
                % {"cap": policy.product_cap_days, "items": ", ".join(left_out)}
            )
        request = ReviewRequest.objects.create(
            shop_id=order.shop_id,
            order=order,
            customer=customer,
            group_days=days,
            due_at=due,
            explanation=" ".join(str(word) for word in words),
        )
        ReviewRequestItem.objects.bulk_create(
            ReviewRequestItem(request=request, order_line=line, product=line.product, title=line.title)
            for line in groups[days]
        )
        taken.append(due)
        messages = message_plan(
            trigger=REQUEST_TRIGGER,
            shop=order.shop,
            customer=customer,
            order=order,
            anchor_at=due,
            step=request_step(request.pk),
            now=now,
        )
        _request_link_message(request, messages, now=now)
        planned.append(request)
    return planned


def _request_link_message(request: ReviewRequest, messages: list[Message], *, now: dt.datetime) -> None:
    scheduled = [message for message in messages if message.status == Message.Status.SCHEDULED]
    if scheduled:
        request.message = scheduled[0]
        request.save(update_fields=["message", "updated_at"])
        return
    if messages:
        request.message = messages[0]
        why = messages[0].explanation
    else:
        why = _("Nothing was planned: it was already too late to ask, or no review-request rule's conditions hold.")
    _request_transition(request, to=Status.SKIPPED, reason=why, now=now)


def _request_transition(request: ReviewRequest, *, to: str, reason: str = "", now: dt.datetime) -> bool:
    """Move a (locked or new) request along `ReviewRequest.TRANSITIONS`; False when the move is not allowed."""
    if to not in ReviewRequest.TRANSITIONS[request.status]:
        return False
    request.status = to
    request.status_reason = reason[:500]
    fields = ["status", "status_reason", "message", "updated_at"]
    if to == Status.REVIEWED:
        request.reviewed_at = now
        fields.append("reviewed_at")
    elif to == Status.CANCELLED:
        request.cancelled_at = now
        fields.append("cancelled_at")
    request.save(update_fields=fields)
    return True


def review_request_mark_reviewed(*, request: ReviewRequest, now: dt.datetime | None = None) -> ReviewRequest:
    """The customer answered: no reminder goes out any more (scheduled ones are cancelled). Idempotent."""
    now = now or timezone.now()
    if _request_transition(request, to=Status.REVIEWED, now=now):
        _messages_cancel(request, words=_("the customer wrote a review."), now=now)
    return request


@transaction.atomic
def review_request_cancel(*, request: ReviewRequest, words: str, now: dt.datetime | None = None) -> ReviewRequest:
    """Cancel an open request and its messages not sent yet. A request already answered stays as it is."""
    now = now or timezone.now()
    locked = ReviewRequest.objects.select_for_update().get(pk=request.pk)
    if _request_transition(locked, to=Status.CANCELLED, reason=words, now=now):
        _messages_cancel(locked, words=words, now=now)
    request.__dict__.update(status=locked.status, status_reason=locked.status_reason, cancelled_at=locked.cancelled_at)
    return locked


def _messages_cancel(request: ReviewRequest, *, words: str, now: dt.datetime) -> int:
    steps = [request_step(request.pk), *(reminder_step(request.pk, n) for n in range(1, MAX_REMINDERS + 1))]
    return messages_cancel_for_step(
        shop_id=request.shop_id, triggers=[REQUEST_TRIGGER, REMINDER_TRIGGER], steps=steps, words=words, now=now
    )


def review_requests_cancel_for_order(*, order: Order, words: str, now: dt.datetime | None = None) -> int:
    """Cancel the order's open requests (refunded or cancelled: there is nothing left to review)."""
    cancelled = 0
    for request in ReviewRequest.objects.filter(order=order, status=Status.OPEN).order_by("pk"):
        cancelled += review_request_cancel(request=request, words=words, now=now).status == Status.CANCELLED
    return cancelled


ORDER_STATUSES_ENDING_REQUESTS = frozenset({Order.Status.REFUNDED, Order.Status.CANCELLED})


def review_order_event_handle(order: Order, event: OrderEvent) -> None:
    """Order listener (merchant.order_listeners), in the change's transaction: plan on delivery, cancel on refund."""
    if event.outcome != OrderEvent.Outcome.APPLIED or event.from_status == event.to_status:
        return
    if event.to_status == Order.Status.DELIVERED:
        review_requests_plan(order=order, delivered_at=event.occurred_at)
    elif event.to_status in ORDER_STATUSES_ENDING_REQUESTS:
        status = str(dict(Order.Status.choices)[event.to_status]).lower()
        review_requests_cancel_for_order(order=order, words=_("the order was %s.") % status)


# --- reminders -------------------------------------------------------------------------------------------------------


def review_reminders_plan(*, now: dt.datetime | None = None) -> int:
    """Plan the reminders that came due: an open request whose message was sent `reminder_after_days` ago
    (twice that for a second reminder, ...) and has no answer. Returns how many were planned.

    Guarantees: never after the customer wrote a review; never more than the policy's count per
    request; each reminder is planned once (a reminder moment that passes while the reminder rule is
    off is not made up for later). One indexed query finds the candidates.
    """
    now = now or timezone.now()
    candidates = (
        ReviewRequest.objects.filter(
            status=Status.OPEN,
            message__status__in=[Message.Status.SENT, Message.Status.DELIVERED],
            message__sent_at__lte=now - DAY,
            message__sent_at__gte=now - dt.timedelta(days=365),
            reminders_planned__lt=Coalesce(F("shop__review_policy__reminder_count"), Value(1)),
        )
        .select_related("message", "shop", "customer", "order")
        .order_by("due_at")[:SCAN_BATCH]
    )
    policies = {}
    planned = 0
    for request in candidates:
        if request.shop_id not in policies:
            policies[request.shop_id] = _policy_for(request.shop_id)
        policy = policies[request.shop_id]
        number = request.reminders_planned + 1
        anchor = request.message.sent_at + number * dt.timedelta(days=policy.reminder_after_days)
        if number > policy.reminder_count or anchor > now:
            continue
        planned += _reminder_plan(request, number=number, anchor=anchor, now=now)
    return planned


@transaction.atomic
def _reminder_plan(request: ReviewRequest, *, number: int, anchor: dt.datetime, now: dt.datetime) -> int:
    locked = ReviewRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != Status.OPEN or locked.reminders_planned != number - 1:
        return 0  # answered, cancelled, or planned by another scan meanwhile
    messages = message_plan(
        trigger=REMINDER_TRIGGER,
        shop=request.shop,
        customer=request.customer,
        order=request.order,
        anchor_at=anchor,
        step=reminder_step(request.pk, number),
        now=now,
    )
    locked.reminders_planned = number
    locked.save(update_fields=["reminders_planned", "updated_at"])
    return len(messages)
