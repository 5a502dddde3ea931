"""Who an audience reaches: counts for the admin's preview, a sample of recipients with what each would
get, and the audience as a filter on customers (the greeting calendar's counts).

One piece decides who is in an audience: the fan-out's SQL (`journeys.campaigns.fanout.audience_sql`
and `recipients_sql`). Everything here runs that same SQL, so a preview, a calendar count and the
messages finally planned never disagree (the language filter, for one, compares the language the
message would be in: the order's, else the customer's, else the shop's).

Tenancy-safe by construction: the shop comes from the audience (or its campaign), never from the caller.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from journeys.campaigns import fanout
from journeys.campaigns.models import Audience, Campaign
from journeys.models import CareRule, Channel, Message, MessageClass, OverBudget
from merchant.models import Customer, Merchant, Order

SAMPLE_SIZE = 20


@dataclass(frozen=True)
class AudienceCount:
    """Who an audience reaches now, as the fan-out would plan it."""

    total: int  # customers (or orders) matching the audience
    reachable: int  # of them, those who would be sent the message
    by_country: dict[str, int] = field(default_factory=dict)  # "" for customers without a country
    by_language: dict[str, int] = field(default_factory=dict)  # the language the message would be in
    by_channel: dict[str, int] = field(default_factory=dict)  # channel used, of the reachable ones
    suppressed: dict[str, int] = field(default_factory=dict)  # reason -> how many would be suppressed

    @property
    def suppressed_total(self) -> int:
        return self.total - self.reachable

    @property
    def suppressed_labelled(self) -> list[tuple[str, str, int]]:
        """(reason, its words, count), for a page."""
        return reason_labels(self.suppressed)


@dataclass(frozen=True)
class SampleRecipient:
    """One recipient as the fan-out would plan them: when, in which language, by which channel, or why not."""

    customer: Customer
    order: Order | None  # audiences of orders: the order the message is about
    country: str
    language: str
    channel: str  # the channel the message would go by (the fallback when the first cannot be used)
    reason: str  # why it would be suppressed (Message.Reason); "" when it would be sent
    why: str  # the reason in words, e.g. "no SMS marketing consent"
    time_zone: str
    send_at: dt.datetime | None  # UTC, before the spread adds its seconds; None while the campaign has no time

    @property
    def local_send_at(self) -> dt.datetime | None:
        return self.send_at.astimezone(ZoneInfo(self.time_zone)) if self.send_at else None


def reason_labels(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    labels = dict(Message.Reason.choices)
    return [(reason, str(labels.get(reason, reason)), count) for reason, count in counts.items()]


def _preview_campaign(
    audience: Audience,
    *,
    campaign: Campaign | None,
    channel: str,
    fallback_channel: str,
    message_class: str,
    over_budget: str,
) -> Campaign:
    """`campaign` itself, or an unsaved one sending over `channel` that the fan-out's SQL can read."""
    if campaign is not None:
        if campaign.audience_id != audience.pk or campaign.shop_id != audience.shop_id:
            raise ValueError("The campaign does not use this audience.")
        return campaign
    shop = audience.shop
    rule = CareRule(
        shop=shop,
        trigger=Campaign.Kind.CAMPAIGN,
        channel=channel,
        fallback_channel=fallback_channel if fallback_channel != channel else "",
        message_class=message_class,
        over_budget=over_budget,
    )
    return Campaign(shop=shop, audience=audience, rule=rule, kind=Campaign.Kind.CAMPAIGN)


def audience_count(
    audience: Audience,
    *,
    campaign: Campaign | None = None,
    channel: str = Channel.SMS,
    fallback_channel: str = Channel.EMAIL,
    message_class: str = MessageClass.MARKETING,
    over_budget: str = OverBudget.DROP,
    now: dt.datetime | None = None,
) -> AudienceCount:
    """How many customers (or orders) `audience` matches, by country and language, and how many would be
    suppressed and why (no consent, opted out, no usable address, contact budget), for a message sent
    over `channel` (then `fallback_channel`) of `message_class`, or as `campaign` would send it (its
    rule, its holiday's countries, its first moment for the budget). One grouped COUNT statement.
    """
    now = now or timezone.now()
    campaign = _preview_campaign(
        audience,
        campaign=campaign,
        channel=channel,
        fallback_channel=fallback_channel,
        message_class=message_class,
        over_budget=over_budget,
    )
    shop = campaign.shop
    moment = max(fanout.campaign_first_moment(campaign) or now, now)
    plan = fanout.plan_for(campaign, now=now, anchor=moment)
    zone = fanout.ZoneTime(shop.time_zone, fanout.planning_anchor(moment), "")
    z_sql, params = fanout.recipients_sql(plan, zones=[zone], raw_zones=[shop.time_zone], after=None, upto=None)
    sql = f"SELECT z.country, z.lang, z.ch, z.reason, COUNT(*) FROM ({z_sql}) z GROUP BY 1, 2, 3, 4"  # noqa: S608 - built from the models; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_country: Counter = Counter()
    by_language: Counter = Counter()
    by_channel: Counter = Counter()
    suppressed: Counter = Counter()
    total = reachable = 0
    for country, language, used, reason, count in rows:
        total += count
        by_country[country or ""] += count
        by_language[language] += count
        if reason:
            suppressed[reason] += count
        else:
            reachable += count
            by_channel[used] += count
    return AudienceCount(
        total=total,
        reachable=reachable,
        by_country=dict(by_country.most_common()),
        by_language=dict(by_language.most_common()),
        by_channel=dict(by_channel.most_common()),
        suppressed=dict(suppressed.most_common()),
    )


def audience_sample(
    audience: Audience,
    *,
    campaign: Campaign | None = None,
    limit: int = SAMPLE_SIZE,
    channel: str = Channel.SMS,
    fallback_channel: str = Channel.EMAIL,
    message_class: str = MessageClass.MARKETING,
    over_budget: str = OverBudget.DROP,
    now: dt.datetime | None = None,
) -> list[SampleRecipient]:
    """The first `limit` recipients of `audience` (by id), each with what the fan-out would plan for them:
    the moment in their own time zone (DST resolved, before the spread's seconds), the language, the
    channel, or the reason they would be suppressed. "Who will get what", before it happens.

    The fan-out's own statements over its first chunk: the chunk's bounds and zones, the rows, then the
    customers (and orders) shown. Four queries at most, whatever the audience's size.
    """
    now = now or timezone.now()
    campaign = _preview_campaign(
        audience,
        campaign=campaign,
        channel=channel,
        fallback_channel=fallback_channel,
        message_class=message_class,
        over_budget=over_budget,
    )
    shop = campaign.shop
    first = fanout.campaign_first_moment(campaign)
    moment = max(first or now, now)
    plan = fanout.plan_for(campaign, now=now, anchor=moment)
    raw_zones, count, last_key = fanout.chunk_bounds(plan, cursor=0, size=limit)
    if not count:
        return []
    if first is None:  # no date yet: who and how, not when
        raw, zones = [shop.time_zone], [fanout.ZoneTime(shop.time_zone, fanout.planning_anchor(moment), "")]
    else:
        raw, zones = fanout.zones_for(plan, raw_zones)
    z_sql, params = fanout.recipients_sql(plan, zones=zones, raw_zones=raw, after=0, upto=last_key)
    columns = "z.customer_id, z.order_id, z.country, z.lang, z.ch, z.reason, z.w1, z.tz, z.base"
    sql = f"SELECT {columns} FROM ({z_sql}) z ORDER BY z.k"  # noqa: S608 - built from the models; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    customers = Customer.objects.in_bulk([row[0] for row in rows])
    order_ids = [row[1] for row in rows if row[1] is not None]
    orders = Order.objects.in_bulk(order_ids) if order_ids else {}
    return [
        SampleRecipient(
            customer=customers[customer_id],
            order=orders.get(order_id),
            country=country or "",
            language=language,
            channel=used,
            reason=reason,
            why=(why or str(Message.Reason(reason).label)) if reason else "",
            time_zone=zone if first is not None else (customers[customer_id].time_zone or shop.time_zone),
            send_at=dt.datetime.fromtimestamp(float(base), dt.UTC) if first is not None else None,
        )
        for customer_id, order_id, country, language, used, reason, why, zone, base in rows
    ]


def audience_customers_q(audience: Audience, *, now: dt.datetime, shop: Merchant | None = None) -> Q:
    """The customers of `audience` as a filter on Customer (for an audience of orders: those with an order in it).

    The fan-out's own WHERE clause (`fanout.audience_sql`) as a subquery, so a count made with it is
    the number the fan-out plans for: no second version of the filters to drift apart.
    """
    found = fanout.audience_sql(audience, shop=shop or audience.shop, now=now)
    select = f"SELECT c.id FROM {found.from_sql} WHERE {found.where_sql}"  # noqa: S608 - built from the models
    return Q(pk__in=RawSQL(select, found.params))  # noqa: S611 - values are parameters
