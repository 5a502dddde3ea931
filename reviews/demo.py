"""The demo shop's reviews and referrals (`manage.py seed_demo`, through merchant.demo), so the journey map's
"reviewed" and "advocate" stages are not empty.

A fixed share of the review requests that came due before now are answered through the review page's
service, a few hours after the request was sent: stars from 1 to 5 (mostly 4-5, as in real shops) and an NPS
score that goes with them. The demo shop has referrals on, so happy reviewers are invited to refer friends
(the service does that); the four latest bring a friend whose order carries their code, which the order
listener attributes as a reward. The review requests and invitations whose time has passed are recorded as
sent (journeys.demo), the answered ones clicked. Runs once: a shop with reviews gets nothing more.
"""

import datetime as dt
import zlib
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from journeys.demo import demo_message_record, demo_messages_record_sent
from journeys.models import CareRule
from merchant import services
from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order
from reviews.models import ReferralInvitation, Review, ReviewRequest
from reviews.services.policy import review_policy_get_or_create, review_policy_update
from reviews.services.requests import request_step
from reviews.services.submissions import ItemAnswer, NpsAnswer, review_page_submit
from reviews.triggers import REVIEW_REQUEST

ANSWER_PERCENT = 35
HISTORY_DAYS = 60  # as journeys.demo: the journey map's periods
# (stars, NPS score, title, words) by a fixed draw, happy answers most often.
ANSWERS = [
    (5, 10, "Love it", "Exactly as described and arrived quickly."),
    (5, 9, "Great quality", "Well made, I would buy it again."),
    (5, 10, "Perfect", "My second one, still happy."),
    (4, 8, "Good", "Does the job; the box was a bit dented."),
    (4, 9, "Nice", "Fits well, colour slightly darker than the photo."),
    (3, 7, "Okay", "Fine for the price."),
    (2, 4, "Disappointing", "Stopped working after a week."),
    (1, 2, "Not as described", "The material feels cheap."),
]
FRIENDS = 4
STAFF = Actor.system("Demo data")
SHOPIFY = Actor.webhook("shopify (demo data)")


def _draw(key: str, modulo: int) -> int:
    return zlib.crc32(key.encode()) % modulo


def reviews_demo_seed(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Answer some of the demo's review requests and bring a few referred friends; {"REVIEWS_CREATED": n, ...}."""
    if Review.objects.filter(shop=shop).exists():
        return {"REVIEWS_CREATED": 0, "REFERRED_ORDERS_CREATED": 0}
    now = now or timezone.now()
    policy = review_policy_get_or_create(shop=shop)
    if not policy.referrals_enabled:
        review_policy_update(
            policy=policy,
            actor=STAFF,
            referrals_enabled=True,
            referral_code_prefix="DEMO",
            referral_reward="$10 store credit for each friend who orders",
        )
    rule = CareRule.objects.filter(shop=shop, trigger=REVIEW_REQUEST.name, is_active=True).first()
    # Requests that came due days ago: the seed planned their message late ("as soon as possible", or not at
    # all when it was too late by then); the demo records it as sent when it was due, as a running shop would.
    requests = list(
        ReviewRequest.objects.filter(
            shop=shop, due_at__lt=now - dt.timedelta(days=1), due_at__gte=now - dt.timedelta(days=HISTORY_DAYS)
        )
        .filter(Q(status=ReviewRequest.Status.OPEN) | Q(status=ReviewRequest.Status.SKIPPED, message__isnull=True))
        .select_related("message", "customer", "order__shop", "order__customer")
        .prefetch_related("items")
        .order_by("due_at", "pk")
    )
    answering = {request.pk for request in requests if _draw(f"review:{request.pk}", 100) < ANSWER_PERCENT}
    demo_messages_record_sent(
        [request.message for request in requests if request.message_id],
        clicked_ids=frozenset(r.message_id for r in requests if r.message_id and r.pk in answering),
    )
    for request in requests:
        if request.message_id is None and rule is not None and request.order.customer_id:
            request.message = demo_message_record(
                rule=rule,
                order=request.order,
                anchor_at=request.due_at,
                step=request_step(request.pk),
                clicked=request.pk in answering,
            )
            if request.message.sent_at:
                request.status, request.status_reason = ReviewRequest.Status.OPEN, ""
            request.save(update_fields=["message", "status", "status_reason", "updated_at"])
    created = 0
    for request in requests:
        if request.pk not in answering or request.status != ReviewRequest.Status.OPEN or not request.message_id:
            continue
        if not request.message.sent_at:
            continue  # not sent (no consent, no address): nobody was asked
        answered_at = request.message.sent_at + dt.timedelta(hours=2 + _draw(f"when:{request.pk}", 48))
        if answered_at >= now:
            continue
        stars, score, title, words = ANSWERS[_draw(f"stars:{request.pk}", len(ANSWERS))]
        result = review_page_submit(
            request=request,
            answers=[
                ItemAnswer(item_id=item.pk, rating=stars, title=title, text=words) for item in request.items.all()
            ],
            nps=NpsAnswer(score=score),
            language=request.customer.language or shop.default_language,
            now=answered_at,
        )
        created += len(result.reviews)
    invitations = list(
        # The latest happy reviewers bring the friends, so the map's recent periods show advocates.
        ReferralInvitation.objects.filter(shop=shop).select_related("message", "customer").order_by("-created_at")
    )
    demo_messages_record_sent(
        [i.message for i in invitations if i.message_id and i.message.not_before < now],
        clicked_ids=frozenset(i.message_id for i in invitations[:FRIENDS]),
    )
    friends = sum(
        _friend_order(shop, invitation, number, now) for number, invitation in enumerate(invitations[:FRIENDS], 1)
    )
    return {"REVIEWS_CREATED": created, "REFERRED_ORDERS_CREATED": friends}


def _friend_order(shop: Merchant, invitation: ReferralInvitation, number: int, now: dt.datetime) -> int:
    """A friend of the referrer orders with their code two days after the invitation went out (or just now)."""
    sent = invitation.message.sent_at if invitation.message_id and invitation.message.sent_at else invitation.created_at
    placed_at = min(sent + dt.timedelta(days=2), now - dt.timedelta(hours=2))
    if Customer.objects.filter(shop=shop, external_id=f"demo-friend-{number}").exists():
        return 0
    referrer = invitation.customer
    friend = services.customer_create(
        shop=shop,
        external_id=f"demo-friend-{number}",
        first_name=("Sam", "Alex", "Robin", "Kim")[(number - 1) % 4],
        last_name=referrer.last_name,
        email=f"friend{number}@example.com",
        country=referrer.country,
        language=referrer.language,
    )
    line = Order.objects.filter(pk=invitation.review.order_id).first() if invitation.review_id else None
    source = line.lines.first() if line else None
    order = services.order_create(
        shop=shop,
        number=f"#F{number:03d}",
        currency=shop.currency,
        actor=SHOPIFY,
        customer=friend,
        external_id=f"demo-friend-order-{number}",
        placed_at=placed_at,
        source_platform=Order.SourcePlatform.SHOPIFY,
        discount_codes=[invitation.code],
        lines=[
            services.LineInput(
                title=source.title if source else "Gift card",
                quantity=1,
                unit_price=source.unit_price if source else Decimal("25.00"),
                product=source.product if source else None,
                sku=source.sku if source else "",
            )
        ],
    )
    services.order_mark_paid(
        order=order, actor=Actor.webhook("shopify (demo data)"), occurred_at=placed_at + dt.timedelta(minutes=5)
    )
    return 1
