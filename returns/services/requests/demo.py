"""The demo shop's return requests (`manage.py seed_demo`, through merchant.demo): a few recent delivered orders
with a return in each state a person meets in the queue, made through the services as customers and staff
would. Runs once: a shop that has return requests already gets nothing more.
"""

import datetime as dt

from django.utils import timezone

from merchant.actors import Actor
from merchant.models import Merchant, Order
from returns.models import ReturnLine, ReturnReason, ReturnRequest
from returns.selectors.requests import return_eligibility
from returns.services.policy import return_policy_get_or_create
from returns.services.requests.asking import LineChoice, return_request_create
from returns.services.requests.steps import (
    LineInspection,
    return_request_approve,
    return_request_cancel,
    return_request_decline,
    return_request_inspect,
    return_request_mark_in_transit,
    return_request_mark_received,
)

STAFF = Actor.system("Demo data")
# (reason, comment, what happens after): one request per delivered order, newest orders first.
SCENES = [
    (ReturnReason.TOO_SMALL, "The shoes pinch at the toes; I need one size up.", "requested"),
    (ReturnReason.DAMAGED, "The zip came off the first time I used it.", "needs_review"),
    (ReturnReason.CHANGED_MIND, "", "approved"),
    (ReturnReason.TOO_LARGE, "Too wide at the shoulders.", "in_transit"),
    (ReturnReason.WRONG_ITEM, "I ordered green and got red.", "received"),
    (ReturnReason.NOT_AS_DESCRIBED, "The fabric is much thinner than in the photos.", "inspected"),
    (ReturnReason.CHANGED_MIND, "", "declined"),
    (ReturnReason.TOO_SMALL, "", "cancelled"),
]


def returns_demo_seed(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Create the demo's return requests once; {"RETURN_REQUESTS_CREATED": n}."""
    if ReturnRequest.objects.filter(shop=shop).exists():
        return {"RETURN_REQUESTS_CREATED": 0}
    now = now or timezone.now()
    policy = return_policy_get_or_create(shop=shop)
    candidates = (
        Order.objects.filter(
            shop=shop, status=Order.Status.DELIVERED, delivered_at__gte=now - dt.timedelta(days=policy.window_days)
        )
        .exclude(customer=None)
        .select_related("shop", "customer")
        .order_by("-delivered_at")[:40]
    )
    created = 0
    scenes = iter(SCENES)
    for order in candidates:
        eligibility = return_eligibility(order=order, policy=policy, now=now)
        lines = [entry for entry in eligibility.lines if entry.returnable]
        if not eligibility.can_return or not lines:
            continue
        scene = next(scenes, None)
        if scene is None:
            break
        reason, comment, outcome = scene
        request = return_request_create(
            order=order,
            lines=[LineChoice(order_line_id=lines[0].line.pk, quantity=1)],
            reason=reason,
            comment=comment,
            actor=Actor.customer(str(order.customer)),
            now=now,
        )
        _play(request, outcome, now=now)
        created += 1
    return {"RETURN_REQUESTS_CREATED": created}


def _play(request: ReturnRequest, outcome: str, *, now: dt.datetime) -> None:
    """Take a request from where the policy left it to `outcome`, as staff would."""
    request.refresh_from_db()
    if outcome in ("requested", "needs_review") or request.status == outcome:
        return
    if outcome in ("declined", "cancelled") and not request.can_move_to(outcome):
        return  # the policy approved it by itself: it stays approved
    if outcome == "declined":
        return_request_decline(
            return_request=request,
            actor=STAFF,
            code=ReturnRequest.DeclineCode.FINAL_SALE,
            message="We are sorry: this item was bought in our final sale, which cannot be returned.",
            now=now,
        )
        return
    if outcome == "cancelled":
        return_request_cancel(return_request=request, actor=Actor.customer(str(request.customer)), now=now)
        return
    if request.status != ReturnRequest.Status.APPROVED:
        return_request_approve(return_request=request, actor=STAFF, now=now)
    if outcome == "approved":
        return
    return_request_mark_in_transit(
        return_request=request, actor=STAFF, carrier="USPS", tracking_number="9400 1000 0000", now=now
    )
    if outcome == "in_transit":
        return
    return_request_mark_received(return_request=request, actor=STAFF, now=now)
    if outcome == "received":
        return
    return_request_inspect(
        return_request=request,
        actor=STAFF,
        lines=[
            LineInspection(return_line_id=line_id, disposition=ReturnLine.Disposition.ACCEPT, restock=True)
            for line_id in request.lines.values_list("pk", flat=True)
        ],
        now=now,
    )
