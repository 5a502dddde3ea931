"""The demo shop's outbox history (`manage.py seed_demo`, through merchant.demo), so the journey map has rules
that did something.

seed_demo moves its orders through the real services at past moments, but the planner plans a message only
while it is still useful, so an order delivered weeks ago has no "delivered" message: the dispatcher would
have sent it back then. This step records those sends: for each order-care rule and each order whose moment
(placed, paid, shipped, out for delivery, delivered) lies in the past, the row the planner would have built
(`message_build` at that moment: the same channel, send window and explanation), recorded as sent and
delivered at its send time (without its text: rendering each would double the seed's time); a fixed share of
them clicked, as customers follow a tracking link more often than a payment receipt. Messages still waiting
are left to the dispatcher.

Bulk-inserted in one statement: a few thousand rows must take seconds. Runs once: a shop with recorded
history gets nothing more.
"""

import datetime as dt
import zlib

from django.db.models import Prefetch
from django.utils import timezone

from journeys.models import CareRule, Message, MessageTemplate
from journeys.services.planning import message_build
from journeys.services.rules import care_rule_save
from journeys.triggers import trigger_get
from merchant.models import Merchant, Order

HISTORY_STEP = "demo-history"
HISTORY_DAYS = 60  # the journey map's periods worth of history; older demo orders get none
DEMO_NOTE = "(Demo history: recorded as sent by the demo data, without its text.)"
# The moment each trigger counts from, as an order field and an offset (the demo's carrier reports
# "out for delivery" five hours before the delivery).
ANCHORS = {
    "unpaid_reminder": ("placed_at", dt.timedelta()),
    "payment_confirmed": ("paid_at", dt.timedelta()),
    "shipped": ("shipped_at", dt.timedelta()),
    "out_for_delivery": ("delivered_at", -dt.timedelta(hours=5)),
    "delivered": ("delivered_at", dt.timedelta()),
}
# The demo's rules that keep a holdout group (percent), so the rule performance page compares the held-out
# customers with the others, as an owner measuring the reminder would.
DEMO_HOLDOUT_PERCENT = {"unpaid_reminder": 10}
# Percent of sent messages clicked: customers open a tracking link more often than a receipt.
CLICK_PERCENT = {"unpaid_reminder": 30, "payment_confirmed": 8, "shipped": 45, "out_for_delivery": 20, "delivered": 12}


def _share(order_id: int, trigger: str, percent: int) -> bool:
    """A fixed, evenly spread choice of `percent`% of orders (the same on every run)."""
    return zlib.crc32(f"{order_id}:{trigger}".encode()) % 100 < percent


def care_history_demo_seed(shop: Merchant, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Record the order-care messages the demo shop's rules would have sent in the last 60 days.

    Returns {"CARE_MESSAGES_RECORDED": n}."""
    if Message.objects.filter(shop=shop, step=HISTORY_STEP).exists():
        return {"CARE_MESSAGES_RECORDED": 0}
    now = now or timezone.now()
    rules = list(
        CareRule.objects.filter(shop=shop, is_active=True, trigger__in=list(ANCHORS))
        .select_related("shop")
        .prefetch_related(Prefetch("templates", queryset=MessageTemplate.objects.all()))
    )
    if not rules:
        return {"CARE_MESSAGES_RECORDED": 0}
    for rule in rules:
        if rule.trigger in DEMO_HOLDOUT_PERCENT:
            rule.holdout_percent = DEMO_HOLDOUT_PERCENT[rule.trigger]
            care_rule_save(rule=rule)
    planned = set(
        Message.objects.filter(shop=shop, rule__in=rules, order__isnull=False).values_list("rule_id", "order_id")
    )
    orders = list(
        Order.objects.filter(shop=shop, customer__isnull=False)
        .select_related("customer", "shop")
        .prefetch_related("lines", "shipments")
    )
    rows = []
    for rule in rules:
        spec = trigger_get(rule.trigger)
        field, offset = ANCHORS[rule.trigger]
        for order in orders:
            moment = getattr(order, field)
            if moment is None or (rule.pk, order.pk) in planned:
                continue
            anchor_at = moment + offset
            due = anchor_at + rule.delay
            if due > now - dt.timedelta(hours=1) or due < now - dt.timedelta(days=HISTORY_DAYS):
                continue  # recent: the planner has it, or the dispatcher sends it; or older than the history
            if rule.trigger == "unpaid_reminder" and not (
                (order.paid_at is None or order.paid_at > due)
                and (order.cancelled_at is None or order.cancelled_at > due)
            ):
                continue  # paid (or cancelled) before the reminder was due: nothing was sent
            message = message_build(
                rule=rule,
                spec=spec,
                shop=shop,
                customer=order.customer,
                order=order,
                anchor_at=anchor_at,
                step=HISTORY_STEP,
                now=due,
                marketing_triggers=frozenset(),
            )
            message.shop, message.rule, message.order, message.customer = shop, rule, order, order.customer
            if message.status == Message.Status.SCHEDULED:
                _record_sent(message, clicked=_share(order.pk, rule.trigger, CLICK_PERCENT[rule.trigger]))
            rows.append(message)
    Message.objects.bulk_create(rows, batch_size=500)
    return {"CARE_MESSAGES_RECORDED": len(rows)}


def _record_sent(message: Message, *, clicked: bool) -> None:
    sent_at = message.send_at
    message.status = Message.Status.DELIVERED
    # Not rendered: a template per message would double the seed's time; the outbox row says so.
    message.explanation = f"{message.explanation} {DEMO_NOTE}".strip()
    message.attempts = 1
    message.provider = "demo"
    message.sent_at = sent_at
    message.delivered_at = sent_at + dt.timedelta(seconds=40)
    message.clicked_at = sent_at + dt.timedelta(minutes=25) if clicked else None
    message.finished_at = sent_at
    if message.pk is None:
        message.created_at = message.not_before


def demo_messages_record_sent(messages: list[Message], *, clicked_ids: frozenset[int] = frozenset()) -> int:
    """Record planned demo messages as sent and delivered when they were due (`not_before`), those in
    `clicked_ids` clicked 25 minutes later, as if the dispatcher had been running then. For other apps' demo
    steps (reviews: the requests the seed planned late). Returns how many."""
    due = [message for message in messages if message.status == Message.Status.SCHEDULED]
    for message in due:
        message.send_at = message.not_before
        _record_sent(message, clicked=message.pk in clicked_ids)
    fields = [
        "status", "explanation", "attempts", "provider", "send_at", "sent_at", "delivered_at", "clicked_at",
        "finished_at",
    ]  # fmt: skip
    Message.objects.bulk_update(due, fields, batch_size=500)
    return len(due)


def demo_message_record(
    *, rule: CareRule, order: Order, anchor_at: dt.datetime, step: str, clicked: bool = False
) -> Message:
    """The message `rule` would have planned for `order` at `anchor_at` plus its delay (`message_build` then),
    saved as sent and delivered at its send time when the planner would have sent it, else as it was built
    (suppressed, with the reason). For other apps' demo steps whose messages the seed planned too late."""
    message = message_build(
        rule=rule,
        spec=trigger_get(rule.trigger),
        shop=order.shop,
        customer=order.customer,
        order=order,
        anchor_at=anchor_at,
        step=step,
        now=anchor_at + rule.delay,
    )
    if message.status == Message.Status.SCHEDULED:
        _record_sent(message, clicked=clicked)
    message.save()
    return message
