"""The demo shop's last weeks of support (`manage.py seed_demo`): disputes the providers decided and cases the
team answered, some on time and some late, so the dashboard's dispute win rate and SLA attainment show real
figures on `make run`.

Everything goes through the services with the moment it happened (`now=`), so the clocks, deadlines and
history are the ones the queue would have recorded; the messages those steps planned (the customer's dispute
guidance, the team's replies) are recorded as sent then, as if the dispatcher had been running. Created once:
a second run finds its disputes and cases by their references and creates nothing.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from journeys.demo import demo_messages_record_sent
from journeys.models import Message
from merchant.actors import Actor
from merchant.models import Merchant, Order
from returns.links.survey import SURVEY_TRIGGER
from returns.models import Case, CaseItem, Dispute
from returns.services.case_messages import case_reply_send
from returns.services.cases import case_customer_message_add, case_status_set
from returns.services.disputes import dispute_close_lost, dispute_close_won, dispute_create, dispute_submit

SOURCE_PREFIX = "demo-history:"  # + the index in PAST_CASES: the case item of the customer's message
EXTERNAL_ID_PREFIX = "DEMO-HIST-"  # + the index in PAST_DISPUTES: the dispute's reference
R = Dispute.ReasonCategory


@dataclass(frozen=True)
class PastDispute:
    days_ago: int  # when it was opened
    reason: str
    outcome: str  # "won", "lost", or "" for still waiting on the provider


# Decided ones within the last 30 days (the dashboard's default period), and one still with the provider.
PAST_DISPUTES = (
    PastDispute(26, R.NOT_RECEIVED, "won"),
    PastDispute(24, R.NOT_AS_DESCRIBED, "lost"),
    PastDispute(21, R.FRAUDULENT, "won"),
    PastDispute(19, R.NOT_RECEIVED, "won"),
    PastDispute(17, R.NOT_AS_DESCRIBED, "lost"),
    PastDispute(6, R.FRAUDULENT, ""),
)


@dataclass(frozen=True)
class PastCase:
    days_ago: int  # when the customer wrote, at 10:00 in the shop's zone on a weekday (business hours)
    text: str
    reply_after: dt.timedelta | None  # None: answered only after the first-response clock ran out
    resolve_after: dt.timedelta | None  # None: resolved only after the resolution clock ran out


H, D = dt.timedelta(hours=1), dt.timedelta(days=1)
PAST_CASES = (
    PastCase(25, "Can I change the delivery address of my order?", 1 * H, 1 * D),
    PastCase(23, "The zip of the jacket broke after a week.", 3 * H, 2 * D),
    PastCase(20, "Where is my refund? It has been ten days.", None, 1 * D),
    PastCase(18, "Do you ship to Austria?", H / 2, None),
    PastCase(15, "The shoes are a size too big, what can I do?", 2 * H, 3 * D),
    PastCase(12, "Nobody answers my emails!", None, None),
    PastCase(10, "Is the espresso machine covered by warranty?", 1 * H, 20 * H),
    PastCase(8, "Please cancel the second item of my order.", 4 * H, 2 * D),
)


def _weekday_morning(shop: Merchant, day: dt.datetime) -> dt.datetime:
    local = day.astimezone(zoneinfo.ZoneInfo(shop.time_zone))
    while local.weekday() >= 5:
        local -= dt.timedelta(days=1)
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def _sent_then(orders: list[Order], trigger: str) -> None:
    demo_messages_record_sent(
        list(Message.objects.filter(order__in=orders, trigger=trigger, status=Message.Status.SCHEDULED))
    )


def disputes_demo_history(shop: Merchant, orders: list[Order], *, now: dt.datetime) -> int:
    """The PAST_DISPUTES on `orders` (one each), answered two days after they opened and decided a week later."""
    system = Actor.system("demo data")
    created = 0
    for index, (past, order) in enumerate(zip(PAST_DISPUTES, orders, strict=False)):
        external_id = f"{EXTERNAL_ID_PREFIX}{index}"
        if Dispute.objects.filter(shop=shop, external_id=external_id).exists():
            continue
        opened = now - dt.timedelta(days=past.days_ago)
        dispute = dispute_create(
            shop=shop,
            actor=system,
            order=order,
            provider=Dispute.Provider.SHOPIFY,
            external_id=external_id,
            reason_category=past.reason,
            amount=order.total,
            currency=order.currency,
            due_at=opened + dt.timedelta(days=7),
            opened_at=opened,
            now=opened,
        )
        dispute = dispute_submit(
            dispute=dispute,
            actor=system,
            response_text="Tracking shows delivery to the customer's address; photos of the parcel attached.",
            now=opened + dt.timedelta(days=2),
        )
        decide = {"won": dispute_close_won, "lost": dispute_close_lost}.get(past.outcome)
        if decide is not None:
            decide(dispute=dispute, actor=Actor.webhook("Shopify Payments (demo data)"), now=opened + 8 * D)
        created += 1
    _sent_then(orders, "dispute_opened")
    return created


def cases_demo_history(shop: Merchant, orders: list[Order], *, now: dt.datetime) -> int:
    """The PAST_CASES on `orders` (one each): the customer's message, the team's reply and the resolution, each on
    time or late as the case says."""
    system = Actor.system("demo data")
    created = 0
    for index, (past, order) in enumerate(zip(PAST_CASES, orders, strict=False)):
        source = f"{SOURCE_PREFIX}{index}"
        if CaseItem.objects.filter(case__shop=shop, source=source).exists():
            continue
        wrote = _weekday_morning(shop, now - dt.timedelta(days=past.days_ago))
        entry = case_customer_message_add(
            shop=shop,
            order=order,
            customer=order.customer,
            body=past.text,
            channel="email",
            actor=system,
            source=source,
            at=wrote,
        )
        case = Case.objects.get(pk=entry.case_id)
        replied = wrote + past.reply_after if past.reply_after else case.first_response_due_at + 5 * H
        reply = case_reply_send(
            case=case,
            actor=system,
            body="Thank you for writing, we are on it and will get back to you shortly.",
            now=replied,
        )
        demo_messages_record_sent([reply.message])
        case.refresh_from_db()
        resolved = wrote + past.resolve_after if past.resolve_after else case.resolution_due_at + 7 * H
        case_status_set(case=case, to=Case.Status.RESOLVED, actor=system, now=max(resolved, replied + H))
        created += 1
    _sent_then(orders, SURVEY_TRIGGER)
    return created


def support_history_demo_step(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """merchant.demo step: the past disputes and cases, on the oldest delivered orders the other demo steps left
    alone. Counts of what was created (nothing the second time: each is found by its index)."""
    now = now or timezone.now()
    # Orders with no case, dispute or return yet, so each past case is a case of its own.
    delivered = list(
        Order.objects.filter(
            shop=shop,
            customer__isnull=False,
            status=Order.Status.DELIVERED,
            delivered_at__lt=now - dt.timedelta(days=30),
            cases__isnull=True,
            disputes__isnull=True,
            return_requests__isnull=True,
        ).order_by("delivered_at", "pk")[: len(PAST_DISPUTES) + len(PAST_CASES)]
    )
    return {
        "PAST_DISPUTES_CREATED": disputes_demo_history(shop, delivered[: len(PAST_DISPUTES)], now=now),
        "PAST_SUPPORT_CASES_CREATED": cases_demo_history(shop, delivered[len(PAST_DISPUTES) :], now=now),
    }
