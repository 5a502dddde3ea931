"""Reads of journeys that need joins, grouping or tenancy: outbox views, rule calendars, timelines."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, Count, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Concat, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.context import CONTEXT_SCHEMA, Field, context_worst_case, links_all, values_all
from journeys.models import (
    CareRule,
    Channel,
    ConsentRecord,
    CouponPool,
    InboundSms,
    Message,
    MessageTemplate,
    ProviderPace,
    SmsAccount,
)
from journeys.providers.twilio import PACE_KEY_PREFIX
from journeys.services.content import content_copy_rules_apply, content_render, message_context
from journeys.services.planning import message_time_zone
from journeys.sms_encoding import SmsLength, sms_cost_hint, sms_length
from journeys.triggers import trigger_get
from merchant.models import Customer, Merchant, Order
from merchant.timeline import TimelineEntry

# --- rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    count: int
    percent: int  # of the busiest day in the range, for a bar
    starts_at: dt.datetime  # the day's bounds in UTC, to list its messages
    ends_at: dt.datetime


def care_rule_calendar_list(*, rule: CareRule, days: int = 7, now: dt.datetime | None = None) -> list[CalendarDay]:
    """Scheduled messages of `rule` per day of the shop's time zone, today and the next days.

    One grouped query, whatever the number of messages.
    """
    zone = ZoneInfo(rule.shop.time_zone)
    today = timezone.localtime(now or timezone.now(), zone).date()
    # Midnights built from local dates, so a day with a DST change is 23 or 25 hours long.
    bounds = [
        dt.datetime.combine(today + dt.timedelta(days=offset), dt.time.min, tzinfo=zone) for offset in range(days + 1)
    ]
    rows = (
        Message.objects.filter(
            rule=rule, status=Message.Status.SCHEDULED, send_at__gte=bounds[0], send_at__lt=bounds[-1]
        )
        .annotate(day=TruncDate("send_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("id"))
        .order_by("day")
    )
    counts = {row["day"]: row["count"] for row in rows}
    busiest = max(counts.values(), default=0)
    return [
        CalendarDay(
            day=start.date(),
            count=counts.get(start.date(), 0),
            percent=round(100 * counts.get(start.date(), 0) / busiest) if busiest else 0,
            starts_at=start.astimezone(dt.UTC),
            ends_at=end.astimezone(dt.UTC),
        )
        for start, end in zip(bounds, bounds[1:], strict=False)
    ]


def order_recent_list(*, shop: Merchant, limit: int = 20) -> list[Order]:
    """The shop's latest orders with their customers, e.g. to preview a template against one."""
    return list(Order.objects.filter(shop=shop).select_related("customer").order_by("-placed_at", "-id")[:limit])


# --- template previews ----------------------------------------------------------------------------

SAMPLE_COUPON = "SAMPLE-COUPON-1234"


@dataclass(frozen=True)
class ContextRow:
    name: str
    value: str
    description: str


@dataclass(frozen=True)
class Preview:
    """A template rendered against one context, with what an editor needs to judge it."""

    subject: str = ""
    body: str = ""
    html_body: str = ""
    sms: SmsLength | None = None
    sms_hint: str = ""
    forcing_characters: tuple[str, ...] = ()  # the characters that made the SMS UCS-2, printable
    context: tuple[ContextRow, ...] = ()
    time_zone: str = ""
    error: str = ""
    # Marketing SMS: the words the copy rules add around the template's text (journeys.sms_copy).
    added_before: str = ""
    added_after: str = ""


def message_preview_get(*, rule: CareRule, template: MessageTemplate, order: Order | None = None) -> Preview:
    """`template` rendered for `order` exactly as the dispatcher would (current data, the customer's zone),
    or with the worst-case context (every field at its longest) when no order is given. Writes nothing."""
    if order is None:
        context, time_zone = context_worst_case(), rule.shop.time_zone
    else:
        # An unsaved outbox row: the same context the dispatcher builds at send time.
        now = timezone.now()
        message = Message(
            shop=rule.shop,
            customer=order.customer,
            order=order,
            rule=rule,
            trigger=rule.trigger,
            step="0",
            channel=template.channel,
            language=template.language,
            time_zone=message_time_zone(customer=order.customer, shop=rule.shop),
            message_class=rule.message_class,
            anchor_at=now,
            not_before=now,
            send_at=now,
        )
        context = message_context(message, coupon_code=SAMPLE_COUPON if rule.coupon_pool_id else "")
        time_zone = message.time_zone
    rows = tuple(_context_rows(context, time_zone))
    try:
        content = content_render(template, context, time_zone=time_zone)
    except Exception as error:  # a preview shows what went wrong instead of failing the page
        return Preview(context=rows, time_zone=time_zone, error=f"{type(error).__name__}: {error}")
    content, copy = content_copy_rules_apply(
        content, channel=template.channel, message_class=rule.message_class, shop=rule.shop
    )
    if template.channel != Channel.SMS:
        return Preview(content.subject, content.body, content.html_body, context=rows, time_zone=time_zone)
    length = sms_length(content.body)
    return Preview(
        body=content.body,
        sms=length,
        sms_hint=sms_cost_hint(length),
        forcing_characters=tuple(_visible(char) for char in length.non_gsm_characters),
        context=rows,
        time_zone=time_zone,
        added_before=copy.added_before if copy else "",
        added_after=copy.added_after if copy else "",
    )


def _visible(char: str) -> str:
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def _describe(name: str, attribute: str | None = None) -> str:
    spec = CONTEXT_SCHEMA.get(name)
    if name == "links":
        link = links_all().get(attribute or "")
        return link.description if link else ""
    if isinstance(spec, dict):
        field = spec.get(attribute or "")
        return field.description if isinstance(field, Field) else ""
    if spec is None and name in values_all():
        return values_all()[name].description
    return spec.description if isinstance(spec, Field) else ""


def _shown(value, time_zone: str) -> str:
    if isinstance(value, dt.datetime):
        return f"{timezone.localtime(value, ZoneInfo(time_zone)):%Y-%m-%d %H:%M} ({time_zone})"
    return "" if value is None else str(value)


def _context_rows(context: dict, time_zone: str):
    for name, value in context.items():
        if isinstance(value, dict):
            attributes = value or dict.fromkeys(CONTEXT_SCHEMA.get(name) or {}, None)
            for attribute, item in attributes.items():
                yield ContextRow(f"{name}.{attribute}", _shown(item, time_zone), _describe(name, attribute))
        elif isinstance(value, list):
            for index, line in enumerate(value[:3]):
                for attribute, item in line.items():
                    yield ContextRow(f"{name}.{index}.{attribute}", _shown(item, time_zone), _describe(name, attribute))
            if not value:
                yield ContextRow(name, "", "Order lines; loop with {% for line in lines %}")
        else:
            yield ContextRow(name, _shown(value, time_zone), _describe(name))


# --- coupons --------------------------------------------------------------------------------------------


def coupon_pool_with_counts(pools: QuerySet[CouponPool]) -> QuerySet[CouponPool]:
    """Pools annotated with `free_count` and `used_count`, in the same query."""
    return pools.annotate(
        free_count=Count("coupons", filter=Q(coupons__message__isnull=True)),
        used_count=Count("coupons", filter=Q(coupons__message__isnull=False)),
    )


# --- timeline ---------------------------------------------------------------------------------------------


def message_trigger_label(trigger: str) -> str:
    spec = trigger_get(trigger)
    return str(spec.label) if spec else trigger


def message_timeline_moment(message: Message) -> dt.datetime:
    """Where a message sits on a timeline: when sent; when due while open; else when it was settled."""
    if message.sent_at:
        return message.sent_at
    if message.status in Message.OPEN:
        return message.send_at
    return message.finished_at or message.created_at


def message_timeline_entry(message: Message, *, with_order: bool = False) -> TimelineEntry:
    title = f"{message_trigger_label(message.trigger)} · {message.get_channel_display()}"
    if with_order and message.order_id:
        title = f"{title} · {message.order}"
    status = message.get_status_display()
    if message.reason:
        status = f"{status}: {message.get_reason_display()}"
    detail = [message.explanation]
    if message.address:
        detail.insert(0, f"To {message.address}.")
    if message.error:
        detail.append(f"Error: {message.error}")
    return TimelineEntry(
        at=message_timeline_moment(message),
        kind="message",
        title=title,
        detail=" ".join(part for part in detail if part),
        status=status,
        url=reverse("admin:journeys_message_change", args=[message.pk]),
    )


def message_timeline_entries(*, order: Order | None = None, customer: Customer | None = None) -> list[TimelineEntry]:
    """Timeline source (merchant.timeline): the messages of an order, or of a customer. One query."""
    if order is not None:
        messages = Message.objects.filter(order=order)
    elif customer is not None:
        messages = Message.objects.filter(customer=customer).select_related("order")
    else:
        return []
    return [
        message_timeline_entry(message, with_order=customer is not None)
        for message in messages.order_by("send_at", "id")
    ]


def consent_timeline_entries(*, order: Order | None = None, customer: Customer | None = None) -> list[TimelineEntry]:
    """Timeline source: a customer's consent changes (opt-outs, opt-ins, marketing consent). One query."""
    if customer is None:
        return []
    records = ConsentRecord.objects.filter(customer=customer).order_by("at", "id")
    return [
        TimelineEntry(
            at=record.at,
            kind="consent",
            title=f"{record.get_action_display()} · {record.get_channel_display()}",
            detail=" · ".join(
                part
                for part in (
                    record.source.replace("_", " "),
                    f"“{record.wording}”" if record.wording else "",
                    record.actor,
                )
                if part
            ),
        )
        for record in records
    ]


def _text_state(text: InboundSms) -> str:
    if text.resolution:
        return text.get_resolution_display()
    return _("Waiting for a person") if text.kind == InboundSms.Kind.POSSIBLE_OPT_OUT else ""


def inbound_sms_timeline_entries(
    *, order: Order | None = None, customer: Customer | None = None
) -> list[TimelineEntry]:
    """Timeline source: texts the customer sent, with what was done about them. One query."""
    if customer is None:
        return []
    texts = InboundSms.objects.filter(customer=customer).order_by("received_at", "id")
    return [
        TimelineEntry(
            at=text.received_at,
            kind="reply",
            title=f"{text.get_kind_display()} · SMS",
            detail=text.body,
            status=_text_state(text),
            url=reverse("admin:journeys_inboundsms_change", args=[text.pk]),
        )
        for text in texts
    ]


# --- SMS accounts ---------------------------------------------------------------------------------------


def sms_accounts_for_sid(*, account_sid: str) -> list[SmsAccount]:
    """Every shop's account row with this Twilio account SID, active or not: whose tokens may sign its
    webhooks (late callbacks of an account turned off still come). A token replaced in its row stops working."""
    if not account_sid:
        return []
    return list(SmsAccount.objects.filter(account_sid=account_sid).select_related("shop").order_by("-is_active", "id"))


def twilio_text_shops(
    *, accounts: list[SmsAccount], via_settings: bool, to_number: str, messaging_service_sid: str, sender: str
) -> list[Merchant]:
    """The shops a text to `to_number` belongs to.

    The accounts that send from that number (else through that messaging service, else all of
    the signer's), plus, when the settings account signed, the shops without an active account of
    their own. Of those, the shops that know the sender (a number shared by several shops opts out
    of all of them), else the first one, so a text from a stranger is still kept somewhere.
    """
    by_number = [account for account in accounts if account.from_number and account.from_number == to_number]
    by_service = [
        account
        for account in accounts
        if messaging_service_sid and account.messaging_service_sid == messaging_service_sid
    ]
    chosen = by_number or by_service or accounts
    shop_ids = list(dict.fromkeys(account.shop_id for account in chosen))
    if via_settings and not by_number and not by_service:
        without_account = Merchant.objects.exclude(sms_accounts__is_active=True).order_by("id")
        shop_ids += [pk for pk in without_account.values_list("pk", flat=True) if pk not in shop_ids]
    if not shop_ids:
        return []
    knowing = (
        set(Customer.objects.filter(shop_id__in=shop_ids, phone=sender).values_list("shop_id", flat=True).distinct())
        if sender
        else set()
    )
    wanted = [pk for pk in shop_ids if pk in knowing] or shop_ids[:1]
    shops = Merchant.objects.in_bulk(wanted)
    return [shops[pk] for pk in wanted]


def sms_accounts_with_sent_today(accounts: QuerySet, *, now: dt.datetime) -> QuerySet:
    """SMS accounts with `sent_today`: the sends their rate limit and daily cap counted on this UTC day."""
    sender = Case(When(from_number="", then=F("messaging_service_sid")), default=F("from_number"))
    key = Concat(Value(PACE_KEY_PREFIX), F("account_sid"), Value(":"), sender, output_field=CharField())
    today = ProviderPace.objects.filter(key=OuterRef("pace_key"), day=now.date()).values("sent_on_day")[:1]
    return accounts.annotate(pace_key=key, sent_today=Subquery(today))
