"""The dispatcher: claims due outbox rows in batches, checks them again, sends, records the outcome.

Guarantees:
- A row is claimed by one dispatcher at a time: `FOR UPDATE SKIP LOCKED` on PostgreSQL (several
  dispatchers cooperate), one `BEGIN IMMEDIATE` write on SQLite (run one dispatcher there).
- No database transaction is open while a provider is called.
- A claim is a lease. A dispatcher that dies leaves rows whose lease runs out; the reaper returns
  them to the queue (or marks them `unknown` where a resend could duplicate a marketing message).
- Order state, consent, address and the send window are checked again just before sending.
- Transient failures are retried with exponential backoff and jitter (honouring Retry-After);
  permanent ones never. Outcomes are recorded only while the lease is still ours.
- Lease and due times come from the database clock, so dispatchers on several machines agree.
"""

import datetime as dt
import gc
import logging
import math
import random
import socket
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Prefetch
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from journeys.holds import HOLD_RECHECK, Hold, holds_attach
from journeys.legal_windows import LegalWindow, hours_allow, hours_next_allowed
from journeys.models import (
    Campaign,
    CareRule,
    Channel,
    ConsentRecord,
    Coupon,
    Message,
    MessageClass,
    OverBudget,
    SmsAccount,
)
from journeys.order_parts import LOADED_LINES, LOADED_PARCELS, order_parts_let_go
from journeys.prepared_statements import prepared_cursor
from journeys.providers import provider_for_channel
from journeys.providers.base import Envelope, Outcome, Provider, SendResult
from journeys.push.routing import PUSH_FAILED_PREFIX, push_takes_over, push_target
from journeys.push.selectors import push_subscription_live_annotation, push_subscriptions_live_by_order
from journeys.push.services import PushGone, push_results_apply
from journeys.send_windows import SendWindow, window_next_allowed
from journeys.services.budget import BudgetLedger
from journeys.services.consent import consent_record
from journeys.services.content import Content, NoTemplate, contents_links_shorten, message_content
from journeys.services.pacing import (
    BLOCK_SECONDS,
    HORIZON,
    LATE_TOLERANCE_SECONDS,
    LEAD_SECONDS,
    pace_block,
    pace_interval,
    pace_reserve,
)
from journeys.services.planning import (
    channel_problem,
    hours_describe,
    local_moment,
    message_legal_window,
    phone_e164,
    rule_window,
)
from journeys.status.links import order_status_url
from journeys.triggers import trigger_get
from merchant.models import Customer, Merchant, Order, OrderLine, Shipment
from merchant.phones import phone_from_stored
from merchant.services.customers import customer_phone_flag
from merchant.services.inbound import inbound_events_waiting_apply

logger = logging.getLogger(__name__)
Status = Message.Status
Reason = Message.Reason

LEASE = dt.timedelta(seconds=60)
PACED_GRACE_SECONDS = 0.25
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


# --- the clock ------------------------------------------------------------------------------------


# The database's clock is read at most this often; in between, the time since the last reading is
# added by this process's monotonic clock (a draining dispatcher asks for the time about a hundred
# times a second, each a round trip to the database).
CLOCK_READ_EVERY_SECONDS = 1.0
_clock_reading: tuple[dt.datetime, float] | None = None  # (the database's time, time.monotonic() then)


def clock_now() -> dt.datetime:
    """Now, by the database's clock (JOURNEYS_CLOCK=database) or this process's (=process, for tests)."""
    global _clock_reading
    if getattr(settings, "JOURNEYS_CLOCK", "database") != "database":
        return timezone.now()
    reading, read_at = _clock_reading or (None, 0.0)
    elapsed = time.monotonic() - read_at
    if reading is not None and 0 <= elapsed < CLOCK_READ_EVERY_SECONDS:
        return reading + dt.timedelta(seconds=elapsed)
    _clock_reading = (database_now(), time.monotonic())
    return _clock_reading[0]


def database_now() -> dt.datetime:
    """The database server's clock, read now."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
            return parse_datetime(cursor.fetchone()[0]).replace(tzinfo=dt.UTC)
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def _db_time(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


# --- claim and reap -------------------------------------------------------------------------------

_CLAIM_POSTGRESQL = """
WITH due AS (
    SELECT id FROM journeys_message
    WHERE status = 'scheduled' AND channel = %s AND send_at <= %s
    ORDER BY send_at
    LIMIT %s
    FOR UPDATE SKIP LOCKED
)
UPDATE journeys_message AS m
SET status = 'sending', lease_owner = %s, lease_until = %s, attempts = m.attempts + 1, updated_at = %s
FROM due WHERE m.id = due.id
RETURNING m.id
"""
_CLAIM_SQLITE = """
UPDATE journeys_message
SET status = 'sending', lease_owner = %s, lease_until = %s, attempts = attempts + 1, updated_at = %s
WHERE id IN (
    SELECT id FROM journeys_message
    WHERE status = 'scheduled' AND channel = %s AND send_at <= %s
    ORDER BY send_at
    LIMIT %s
)
RETURNING id
"""


def messages_claim(*, channel: str, limit: int, owner: str, now: dt.datetime, lease: dt.timedelta = LEASE) -> list[int]:
    """Lease up to `limit` due messages of `channel` to `owner`, oldest due first. One short transaction."""
    if limit <= 0:
        return []
    until, stamp, due = _db_time(now + lease), _db_time(now), _db_time(now)
    # Prepared on PostgreSQL: planning the claim on this table costs more than running it.
    with transaction.atomic(), prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_CLAIM_POSTGRESQL, [channel, due, limit, owner, until, stamp])
        else:
            cursor.execute(_CLAIM_SQLITE, [owner, until, stamp, channel, due, limit])
        return [row[0] for row in cursor.fetchall()]


def messages_reap(*, now: dt.datetime | None = None, provider_deduplicates: Callable[[str], bool] | None = None) -> int:
    """Return messages whose dispatcher's lease ran out.

    Transactional messages go back to the queue (a repeated "your parcel shipped" is better than
    none). Marketing messages become `unknown` unless their provider deduplicates: the provider
    may already have them, and a repeated promotion is worse than a missing one.
    """
    now = now or clock_now()
    deduplicates = provider_deduplicates or (lambda channel: provider_for_channel(channel).deduplicates)
    reaped = 0
    with transaction.atomic():
        expired = Message.objects.select_for_update(skip_locked=True).filter(status=Status.SENDING, lease_until__lt=now)
        rows = list(expired.values_list("pk", "channel", "message_class", "lease_owner"))
        for pk, channel, message_class, owner in rows:
            note = _("The lease of dispatcher %(owner)s ran out at %(when)s UTC.") % {
                "owner": owner,
                "when": f"{now:%Y-%m-%d %H:%M:%S}",
            }
            if message_class == MessageClass.TRANSACTIONAL or deduplicates(channel):
                changes = {"status": Status.SCHEDULED, "send_at": now, "error": note + " " + _("Back in the queue.")}
            else:
                changes = {
                    "status": Status.UNKNOWN,
                    "finished_at": now,
                    "error": note + " " + _("It may have been sent; not resent to avoid a duplicate."),
                }
            reaped += Message.objects.filter(pk=pk, status=Status.SENDING, lease_owner=owner).update(
                lease_owner="", lease_until=None, updated_at=now, **changes
            )
    return reaped


# --- loading a claimed batch ------------------------------------------------------------------------

# What the context and the checks read of a line and a parcel (journeys.context, journeys.triggers).
_LINE_FIELDS = ("id", "order_id", "title", "quantity", "sku", "total")
_SHIPMENT_FIELDS = (
    "id",
    "order_id",
    "carrier",
    "tracking_number",
    "tracking_url",
    "status",
    "shipped_at",
    "last_carrier_event_at",
    "delivered_at",
)


# Columns a send only writes, never reads: not loaded.
_MESSAGE_OUTPUT_FIELDS = (
    "lease_until",
    "subject",
    "body",
    "html_body",
    "error",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "finished_at",
    "budget_counted_at",
    "created_at",
    "updated_at",
)
# What deciding and the template context (journeys.context) read of a customer and an order.
_CUSTOMER_FIELDS = (
    "id",
    "shop_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_as_received",
    "phone_problem",
    "country",
    "language",
    "time_zone",
    "sms_marketing_consent_at",
    "email_marketing_consent_at",
    "sms_opted_out_at",
    "email_opted_out_at",
)
_ORDER_FIELDS = (
    "id",
    "shop_id",
    "customer_id",
    "number",
    "status",
    "placed_at",
    "paid_at",
    "ship_by",
    "shipped_at",
    "delivered_at",
    "currency",
    "total",
    "refunded_total",
    "language",
)


def customers_for_sending(ids: set[int]) -> dict[int, Customer]:
    """The customers of a batch by id, with what deciding and the template context read of them.

    The phone is read as its stored E.164 text and made a `PhoneNumber` without the general parser
    (`phone_from_stored`): parsing was more than half the CPU of loading a customer.
    """
    fields = [name for name in _CUSTOMER_FIELDS if name != "phone"]
    customers = Customer.objects.only(*fields).annotate(stored_phone=Cast("phone", CharField())).in_bulk(ids)
    for customer in customers.values():
        customer.__dict__["phone"] = phone_from_stored(customer.stored_phone)  # as the field's own descriptor keeps it
    return customers


def messages_for_sending(ids: list[int]) -> list[Message]:
    """The claimed messages, oldest due first, with everything deciding and rendering reads.

    A fixed number of queries per batch, and each shop, rule, customer and order is built once
    however many of the batch's messages share it (a batch is mostly one shop and a few rules).
    Only the columns a send reads are loaded (a test renders every context name with a constant
    number of queries, so a field read but not loaded shows up there).
    """
    messages = list(Message.objects.filter(pk__in=ids).defer(*_MESSAGE_OUTPUT_FIELDS).order_by("send_at", "id"))
    shops = Merchant.objects.in_bulk({message.shop_id for message in messages})
    rules = (
        CareRule.objects.select_related("coupon_pool")
        .prefetch_related("templates")
        .in_bulk({message.rule_id for message in messages if message.rule_id})
    )
    customers = customers_for_sending({message.customer_id for message in messages if message.customer_id})
    orders = (
        Order.objects.only(*_ORDER_FIELDS)
        # Whether a browser asked for the order's notifications: in the orders' own query, so a batch
        # without any costs no query more.
        .annotate(push_live=push_subscription_live_annotation())
        .prefetch_related(
            # As plain lists (journeys.order_parts): no queryset per order.
            Prefetch("lines", queryset=OrderLine.objects.only(*_LINE_FIELDS), to_attr=LOADED_LINES),
            Prefetch("shipments", queryset=Shipment.objects.only(*_SHIPMENT_FIELDS), to_attr=LOADED_PARCELS),
        )
        .in_bulk({message.order_id for message in messages if message.order_id})
    )
    # Campaign messages: their campaign's status (paused, cancelled) and audience are checked before sending.
    campaign_ids = {message.campaign_id for message in messages if message.campaign_id}
    campaigns = Campaign.objects.select_related("audience").in_bulk(campaign_ids) if campaign_ids else {}
    related = (("shop", shops), ("rule", rules), ("customer", customers), ("order", orders), ("campaign", campaigns))
    for name, loaded in related:
        field = Message._meta.get_field(name)
        for message in messages:
            key = getattr(message, field.attname)
            field.set_cached_value(message, loaded.get(key) if key is not None else None)
    # Marketing messages share one contact-budget ledger per batch; a transactional batch builds none.
    if any(message.message_class == MessageClass.MARKETING for message in messages):
        ledger = BudgetLedger(messages)
        for message in ledger.messages:
            message.budget_ledger = ledger
    # Holds (journeys.holds): one query per hold the batch's triggers wait for; none for order care.
    holds_attach(messages)
    # Push subscriptions of the orders that have one: one query, only when any has.
    listening = {order_id for order_id, order in orders.items() if order.push_live}
    subscriptions = push_subscriptions_live_by_order(order_ids=listening) if listening else {}
    for message in messages:
        message.push_subscription = subscriptions.get(message.order_id)
    return messages


def messages_let_go_of_lines(messages: list[Message]) -> None:
    """Drop the lines and parcels loaded with each message's order, once the batch is decided and rendered.

    A prefetched line refers to its order and the order to its lines, a cycle only the garbage
    collector's full passes free: about forty objects per order, which made a pass of 30 ms a
    second at 1,000 SMS/s. Dropped here, they go the moment the batch is done with.
    """
    for message in messages:
        order = message.order
        if order is not None:
            order_parts_let_go(order)


# --- deciding, just before sending ------------------------------------------------------------------


@dataclass
class Decision:
    """What happens to one claimed message. `envelope` set: send it. Otherwise `changes` are final."""

    message: Message
    envelope: Envelope | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    tally: str = ""
    content: Content | None = None  # what is sent, when it is sent


def _finish(message: Message, status: str, reason: str, words: str, now: dt.datetime, tally: str) -> Decision:
    explanation = f"{message.explanation} {words}".strip()
    return Decision(
        message,
        changes={"status": status, "reason": reason, "explanation": explanation, "finished_at": now},
        tally=tally,
    )


def _requeue(message: Message, send_at: dt.datetime, words: str, tally: str, **extra: Any) -> Decision:
    # Not an attempt: the claim's count is given back.
    return Decision(
        message,
        changes={
            "status": Status.SCHEDULED,
            "send_at": send_at,
            "attempts": max(message.attempts - 1, 0),
            "explanation": f"{message.explanation} {words}".strip(),
            **extra,
        },
        tally=tally,
    )


def message_decide(
    message: Message, *, now: dt.datetime, provider: Provider, push_provider: Provider | None = None
) -> Decision:
    """Check a claimed message against the world as it is now, and render it when it still goes out.

    `push_provider` sends the messages that go by push in place of their channel (journeys.push.routing)."""
    if message.campaign_id is not None:
        held = _campaign_hold(message, now=now)
        if held is not None:
            return held
    if message.expires_at and now >= message.expires_at:
        return _finish(
            message, Status.EXPIRED, Reason.EXPIRED_WINDOW, _("Expired before it could be sent."), now, "expired"
        )
    rule = message.rule
    if rule is None or not rule.is_active:
        return _finish(
            message, Status.SUPPRESSED, Reason.RULE_DISABLED, _("Not sent: the rule is off."), now, "suppressed"
        )
    spec = trigger_get(message.trigger)
    order = message.order
    fits = spec.fits_order_statuses if spec else None
    if order is not None and fits is not None and order.status not in fits:
        words = _("Not sent: the order is %s now.") % order.get_status_display().lower()
        return _finish(message, Status.SUPPRESSED, Reason.ORDER_CHANGED, words, now, "suppressed")
    if spec and spec.still_applies and order is not None:
        why_not = spec.still_applies(message)
        if why_not:
            return _finish(
                message, Status.SUPPRESSED, Reason.ORDER_CHANGED, _("Not sent: %s.") % why_not, now, "suppressed"
            )
    hold = getattr(message, "hold", None)
    if hold is not None and rule is not None:
        return _held(message, hold, rule=rule, now=now)
    customer: Customer | None = message.customer
    if customer is None:
        return _finish(
            message, Status.SUPPRESSED, Reason.INVALID_ADDRESS, _("Not sent: no customer."), now, "suppressed"
        )
    # Push in place of SMS or email when the customer asked for this order's notifications (journeys.push.routing).
    subscription = getattr(message, "push_subscription", None)
    channel, routed = message.channel, {}
    if push_takes_over(message, subscription):
        channel = Channel.PUSH
        routed = {"channel": Channel.PUSH, "fallback_channel": message.channel}
    problem = channel_problem(
        channel=channel, customer=customer, message_class=message.message_class, push_live=subscription is not None
    )
    if problem is not None:
        fallback = message.fallback_channel
        if fallback and not channel_problem(channel=fallback, customer=customer, message_class=message.message_class):
            words = _("Switched to %(channel)s: %(why)s.") % {"channel": fallback, "why": problem[1]}
            return _requeue(message, now, words, "fallback", channel=fallback, fallback_channel="")
        return _finish(message, Status.SUPPRESSED, problem[0], _("Not sent: %s.") % problem[1], now, "suppressed")
    window = rule_window(rule)
    legal = message_legal_window(customer=customer, message_class=message.message_class)
    if not hours_allow(window, legal, now, message.time_zone):
        try:
            send_at = hours_next_allowed(window, legal, now, message.time_zone)
        except ValueError as error:  # the rule's hours never meet the legal ones
            return _finish(message, Status.EXPIRED, Reason.EXPIRED_WINDOW, _("Not sent: %s") % error, now, "expired")
        words = _("The send window had closed (%(window)s); moved to %(when)s %(zone)s.") % {
            "window": hours_describe(window, legal),
            "when": local_moment(send_at, message.time_zone),
            "zone": message.time_zone,
        }
        return _requeue(message, send_at, words, "window")
    if message.message_class == MessageClass.MARKETING:
        over_budget = _budget_check(message, now=now, window=window, legal=legal)
        if over_budget is not None:
            return over_budget
    coupon_code = ""
    if rule.coupon_pool_id:
        coupon_code = coupon_assign(message=message, now=now)
        if not coupon_code:
            words = _("Not sent: the coupon pool “%s” has no codes left.") % rule.coupon_pool
            return _finish(message, Status.SUPPRESSED, Reason.NO_COUPON, words, now, "suppressed")
    try:
        content = message_content(message, coupon_code=coupon_code, channel=channel)
        if channel == Channel.PUSH:
            content = dataclass_replace(
                content, url=order_status_url(order_id=message.order_id, shop_id=message.shop_id)
            )
    except NoTemplate as error:
        return _finish(message, Status.FAILED, "", _("Not sent: %s") % error, now, "failed")
    except Exception as error:  # a template that fails on this data must not stop the batch
        logger.exception("Rendering message %s failed", message.pk)
        return _finish(message, Status.FAILED, "", _("Not sent: the template failed: %s") % error, now, "failed")
    push = None
    if channel == Channel.PUSH:
        address, push = subscription.address, push_target(message, subscription, now=now)
        provider = push_provider or provider
    else:
        address = phone_e164(customer) if channel == Channel.SMS else customer.email
    envelope = Envelope(
        message_id=message.pk,
        channel=channel,
        to=address,
        body=content.body,
        subject=content.subject,
        html_body=content.html_body,
        sender_name=message.shop.sender_name or message.shop.name,
        reply_to=message.shop.contact_email,
        idempotency_key=message.idem_key,
        push=push,
        url=content.url,
    )
    changes = {
        **routed,
        "address": address,
        "subject": content.subject,
        "body": content.body,
        "html_body": content.html_body,
        "segments": content.segments,
        "coupon_code": coupon_code,
        "provider": provider.name,
    }
    if routed:
        changes["explanation"] = _join(
            message,
            _(
                "As a browser notification in place of %(channel)s: the customer asked for this order's updates "
                "on its status page (%(channel)s if it cannot be delivered)."
            )
            % {"channel": Channel(message.channel).label},
        )
    return Decision(message, envelope=envelope, changes=changes, content=content)


def _held(message: Message, hold: Hold, *, rule: CareRule, now: dt.datetime) -> Decision:
    """Back to the queue unsent until the hold may have lifted (journeys.holds), in the send window; said once."""
    legal = message_legal_window(customer=message.customer, message_class=message.message_class)
    look_again = max(hold.until or now + HOLD_RECHECK, now)
    try:
        send_at = hours_next_allowed(rule_window(rule), legal, look_again, message.time_zone)
    except ValueError:
        send_at = look_again
    words = _("Held: %s.") % hold.why
    explanation = message.explanation if words in message.explanation else f"{message.explanation} {words}".strip()
    return Decision(
        message,
        changes={
            "status": Status.SCHEDULED,
            "send_at": send_at,
            "attempts": max(message.attempts - 1, 0),
            "explanation": explanation,
        },
        tally="held",
    )


def _campaign_hold(message: Message, *, now: dt.datetime) -> Decision | None:
    """A message of a paused campaign waits with it (unsent, no attempt used); one of a cancelled campaign is
    cancelled. Pausing and cancelling change scheduled rows at once; this catches a row claimed meanwhile."""
    status = message.campaign.status
    if status == Campaign.Status.PAUSED:
        return Decision(
            message,
            changes={"status": Status.PAUSED, "attempts": max(message.attempts - 1, 0)},
            tally="paused",
        )
    if status == Campaign.Status.CANCELLED:
        words = _("Not sent: the campaign was cancelled.")
        return _finish(message, Status.CANCELLED, "", words, now, "cancelled")
    return None


def _budget_check(
    message: Message, *, now: dt.datetime, window: SendWindow, legal: LegalWindow | None
) -> Decision | None:
    """None when the contact budget has room for this marketing message now; else it is dropped or deferred."""
    ledger = getattr(message, "budget_ledger", None) or BudgetLedger([message])
    verdict = ledger.verdict(message, now=now)
    if verdict.admitted:
        return None
    budget = verdict.budget.describe()
    if message.rule.over_budget == OverBudget.DROP:
        words = _("Not sent: the contact budget (%s) was used up.") % budget
        return _finish(message, Status.SUPPRESSED, Reason.BUDGET, words, now, "suppressed")
    send_at = hours_next_allowed(window, legal, verdict.next_slot, message.time_zone)
    words = _("Deferred to %(when)s %(zone)s by the contact budget (%(budget)s).") % {
        "when": local_moment(send_at, message.time_zone),
        "zone": message.time_zone,
        "budget": budget,
    }
    return _requeue(message, send_at, words, "budget")


def decisions_links_shorten(decisions: list[Decision]) -> None:
    """Put tracked short links in place of the web links of every message about to go out (two queries a batch)."""
    going = [decision for decision in decisions if decision.envelope is not None and decision.content is not None]
    shortened = contents_links_shorten([(decision.message, decision.content) for decision in going])
    for decision, content in zip(going, shortened, strict=True):
        if content is decision.content:
            continue
        decision.content = content
        decision.envelope = dataclass_replace(
            decision.envelope, body=content.body, html_body=content.html_body, url=content.url
        )
        decision.changes.update(body=content.body, html_body=content.html_body, segments=content.segments)


def coupon_assign(*, message: Message, now: dt.datetime) -> str:
    """The message's coupon code: the one it already holds (a retry), else the pool's next free one."""
    held = Coupon.objects.filter(message=message).values_list("code", flat=True).first()
    if held:
        return held
    with transaction.atomic():
        free = (
            Coupon.objects.select_for_update(skip_locked=True)
            .filter(pool_id=message.rule.coupon_pool_id, message__isnull=True)
            .order_by("id")
            .first()
        )
        if free is None:
            return ""
        free.message, free.assigned_at = message, now
        free.save(update_fields=["message", "assigned_at"])
        return free.code


# --- outcomes ---------------------------------------------------------------------------------------


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter: about 30 s, 1 min, 2 min ... capped at an hour; Retry-After wins if longer."""
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    jittered = base / 2 + random.uniform(0, base / 2)  # noqa: S311 - spreading retries, not security
    return max(jittered, retry_after or 0)


def result_changes(message: Message, result: SendResult, *, now: dt.datetime) -> tuple[dict[str, Any], str]:
    """Field changes for a provider's answer, and the tally name."""
    if result.outcome == Outcome.DEFERRED:
        # Never reached the provider: its slot had passed. Straight back to the queue, not an attempt.
        return {"status": Status.SCHEDULED, "send_at": now, "attempts": max(message.attempts - 1, 0)}, "deferred"
    common = {"provider_message_id": result.provider_message_id, "error_code": result.error_code, "error": result.error}
    if result.outcome == Outcome.SENT:
        return {**common, "status": Status.SENT, "sent_at": now, "finished_at": None}, "sent"
    if result.outcome == Outcome.RETRY:
        if message.attempts >= message.max_attempts:
            words = _("Gave up after %d attempts.") % message.attempts
            return {
                **common,
                "status": Status.FAILED,
                "finished_at": now,
                "explanation": _join(message, words),
            }, "failed"
        send_at = now + dt.timedelta(seconds=backoff_seconds(message.attempts, result.retry_after))
        if message.rule is not None:
            send_at = window_next_allowed(rule_window(message.rule), send_at, message.time_zone)
        if message.expires_at and send_at >= message.expires_at:
            words = _("Expired while retrying.")
            return {
                **common,
                "status": Status.EXPIRED,
                "reason": Reason.EXPIRED_WINDOW,
                "finished_at": now,
                "explanation": _join(message, words),
            }, "expired"
        return {**common, "status": Status.SCHEDULED, "send_at": send_at}, "retried"
    if result.outcome == Outcome.OPTED_OUT:
        words = _("Not sent: the provider says the recipient opted out.")
        return {
            **common,
            "status": Status.SUPPRESSED,
            "reason": Reason.OPTED_OUT,
            "finished_at": now,
            "explanation": _join(message, words),
        }, "suppressed"
    if result.outcome == Outcome.INVALID_ADDRESS:
        words = _("Not sent: the provider says the address cannot receive it.")
        return {
            **common,
            "status": Status.FAILED,
            "reason": Reason.INVALID_ADDRESS,
            "finished_at": now,
            "explanation": _join(message, words),
        }, "failed"
    return {**common, "status": Status.FAILED, "finished_at": now}, "failed"


def push_fallback_changes(decision: Decision, result: SendResult, *, now: dt.datetime) -> dict[str, Any] | None:
    """A push the push service will not deliver goes back to the queue on its fallback channel (the rule's SMS
    or email), at once; None when it was delivered, will be retried, or has no fallback.

    Cannot deliver: the subscription is gone (404/410), the service refused it for good (another 4xx),
    or it kept failing until the message's attempts ran out.
    """
    message = decision.message
    fallback = decision.changes.get("fallback_channel", message.fallback_channel)
    if not fallback or result.outcome in (Outcome.SENT, Outcome.DEFERRED):
        return None
    if result.outcome == Outcome.RETRY and message.attempts < message.max_attempts:
        return None
    words = _("The browser notification was not delivered (%(why)s); %(channel)s instead.") % {
        "why": result.error_code or result.error[:80] or result.outcome,
        "channel": Channel(fallback).label,
    }
    return {
        "status": Status.SCHEDULED,
        "send_at": now,
        "channel": fallback,
        "fallback_channel": "",
        "provider": "",
        "provider_message_id": "",
        # Marked as push's failure, so this message is not routed to push again (journeys.push.routing).
        "error_code": f"{PUSH_FAILED_PREFIX}{result.error_code or result.outcome}"[:40],
        "error": result.error,
        "explanation": f"{decision.changes.get('explanation', message.explanation)} {words}".strip(),
    }


def recipients_refusals_apply(refusals: list[tuple[Message, SendResult]]) -> None:
    """What a provider's refusal of an SMS says about its recipient, as its status callback would say it.

    Recipient opted out (Twilio 21610): the opt-out is recorded, so no SMS is tried again. A number
    that can never take texts (21211, 21614, 21635): the customer's number is flagged and set aside.
    """
    for message, result in refusals:
        customer = message.customer
        if customer is None or message.channel != Channel.SMS:
            continue
        words = f"{message.provider or 'provider'} error {result.error_code}".strip()
        if result.outcome == Outcome.OPTED_OUT and not customer.sms_opted_out_at:
            consent_record(
                customer=customer,
                channel=Channel.SMS,
                action=ConsentRecord.Action.OPTED_OUT,
                source="provider",
                wording=words,
                actor="provider answer",
                message=message,
            )
        elif result.outcome == Outcome.INVALID_ADDRESS:
            customer_phone_flag(customer=customer, phone=message.address, problem=f"{words}: {result.error}")


def _join(message: Message, words: str) -> str:
    return f"{message.explanation} {words}".strip()


_DATETIME_FIELDS = {"send_at", "sent_at", "finished_at"}
# What a decision or a provider's answer may change; anything else is a programming error.
RECORDABLE_FIELDS = frozenset(
    {
        "status",
        "reason",
        "send_at",
        "attempts",
        "channel",
        "fallback_channel",
        "address",
        "subject",
        "body",
        "html_body",
        "segments",
        "coupon_code",
        "provider",
        "provider_message_id",
        "error_code",
        "error",
        "explanation",
        "sent_at",
        "finished_at",
    }
)
_LEASE_GUARD = "status = 'sending' AND lease_owner = %s"


def _record_sql_postgresql(names: tuple[str, ...]) -> str:
    # One statement per shape of change: the rows' values arrive as one array per column.
    fields = [Message._meta.get_field(name) for name in names]
    arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    return (
        f"UPDATE journeys_message AS m SET {assignments}, lease_owner = '', lease_until = NULL, updated_at = %s "  # noqa: S608 - column names from RECORDABLE_FIELDS; values are parameters
        f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(names)}) "
        f"WHERE m.id = v.id AND m.{_LEASE_GUARD}"
    )


def _record_sql_sqlite(names: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{name} = %s" for name in names)
    return (
        f"UPDATE journeys_message SET {assignments}, lease_owner = '', lease_until = NULL, updated_at = %s "  # noqa: S608 - column names from RECORDABLE_FIELDS; values are parameters
        f"WHERE id = %s AND {_LEASE_GUARD}"
    )


def messages_record(*, outcomes: list[tuple[Message, dict[str, Any]]], owner: str, now: dt.datetime) -> int:
    """Write outcomes in one transaction, only for rows still leased to `owner`. Returns rows written.

    Outcomes are grouped by which fields they change (a batch is mostly "sent"), and each group is
    one statement: an UPDATE over unnest()ed arrays on PostgreSQL, an executemany on SQLite.
    """
    if not outcomes:
        return 0
    adapt = connection.ops.adapt_datetimefield_value
    groups: dict[tuple[str, ...], list[tuple[Message, dict[str, Any]]]] = {}
    for message, changes in outcomes:
        if unknown := set(changes) - RECORDABLE_FIELDS:
            raise ValueError(f"Not recordable: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(message, name, value)
        groups.setdefault(tuple(sorted(changes)), []).append((message, changes))
    written = 0
    with transaction.atomic(), prepared_cursor() as cursor:
        for names, rows in groups.items():
            columns = [
                [adapt(changes[name]) if name in _DATETIME_FIELDS else changes[name] for _message, changes in rows]
                for name in names
            ]
            ids = [message.pk for message, _changes in rows]
            if connection.vendor == "postgresql":
                cursor.execute(_record_sql_postgresql(names), [adapt(now), ids, *columns, owner])
            else:
                stamp = adapt(now)
                params = [[*values, stamp, pk, owner] for pk, *values in zip(ids, *columns, strict=True)]
                cursor.executemany(_record_sql_sqlite(names), params)
            written += max(cursor.rowcount, 0)
    return written


# --- the loop ------------------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    claimed: int = 0
    tally: Counter = field(default_factory=Counter)
    claim_seconds: float = 0.0
    record_seconds: float = 0.0
    reaped: int = 0

    def add(self, other: "DispatchReport") -> None:
        self.claimed += other.claimed
        self.tally.update(other.tally)
        self.claim_seconds += other.claim_seconds
        self.record_seconds += other.record_seconds
        self.reaped += other.reaped

    def __str__(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in sorted(self.tally.items()))
        return f"claimed {self.claimed}" + (f": {counts}" if counts else "")


def dispatcher_name() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Send:
    """One envelope on its way, with the provider that sends it and the moment (monotonic) it may start."""

    decision: Decision
    provider: Provider
    start_at: float | None = None


# What a shop's own SMS account needs to become a provider (journeys.providers.twilio).
_ACCOUNT_FIELDS = (
    "id",
    "shop_id",
    "account_sid",
    "auth_token",
    "from_number",
    "messaging_service_sid",
    "base_url",
    "rate_per_second",
    "daily_cap",
)


class Dispatcher:
    """Drains the outbox. Use one per process; `batch()` is one claim-decide-send-record round.

    SMS of a shop with an active `SmsAccount` go out through that account; other messages through
    the channel's provider from settings. Each account's rate limit and daily cap hold across
    every dispatcher (journeys.services.pacing).
    """

    def __init__(
        self,
        *,
        channels: Iterable[str] = ("sms", "email", "push"),
        batch_size: int = 100,
        owner: str | None = None,
        providers: dict[str, Provider] | None = None,
    ) -> None:
        self.channels = list(channels)
        self.batch_size = batch_size
        self.owner = owner or dispatcher_name()
        self.providers = providers or {channel: provider_for_channel(channel) for channel in self.channels}
        # Providers of shops' own SMS accounts: account id -> (the account's settings, provider).
        self._account_providers: dict[int, tuple[tuple, Provider]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._last_reap = 0.0
        # Until when (monotonic) messages this dispatcher put back for a rate limit are expected due.
        self._paced_until = 0.0
        # Provider answers that say something about the recipient, applied once their outcomes are written.
        self._refusals: list[tuple[Message, SendResult]] = []
        # Push subscriptions the push service took a notification for, and the ones it said are gone.
        self._push_delivered: list[int] = []
        self._push_gone: list[PushGone] = []
        # The last slot (monotonic) this dispatcher holds, and the account's next free slot, per provider account.
        self._slotted_until: dict[str, float] = {}
        self._next_free: dict[str, float] = {}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for provider in [*self.providers.values(), *(provider for _at, provider in self._account_providers.values())]:
            provider.close()

    def __enter__(self) -> "Dispatcher":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- which provider sends a message --------------------------------------------------------------

    @property
    def push_provider(self) -> Provider:
        """Sends the messages that go by push, whichever channel's batch they were claimed in."""
        if "push" not in self.providers:
            self.providers["push"] = provider_for_channel("push")
        return self.providers["push"]

    def providers_for(self, messages: list[Message], *, channel: str) -> list[Provider]:
        """The provider of each message: its shop's active SMS account, else the channel's provider."""
        default = self.providers[channel]
        if channel != "sms":
            return [default] * len(messages)
        accounts = SmsAccount.objects.filter(shop_id__in={message.shop_id for message in messages}, is_active=True)
        by_shop = {account.shop_id: self._account_provider(account) for account in accounts.only(*_ACCOUNT_FIELDS)}
        return [by_shop.get(message.shop_id, default) for message in messages]

    def _account_provider(self, account: SmsAccount) -> Provider:
        from journeys.providers.twilio import twilio_provider_for_account

        settings_now = tuple(getattr(account, name) for name in _ACCOUNT_FIELDS)
        cached = self._account_providers.get(account.pk)
        if cached is not None and cached[0] == settings_now:
            return cached[1]
        if cached is not None:  # the account was edited: new credentials, sender or limits
            cached[1].close()
        provider = twilio_provider_for_account(account)
        self._account_providers[account.pk] = (settings_now, provider)
        return provider

    # -- sending ------------------------------------------------------------------------------------------

    def _ensure_pool(self, concurrency: int) -> ThreadPoolExecutor:
        if self._pool is None or self._pool_size < concurrency:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool, self._pool_size = ThreadPoolExecutor(concurrency, "send"), concurrency
        return self._pool

    def _send_all(self, sends: list[Send]) -> list[SendResult]:
        """Send each envelope no earlier than its slot, `concurrency` at a time; results in `sends` order."""
        concurrency = max((send.provider.concurrency for send in sends), default=1)
        if concurrency <= 1 or len(sends) <= 1:
            return [self._send_one(send) for send in sends]
        pool = self._ensure_pool(concurrency)
        # Earliest slot first, so no thread waits for a late slot while an earlier one is pending.
        order = sorted(range(len(sends)), key=lambda index: sends[index].start_at or 0.0)
        results = dict(zip(order, pool.map(lambda index: self._send_one(sends[index]), order), strict=True))
        return [results[index] for index in range(len(sends))]

    @staticmethod
    def _send_one(send: Send) -> SendResult:
        if send.start_at is not None:
            wait = send.start_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # Checked after the sleep too: a thread can wake well after its slot on a busy machine.
            if time.monotonic() - send.start_at > LATE_TOLERANCE_SECONDS:
                return SendResult(Outcome.DEFERRED)
        envelope = send.decision.envelope
        try:
            return send.provider.send(envelope)
        except Exception as error:  # an unexpected provider bug: retry later, never lose the row
            logger.exception("Provider %s raised for message %s", send.provider.name, envelope.message_id)
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}")

    def _pace(
        self, sends: list[Send], report: DispatchReport, *, blocks: bool = False
    ) -> tuple[list[Send], list[Send], list[tuple[Message, dict]]]:
        """Give each send of a rate-limited or capped account its slot.

        Returns the sends to make now (each with its slot, or none when unlimited), the sends to keep
        for a later block, and the outcomes of those put back in the queue.
        `blocks` (a draining dispatcher): take at most one block of slots per account, reaching
        `LEAD_SECONDS + BLOCK_SECONDS` ahead, and keep what should find a slot within `HORIZON`.
        Otherwise take as many as fit in the next `HORIZON` and put the rest back.
        """
        by_account: dict[str, list[Send]] = {}
        for send in sends:
            if send.provider.paced:
                by_account.setdefault(send.provider.pace_key, []).append(send)
        if not by_account:
            return sends, [], []
        now, reference = clock_now(), time.monotonic()
        kept: set[int] = {id(send) for send in sends if not send.provider.paced}
        keep_for_later: list[Send] = []
        put_back: list[tuple[Message, dict]] = []
        for key, group in by_account.items():
            provider = group[0].provider
            rate = provider.rate_limit.per_second if provider.rate_limit else None
            reservation = pace_reserve(
                key=key,
                rate_per_second=rate,
                daily_cap=provider.daily_cap,
                wanted=len(group),
                now=now,
                horizon=dt.timedelta(seconds=LEAD_SECONDS + BLOCK_SECONDS) if blocks else HORIZON,
                most=pace_block(rate) if blocks else None,
            )
            for send, slot in zip(group, reservation.slots, strict=False):
                send.start_at = reference + (slot - now).total_seconds()
                kept.add(id(send))
            if reservation.slots:
                self._slotted_until[key] = reference + (reservation.slots[-1] - now).total_seconds()
            self._next_free[key] = reference + (reservation.next_free_at - now).total_seconds()
            waiting = group[len(reservation.slots) :]
            soon = sum(1 for slot in reservation.paced if blocks and slot - now < HORIZON)
            keep_for_later.extend(waiting[:soon])
            for send, slot in zip(waiting[soon:], reservation.paced[soon:], strict=False):
                put_back.append((send.decision.message, _pace_changes(send.decision.message, slot)))
                report.tally["paced"] += 1
            if reservation.paced[soon:]:
                # A little past the last one: a claim made just before it came due must be followed by another.
                last_due = reference + (reservation.paced[-1] - now).total_seconds() + PACED_GRACE_SECONDS
                self._paced_until = max(self._paced_until, last_due)
            for send in waiting[len(reservation.paced) :]:
                words = _("The SMS account's daily cap of %(cap)d messages was reached; moved to %(when)s UTC.") % {
                    "cap": provider.daily_cap,
                    "when": f"{reservation.cap_resets_at:%Y-%m-%d %H:%M}",
                }
                message = send.decision.message
                put_back.append((message, _requeue(message, reservation.cap_resets_at, words, "capped").changes))
                report.tally["capped"] += 1
        return [send for send in sends if id(send) in kept], keep_for_later, put_back

    # -- one round ------------------------------------------------------------------------------------------

    def _prepare(
        self, channel: str, *, limit: int, report: DispatchReport
    ) -> tuple[list[Send], list[tuple[Message, dict[str, Any]]]]:
        """Claim up to `limit` due messages of `channel` and decide each: sends to make, and final outcomes."""
        started = time.perf_counter()
        now = clock_now()
        ids = messages_claim(channel=channel, limit=limit, owner=self.owner, now=now)
        report.claim_seconds += time.perf_counter() - started
        report.claimed += len(ids)
        return self._decide(ids, channel=channel, now=now, report=report) if ids else ([], [])

    def _decide(
        self, ids: list[int], *, channel: str, now: dt.datetime, report: DispatchReport
    ) -> tuple[list[Send], list[tuple[Message, dict[str, Any]]]]:
        messages = messages_for_sending(ids)
        providers = self.providers_for(messages, channel=channel)
        # Made only for a batch that has an order someone listens to (journeys.push.routing).
        push_provider = (
            self.push_provider if any(getattr(message, "push_subscription", None) for message in messages) else None
        )
        decisions = [
            message_decide(message, now=now, provider=provider, push_provider=push_provider)
            for message, provider in zip(messages, providers, strict=True)
        ]
        decisions_links_shorten(decisions)
        messages_let_go_of_lines(messages)
        outcomes: list[tuple[Message, dict[str, Any]]] = []
        sends: list[Send] = []
        for decision, provider in zip(decisions, providers, strict=True):
            if decision.envelope is None:
                outcomes.append((decision.message, decision.changes))
                report.tally[decision.tally] += 1
            elif decision.envelope.push is not None:
                sends.append(Send(decision, push_provider or provider))
            else:
                sends.append(Send(decision, provider))
        return sends, outcomes

    def _outcome(
        self, send: Send, result: SendResult, *, now: dt.datetime, report: DispatchReport
    ) -> tuple[Message, dict]:
        if send.decision.envelope.channel == Channel.PUSH:
            self._push_answer(send, result)
            fallback = push_fallback_changes(send.decision, result, now=now)
            if fallback is not None:
                report.tally["fallback"] += 1
                return send.decision.message, fallback
        changes, tally = result_changes(send.decision.message, result, now=now)
        report.tally[tally] += 1
        if result.outcome in (Outcome.OPTED_OUT, Outcome.INVALID_ADDRESS) and send.decision.envelope.push is None:
            self._refusals.append((send.decision.message, result))
        if result.outcome == Outcome.DEFERRED:
            return send.decision.message, changes
        return send.decision.message, {**send.decision.changes, **changes}

    def _record(self, outcomes: list[tuple[Message, dict[str, Any]]], *, now: dt.datetime, report: DispatchReport):
        started = time.perf_counter()
        messages_record(outcomes=outcomes, owner=self.owner, now=now)
        report.record_seconds += time.perf_counter() - started
        # Provider callbacks that arrived before these outcomes were written can be applied now.
        inbound_events_waiting_apply(
            waiting_for=[
                changes["provider_message_id"] for _message, changes in outcomes if changes.get("provider_message_id")
            ]
        )
        if self._refusals:
            recipients_refusals_apply(self._refusals)
            self._refusals.clear()
        if self._push_delivered or self._push_gone:
            push_results_apply(delivered=self._push_delivered, gone=self._push_gone, now=now)
            self._push_delivered, self._push_gone = [], []

    def _push_answer(self, send: Send, result: SendResult) -> None:
        """Keep what the push service said about the subscription, applied once the outcomes are written."""
        target = send.decision.envelope.push
        if result.outcome == Outcome.SENT:
            self._push_delivered.append(target.subscription_id)
        elif result.outcome == Outcome.INVALID_ADDRESS:  # 404/410: the browser no longer has it
            self._push_gone.append(PushGone(target.subscription_id, send.decision.message, result.error_code))

    def batch(self, channel: str) -> DispatchReport:
        """Claim one batch of `channel`, decide, send (each at its slot), record; return when all is done."""
        report = DispatchReport()
        started = time.perf_counter()
        now = clock_now()
        ids = messages_claim(channel=channel, limit=self.batch_size, owner=self.owner, now=now)
        report.claim_seconds = time.perf_counter() - started
        report.claimed = len(ids)
        if ids:
            self.process_claimed(ids, channel=channel, now=now, report=report)
        return report

    def process_claimed(self, ids: list[int], *, channel: str, now: dt.datetime, report: DispatchReport) -> None:
        """Decide, send and record messages this dispatcher has leased."""
        sends, outcomes = self._decide(ids, channel=channel, now=now, report=report)
        sends, _keep, put_back = self._pace(sends, report)
        outcomes.extend(put_back)
        results = self._send_all(sends)
        sent_at = clock_now() if sends else now
        outcomes.extend(
            self._outcome(send, result, now=sent_at, report=report) for send, result in zip(sends, results, strict=True)
        )
        self._record(outcomes, now=sent_at, report=report)

    def reap_now_and_then(self, every_seconds: float = 30.0) -> int:
        if time.monotonic() - self._last_reap < every_seconds:
            return 0
        self._last_reap = time.monotonic()
        return messages_reap(
            provider_deduplicates=lambda channel: (
                (self.providers.get(channel) or provider_for_channel(channel)).deduplicates
            )
        )

    def _pipelines(self, channel: str) -> bool:
        """Whether the channel's batches overlap (`drain`): its provider has no rate limit and sends from several
        threads, so the sending threads mostly wait for the provider while the next batch is decided."""
        provider = self.providers[channel]
        return not provider.paced and provider.concurrency > 1

    def _claim_size(self, channel: str) -> int:
        # A rate-limited channel claims what it can slot over the next LEAD_SECONDS and one block more,
        # so it slots block after block from messages already decided, and none waits long in hand.
        provider = self.providers[channel]
        if provider.rate_limit is None:
            return self.batch_size
        rate = provider.rate_limit.per_second
        ahead = math.ceil((LEAD_SECONDS + BLOCK_SECONDS) / pace_interval(rate)) + (pace_block(rate) or 0)
        return min(self.batch_size, ahead)

    def _held_for(self, channel: str) -> float:
        """Seconds until a block of the channel's rate-limited provider is worth claiming (0: now)."""
        provider = self.providers[channel]
        if provider.rate_limit is None:
            return 0.0
        return max(0.0, self._next_free.get(provider.pace_key, 0.0) - time.monotonic() - LEAD_SECONDS)

    def _slotted_ahead(self, keys: set[str]) -> float:
        """Seconds until the last slot this dispatcher holds for the accounts it is sending for."""
        now = time.monotonic()
        return min((self._slotted_until.get(key, now) - now for key in keys), default=0.0)

    def drain(
        self,
        *,
        max_seconds: float | None = None,
        max_messages: int | None = None,
        stop_when_idle: bool = True,
        idle_sleep: float = 1.0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> DispatchReport:
        """Send what is due until nothing is (or time or count runs out). Returns what happened.

        Messages without a rate limit go in batches, two at a time: while one batch is on its way
        (the sending threads mostly wait for the provider's answers), the next is claimed and decided;
        then the first one's answers are collected and recorded, and the next one goes out. So at most
        two batches are leased at once, each send is made once, and every outcome is written only
        while its lease is still this dispatcher's; a dispatcher that dies leaves both batches to the
        reaper. Messages of a rate-limited account go in blocks of slots: while one block waits for
        its slots, the next is claimed and slotted, so the account's rate is used without gaps; a send
        that missed its slot comes back and is slotted again in the next block.
        """
        collector_settle()
        switching = _LockSwitching()
        deadline = time.monotonic() + max_seconds if max_seconds is not None else None
        total = DispatchReport()
        in_flight = _InFlight()
        ready: list[Send] = []  # decided and leased, waiting for a slot (or for another one, having missed theirs)
        decided: dict[str, list[Send]] = {}  # per pipelined channel: decided and leased, sent next round
        outcomes: list[tuple[Message, dict[str, Any]]] = []
        recorded_at = time.monotonic()

        def collect(*, wait: bool, look_at_each: bool = False) -> None:
            """Take the answers of finished sends; `wait`: of every send out, waiting for them."""
            if wait and in_flight:
                futures_wait(list(in_flight.sends))
            done = in_flight.take_finished(look_at_each=wait or look_at_each)
            if not done:
                return
            now = clock_now()
            for future, send in done:
                result = future.result()  # never raises: `_send_one` turns a provider's exception into a retry
                if result.outcome == Outcome.DEFERRED:
                    ready.insert(0, send)  # slotted again first, not decided again
                    total.tally["deferred"] += 1
                else:
                    outcomes.append(self._outcome(send, result, now=now, report=total))

        def submit(sends: list[Send]) -> None:
            """Start these sends on the sending threads (each waits for its slot, if it has one)."""
            if sends:
                if any(send.start_at is not None for send in sends):
                    switching.for_slots(True)
                pool = self._ensure_pool(max(send.provider.concurrency for send in sends))
                for send in sends:
                    in_flight.add(pool.submit(self._send_one, send), send)

        try:
            while not should_stop():
                switching.for_slots(len(in_flight) > len(in_flight.unpaced))
                total.reaped += self.reap_now_and_then()
                collect(wait=False)
                claimed, held_for, sent_at, wrote = 0, [], None, False
                if not in_flight or self._slotted_ahead(in_flight.accounts()) < LEAD_SECONDS:
                    for channel in self.channels:
                        if self._pipelines(channel):
                            report = DispatchReport()
                            # The batch on its way comes back and is written before the next claim, so claiming
                            # and writing never compete with the sending threads for the interpreter.
                            if earlier := list(in_flight.unpaced):
                                futures_wait(earlier)
                                collect(wait=False, look_at_each=True)
                            if outcomes:
                                self._record(outcomes, now=clock_now(), report=total)
                                outcomes.clear()
                                wrote = True
                            started = time.perf_counter()
                            now = clock_now()
                            ids = messages_claim(channel=channel, limit=self.batch_size, owner=self.owner, now=now)
                            report.claim_seconds += time.perf_counter() - started
                            report.claimed += len(ids)
                            # What was decided last round goes out (shops' own rate-limited accounts at their slots)...
                            going = [send for send in ready if send.decision.message.channel == channel]
                            ready[:] = [send for send in ready if send.decision.message.channel != channel]
                            going.extend(decided.pop(channel, []))
                            if going:
                                sends, keep, put_back = self._pace(going, report, blocks=True)
                                ready.extend(keep)
                                outcomes.extend(put_back)
                                submit(sends)
                            # ...while what was just claimed is decided.
                            if ids:
                                decided[channel], prepared = self._decide(ids, channel=channel, now=now, report=report)
                                outcomes.extend(prepared)
                            total.add(report)
                            claimed += report.claimed
                            continue
                        if wait := self._held_for(channel):
                            # Its account's slots are taken that far ahead: claiming now would only put rows back.
                            held_for.append(wait)
                            continue
                        report = DispatchReport()
                        waiting = [send for send in ready if send.decision.message.channel == channel]
                        ready[:] = [send for send in ready if send.decision.message.channel != channel]
                        # Claim when a quarter of a claim is left in hand: claiming and deciding cost more than
                        # slotting a block (loading and deciding a batch of 230 took 25% less CPU per message than
                        # one of 60, in-process), and what is in hand and slotted (LEAD_SECONDS) keeps the slots
                        # filled meanwhile.
                        claim_size = self._claim_size(channel)
                        wanted = claim_size - len(waiting)
                        if wanted > 0 and len(waiting) <= claim_size // 4:
                            sends, prepared = self._prepare(channel, limit=wanted, report=report)
                            waiting.extend(sends)
                            outcomes.extend(prepared)
                        sends, keep, put_back = self._pace(waiting, report, blocks=True)
                        ready.extend(keep)
                        outcomes.extend(put_back)
                        submit([send for send in sends if send.start_at is not None])
                        unpaced = [send for send in sends if send.start_at is None]
                        if unpaced:
                            results = self._send_all(unpaced)
                            sent_at = clock_now()
                            outcomes.extend(
                                self._outcome(send, result, now=sent_at, report=report)
                                for send, result in zip(unpaced, results, strict=True)
                            )
                        total.add(report)
                        claimed += report.claimed
                # While slotted sends are on their way, outcomes are written in groups rather than every block.
                if outcomes and (not in_flight or len(outcomes) >= 50 or time.monotonic() - recorded_at > 0.2):
                    # The moment the last answers came back, when this round sent without slots.
                    self._record(outcomes, now=sent_at or clock_now(), report=total)
                    outcomes.clear()
                    collector_settle()
                    recorded_at = time.monotonic()
                    wrote = True
                if max_messages is not None and total.claimed >= max_messages:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if in_flight and not ready and len(in_flight.unpaced) == len(in_flight):
                    if not claimed:  # nothing more is due: wait for the batch on its way, then record it
                        futures_wait(list(in_flight.unpaced), timeout=0.05)
                    continue
                if in_flight or ready:
                    # Slotted sends are on their way: wake when the next block should be slotted.
                    time.sleep(min(0.05, max(0.001, self._slotted_ahead(in_flight.accounts()) - LEAD_SECONDS)))
                    continue
                if claimed == 0 and not wrote:  # what was just written may be due at once (a fallback): look again
                    if held_for:
                        time.sleep(min(0.05, *held_for))
                        continue
                    paced_for = self._paced_until - time.monotonic()
                    if paced_for > 0:
                        # Held back by a rate limit, not idle: what was put back comes due within `paced_for`.
                        time.sleep(min(0.05, paced_for))
                        continue
                    if stop_when_idle:
                        break
                    sleep = idle_sleep if deadline is None else max(0, min(idle_sleep, deadline - time.monotonic()))
                    time.sleep(sleep)
            # Stopping (idle, time, count or asked to): what was claimed and decided still goes out, as a
            # batch always did; only a failure leaves it unsent, put back below.
            if going := [send for sends in decided.values() for send in sends]:
                decided.clear()
                sends, _keep, put_back = self._pace(going, total)
                outcomes.extend(put_back)
                submit(sends)
        finally:
            switching.for_slots(False)
            collect(wait=True)
            now = clock_now()
            unsent = [*ready, *(send for sends in decided.values() for send in sends)]
            outcomes.extend((send.decision.message, _pace_changes(send.decision.message, now)) for send in unsent)
            if outcomes:
                self._record(outcomes, now=now, report=total)
        return total


# How long a thread may hold the interpreter lock while another waits for it (Python's default: 5 ms),
# while slotted sends are on their way. A sending thread that wakes at its slot waits for the lock;
# at 5 ms its start was later than 6.9 ms for one send in ten and later than the 15 ms tolerance for
# 1.7% (each a lost slot), at 1 ms for 0.01%, for 15% more CPU per message (one dispatcher at a
# 1,000/s limit: 0.95 -> 0.97 of the limit, bench/outbox.py). Unslotted sending keeps the default.
SLOTTED_SWITCH_INTERVAL_SECONDS = 0.001


class _LockSwitching:
    """The interpreter's switch interval of a drain: short while slotted sends are on their way."""

    def __init__(self) -> None:
        self._usual = sys.getswitchinterval()
        self._slotted = False

    def for_slots(self, slotted: bool) -> None:
        if slotted != self._slotted:
            self._slotted = slotted
            sys.setswitchinterval(min(self._usual, SLOTTED_SWITCH_INTERVAL_SECONDS) if slotted else self._usual)


class _InFlight:
    """The sends a draining dispatcher has started and not yet collected.

    Each future reports itself when it finishes (`take_finished`), so a dispatcher with a few hundred
    slotted sends out does not look at every one of them on every turn of its loop.
    """

    def __init__(self) -> None:
        self.sends: dict[Future, Send] = {}
        self.unpaced: set[Future] = set()  # sent without a slot: a batch without a rate limit
        self._accounts: Counter = Counter()  # provider account -> sends out
        self._finished: deque[Future] = deque()  # appended to by the sending threads

    def __len__(self) -> int:
        return len(self.sends)

    def add(self, future: Future, send: Send) -> None:
        self.sends[future] = send
        if send.start_at is None:
            self.unpaced.add(future)
        self._accounts[send.provider.pace_key] += 1
        future.add_done_callback(self._finished.append)  # at once when it is already done

    def take_finished(self, *, look_at_each: bool = False) -> list[tuple[Future, Send]]:
        """The sends finished since the last call, each once; one finishing meanwhile comes next time.

        `look_at_each`: also those whose thread has not yet reported them (a future counts as done for
        `concurrent.futures.wait` a moment before its callbacks run), as after waiting for all of them."""
        finished = [self._finished.popleft() for _done in range(len(self._finished))]
        if look_at_each:
            finished.extend(future for future in self.sends if future.done())
        done = []
        for future in finished:
            send = self.sends.pop(future, None)
            if send is None:  # taken already: reported after a look at each
                continue
            self.unpaced.discard(future)
            key = send.provider.pace_key
            self._accounts[key] -= 1
            if not self._accounts[key]:
                del self._accounts[key]
            done.append((future, send))
        return done

    def accounts(self) -> set[str]:
        """The provider accounts with sends out."""
        return set(self._accounts)


_collector_settles = 0
COLLECTOR_YOUNG_THRESHOLD = 20_000


def collector_settle() -> None:
    """Keep the garbage collector's full passes short in a process that drains for a long time.

    A full pass walks every object the process holds, Django's own included, and stops every
    thread meanwhile: measured at 70-85 ms about once a second while sending 1,000 SMS/s, long
    enough for a rate-limited account to lose its slots. Freezing what exists takes those objects
    out of every later pass (`gc.freeze`). Done twice per process, when a drain starts and after
    its first batch has loaded what the first send loads lazily (templates, translations,
    providers), so what is frozen is the long-lived setup, not the garbage of each batch.

    The youngest generation is collected after `COLLECTOR_YOUNG_THRESHOLD` net allocations instead of
    Python's 700: a batch builds thousands of model instances that live until it is recorded, and at
    700 the collector walked them about once per message sent (0.03 ms of CPU per message, measured
    in-process); what a batch leaves is freed by reference counting anyway (messages_let_go_of_lines).
    """
    global _collector_settles
    if _collector_settles < 2:
        _collector_settles += 1
        gc.collect()
        gc.freeze()
        young, middle, old = gc.get_threshold()
        if 0 < young < COLLECTOR_YOUNG_THRESHOLD:  # 0: the process turned automatic collection off
            gc.set_threshold(COLLECTOR_YOUNG_THRESHOLD, middle, old)


def _pace_changes(message: Message, send_at: dt.datetime) -> dict[str, Any]:
    # Waiting for the account's rate is not an attempt, and says nothing worth adding to the explanation.
    return {"status": Status.SCHEDULED, "send_at": send_at, "attempts": max(message.attempts - 1, 0)}


def dispatch_due(*, max_seconds: float | None = None, batch_size: int = 100) -> DispatchReport:
    """One dispatcher run over every channel until nothing is due (django-q2 schedule and `dispatch --once`)."""
    with Dispatcher(batch_size=batch_size) as dispatcher:
        return dispatcher.drain(max_seconds=max_seconds, stop_when_idle=max_seconds is None)
