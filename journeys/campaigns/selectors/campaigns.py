"""Reads of campaigns: who an audience reaches (the admin's preview) and how far a campaign has got.

Both are tenancy-safe by construction: the shop comes from the audience or the campaign, never
from the caller. Both are a single grouped statement.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from journeys.campaigns import fanout
from journeys.campaigns.models import Audience, Campaign
from journeys.campaigns.services import TEST_STEP
from journeys.models import CareRule, Channel, Message, MessageClass, OverBudget

Status = Message.Status


# --- campaigns of the shops a person belongs to ---------------------------------------------------------


def campaign_list(*, shop_ids) -> QuerySet[Campaign]:
    """The campaigns of these shops, newest first, with what a list shows."""
    return Campaign.objects.filter(shop_id__in=shop_ids).select_related("shop", "audience", "rule", "greeting")


def campaign_get(*, shop_ids, pk: int) -> Campaign | None:
    """One campaign of these shops; None for another shop's (callers answer 404)."""
    return campaign_list(shop_ids=shop_ids).filter(pk=pk).first()


def campaign_test_sends(*, campaign: Campaign) -> QuerySet[Message]:
    """The test sends of a campaign, newest first (not part of its progress)."""
    return Message.objects.filter(shop_id=campaign.shop_id, campaign=campaign, step=TEST_STEP).order_by("-id")


# --- audience preview --------------------------------------------------------------------------------------


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
    shop = audience.shop
    if campaign is None:
        rule = CareRule(
            shop=shop,
            trigger=Campaign.Kind.CAMPAIGN,
            channel=channel,
            fallback_channel=fallback_channel if fallback_channel != channel else "",
            message_class=message_class,
            over_budget=over_budget,
        )
        campaign = Campaign(shop=shop, audience=audience, rule=rule, kind=Campaign.Kind.CAMPAIGN)
    elif campaign.audience_id != audience.pk or campaign.shop_id != audience.shop_id:
        raise ValueError("The campaign does not use this audience.")
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


# --- progress ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign's messages stand. Test sends are not counted."""

    planned: int  # every message planned, suppressed ones included
    scheduled: int
    paused: int
    sending: int
    sent: int  # handed to the provider (sent or delivered)
    delivered: int
    clicked: int
    failed: int
    cancelled: int
    expired: int
    unknown: int
    suppressed: dict[str, int]  # reason -> count
    by_status: dict[str, int]
    planning_done: bool  # the fan-out has planned every recipient

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())

    @property
    def finished(self) -> int:
        """Messages that will not change any more (sent, delivered, failed, suppressed, cancelled, expired)."""
        return self.planned - self.scheduled - self.paused - self.sending

    @property
    def percent(self) -> int:
        """Share of planned messages finished, for a progress bar (0 while nothing is planned)."""
        return int(100 * self.finished / self.planned) if self.planned else 0


def campaign_progress(campaign: Campaign) -> CampaignProgress:
    """Planned, sent, delivered, clicked, suppressed by reason, failed, cancelled, paused, scheduled.

    One grouped statement over the campaign's messages (the (campaign, status) index), in its own shop.
    """
    rows = (
        Message.objects.filter(shop_id=campaign.shop_id, campaign_id=campaign.pk)
        .exclude(step=TEST_STEP)
        .order_by()
        .values_list("status", "reason")
        .annotate(n=Count("pk"), clicked=Count("clicked_at"))
    )
    by_status: Counter = Counter()
    suppressed: Counter = Counter()
    clicked = 0
    for status, reason, count, clicks in rows:
        by_status[status] += count
        clicked += clicks
        if status == Status.SUPPRESSED:
            suppressed[reason or "other"] += count
    return CampaignProgress(
        planned=sum(by_status.values()),
        scheduled=by_status[Status.SCHEDULED],
        paused=by_status[Status.PAUSED],
        sending=by_status[Status.SENDING],
        sent=by_status[Status.SENT] + by_status[Status.DELIVERED],
        delivered=by_status[Status.DELIVERED],
        clicked=clicked,
        failed=by_status[Status.FAILED],
        cancelled=by_status[Status.CANCELLED],
        expired=by_status[Status.EXPIRED],
        unknown=by_status[Status.UNKNOWN],
        suppressed=dict(suppressed.most_common()),
        by_status=dict(by_status),
        planning_done=campaign.planning_finished_at is not None,
    )
