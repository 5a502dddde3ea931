# ruff: noqa: S608 - table and column names come from the models and code; every value is a parameter.
"""The fan-out of a campaign: one outbox row per recipient, planned chunk by chunk in set-based SQL.

A chunk is two statements, whatever its size:

1. the bounds: over the next `size` recipients after the cursor (keyset pagination on the
   customer's or order's id, audience filters applied), the last id and the distinct time zones;
2. one `INSERT INTO journeys_message (...) SELECT ... FROM merchant_customer (or merchant_order)
   WHERE shop AND id > cursor AND id <= last AND <audience> ON CONFLICT (idem_key) DO NOTHING`.

Everything per recipient is computed by the database: the zone (the customer's, else the shop's),
the language, the message class (marketing where the shop says the trigger is marketing in the
customer's country), consent, opt-outs, a usable address, the fallback channel, the contact budget,
the send time and the spread. Python computes only what is per zone (a handful): the UTC moment
of "10:00 local on that date" with `zoneinfo` (DST gaps and folds resolved), mapped in SQL with a
CASE. Recipients who cannot be reached are inserted as `suppressed` with the reason and an
explanation, so progress shows who was left out and why.

Spread: the n-th scheduled message of one UTC moment and channel goes at moment + n / (0.9 × rate)
seconds, rate being the provider account's messages per second, so no second holds more than the
rate. n continues over chunks: `Campaign.spread` keeps how many each (moment, channel) holds.

The caller (`journeys.campaigns.services.campaign_fanout_chunk`) runs a chunk inside the
transaction that also moves the campaign's cursor and spread, so a crash resumes without
duplicates; idempotency keys make a chunk planned twice insert nothing twice. Two SQL dialects
(PostgreSQL, SQLite) differ only in time arithmetic, number formatting and how the inserted rows
are counted.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign
from journeys.models import CareRule, Channel, CountryMessageClass, Message, MessageClass, OverBudget, SmsAccount
from journeys.services.budget import Budget, budgets_for
from merchant.models import Customer, Merchant

Status = Message.Status
Reason = Message.Reason

CHUNK_SIZE = getattr(settings, "JOURNEYS_FANOUT_CHUNK", 5000)
# The spread keeps this share of the provider's rate: room for retries and other messages.
SPREAD_SHARE = 0.9
# Messages per second to spread over when the channel's provider states no rate.
DEFAULT_RATES = {Channel.SMS: 100.0, Channel.EMAIL: 50.0}
FIRST_ORDER_ANNIVERSARY = "first_order_anniversary"
# A message uses the contact budget while it is planned, paused, being sent or sent.
BUDGET_STATUSES = ("scheduled", "paused", "sending", "sent", "delivered", "unknown")
DAY_SECONDS = 24 * 3600
MONTH_SECONDS = 30 * DAY_SECONDS

_CUSTOMERS = Customer._meta.db_table
_TAGS = Customer.tags.through._meta.db_table
_ORDERS = "merchant_order"
_MESSAGES = Message._meta.db_table
# Columns written from the computed rows; every other column gets its model default.
_INSERT_FIELDS = [f for f in Message._meta.concrete_fields if not f.primary_key]


# --- per campaign, in Python ---------------------------------------------------------------------------


def channel_rates(*, shop: Merchant) -> dict[str, float]:
    """Messages per second each channel's provider takes for this shop (its SMS account's rate, else settings)."""
    rates = dict(DEFAULT_RATES)
    account = SmsAccount.objects.filter(shop=shop, is_active=True).only("rate_per_second").first()
    if account is not None:
        if account.rate_per_second:
            rates[Channel.SMS] = float(account.rate_per_second)
    elif getattr(settings, "JOURNEYS_SMS_PROVIDER", "") == "twilio" and settings.TWILIO_RATE_PER_SECOND:
        rates[Channel.SMS] = float(settings.TWILIO_RATE_PER_SECOND)
    return rates


def spread_step(rate: float) -> float:
    """Seconds between two messages of one moment on a channel taking `rate` messages per second."""
    return 1.0 / (rate * SPREAD_SHARE)


def spread_key(epoch: float, channel: str) -> str:
    return f"{int(round(epoch))}:{channel}"


def zone_valid(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _kind_label(campaign: Campaign) -> str:
    return str(Campaign.Kind(campaign.kind).label) if campaign.kind in Campaign.Kind.values else _("Campaign")


def local_moment_of(*, day: dt.date, at: dt.time, zone: str) -> tuple[dt.datetime, str]:
    """The UTC instant of wall time `at` on `day` in `zone`, and a note when DST made it special.

    In a spring-forward gap the time does not exist: the moment the clocks jump (02:30 gives 03:00).
    In a fall-back fold it exists twice: the first one (fold=0 is the earlier instant, PEP 495).
    """
    tz = ZoneInfo(zone)
    wall = dt.datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first, ""
    # A gap: fold=1 reads the wall time with the offset after the jump, which lands before it.
    before, after = wall.replace(tzinfo=tz, fold=1).astimezone(dt.UTC), first
    target = after.astimezone(tz).utcoffset()
    while after - before > dt.timedelta(seconds=1):
        middle = before + (after - before) / 2
        if middle.astimezone(tz).utcoffset() == target:
            after = middle
        else:
            before = middle
    moment = after.replace(microsecond=0)
    if moment.astimezone(tz).utcoffset() != target:
        moment += dt.timedelta(seconds=1)
    note = _("%(time)s does not exist on that day there (clocks go forward); at %(local)s") % {
        "time": f"{at:%H:%M}",
        "local": f"{moment.astimezone(tz):%H:%M}",
    }
    return moment, note


def campaign_first_moment(campaign: Campaign) -> dt.datetime | None:
    """The earliest instant any recipient's message can be due (UTC+14 for customer time), or None without a time."""
    if campaign.timing == Campaign.Timing.SHOP_TIME:
        return campaign.send_at
    if campaign.send_on is None:
        return None
    return dt.datetime.combine(campaign.send_on, campaign.send_time, tzinfo=dt.UTC) - dt.timedelta(hours=14)


def campaign_last_moment(campaign: Campaign) -> dt.datetime | None:
    """The latest instant a recipient's message is due (UTC-12 for customer time), or None without a time."""
    if campaign.timing == Campaign.Timing.SHOP_TIME:
        return campaign.send_at
    if campaign.send_on is None:
        return None
    return dt.datetime.combine(campaign.send_on, campaign.send_time, tzinfo=dt.UTC) + dt.timedelta(hours=12)


@dataclass(frozen=True)
class ZoneTime:
    zone: str  # the zone the messages get (the shop's for a blank or unknown one)
    moment: dt.datetime  # UTC, whole seconds: when the first message of this zone may go
    words: str  # the start of each message's explanation


def zone_time(campaign: Campaign, *, zone: str, shop: Merchant, anchor: dt.datetime) -> ZoneTime:
    """When the campaign's messages to customers in `zone` go out, never before `anchor` (when planning began)."""
    effective = zone if zone and zone_valid(zone) else shop.time_zone
    label, name = _kind_label(campaign), campaign.name
    if campaign.timing == Campaign.Timing.SHOP_TIME:
        moment = campaign.send_at.astimezone(dt.UTC)
        shop_local = moment.astimezone(ZoneInfo(shop.time_zone))
        local = moment.astimezone(ZoneInfo(effective))
        words = _("%(kind)s “%(name)s”: %(when)s %(shop_zone)s, the shop's time (%(local)s %(zone)s)") % {
            "kind": label,
            "name": name,
            "when": f"{shop_local:%Y-%m-%d %H:%M}",
            "shop_zone": shop.time_zone,
            "local": f"{local:%Y-%m-%d %H:%M}",
            "zone": effective,
        }
    else:
        moment, note = local_moment_of(day=campaign.send_on, at=campaign.send_time, zone=effective)
        words = _("%(kind)s “%(name)s”: %(time)s %(zone)s on %(date)s") % {
            "kind": label,
            "name": name,
            "time": f"{campaign.send_time:%H:%M}",
            "zone": effective,
            "date": campaign.send_on.isoformat(),
        }
        if note:
            words += f" ({note})"
    moment = moment.replace(microsecond=0)
    if moment < anchor:
        words += " " + _("(already past when planning began, so from %(when)s UTC)") % {
            "when": f"{anchor:%Y-%m-%d %H:%M:%S}"
        }
        moment = anchor
    return ZoneTime(effective, moment, words)


def planning_anchor(moment: dt.datetime) -> dt.datetime:
    """`moment` rounded up to a whole second: the earliest send moment of a campaign planned from then."""
    return moment if not moment.microsecond else moment.replace(microsecond=0) + dt.timedelta(seconds=1)


def idem_prefix(campaign: Campaign) -> str:
    """The idempotency key of a recipient's message, without the recipient's id.

    greeting + date + customer; campaign + customer; campaign + order for order audiences.
    """
    if campaign.greeting_id:
        day = campaign.holiday_date or campaign.send_on or (campaign.send_at and campaign.send_at.date())
        return f"greeting:{campaign.greeting_id}:{day.isoformat()}:"
    if campaign.audience.target == Audience.Target.ORDERS:
        return f"campaign:{campaign.pk}:order:"
    return f"campaign:{campaign.pk}:"


# --- SQL pieces ------------------------------------------------------------------------------------------


def _vendor() -> str:
    return connection.vendor


def ts_sql(epoch_sql: str) -> str:
    """SQL turning seconds since the epoch into a datetime as Django stores it."""
    if _vendor() == "postgresql":
        return f"to_timestamp({epoch_sql})"
    # Django's SQLite format: "YYYY-MM-DD HH:MM:SS.fff" in UTC (milliseconds are enough for a spread).
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {epoch_sql}, 'unixepoch')"


def seconds_text_sql(expr: str) -> str:
    """SQL formatting a number of seconds with one decimal."""
    if _vendor() == "postgresql":
        return f"to_char({expr}, 'FM99999999990.0')"
    return f"printf('%%.1f', {expr})"


def _num(value: float) -> str:
    # A literal, not a parameter: the same in both dialects, and typed as a number in PostgreSQL.
    return repr(float(value))


def _in(column: str, values: list) -> tuple[str, list]:
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _words_around(text: str, marker: str = "\x00") -> list[str]:
    return text.split(marker)


@dataclass
class AudienceSql:
    """The recipients of an audience as SQL: FROM and WHERE over `c` (customer) and `o` (order), and the keyset key."""

    from_sql: str
    where_sql: str
    params: list
    key: str  # "c.id" or "o.id"
    orders: bool
    language_sql: str
    language_params: list = field(default_factory=list)


def audience_sql(
    audience: Audience,
    *,
    shop: Merchant,
    now: dt.datetime,
    holiday_key: str = "",
    holiday_date: dt.date | None = None,
) -> AudienceSql:
    """The recipients of `audience` in `shop` (and, for a greeting, whose country celebrates the holiday).

    Every filter set must hold. Languages compare the language the message would be in (the
    order's, else the customer's, else the shop's default).
    """
    orders = audience.target == Audience.Target.ORDERS
    where: list[str] = []
    params: list = []
    if orders:
        from_sql = f"{_ORDERS} o JOIN {_CUSTOMERS} c ON c.id = o.customer_id"
        where.append("o.shop_id = %s")
        params.append(shop.pk)
        language_sql = "COALESCE(NULLIF(o.language, ''), NULLIF(c.language, ''), %s)"
    else:
        from_sql = f"{_CUSTOMERS} c"
        where.append("c.shop_id = %s")
        params.append(shop.pk)
        language_sql = "COALESCE(NULLIF(c.language, ''), %s)"
    language_params = [shop.default_language]

    countries = [country.code for country in audience.countries]
    if countries:
        sql, values = _in("c.country", countries)
        where.append(sql)
        params += values
    if audience.languages:
        sql, values = _in(language_sql, list(audience.languages))
        where.append(sql)
        params += language_params + values
    tag_ids = list(audience.tags.values_list("pk", flat=True)) if audience.pk else []
    if tag_ids:
        sql, values = _in("t.tag_id", tag_ids)
        where.append(f"EXISTS (SELECT 1 FROM {_TAGS} t WHERE t.customer_id = c.id AND {sql})")
        params += values
    if audience.ordered_within_months:
        since = now - relativedelta(months=audience.ordered_within_months)
        where.append(f"EXISTS (SELECT 1 FROM {_ORDERS} oo WHERE oo.customer_id = c.id AND oo.placed_at >= %s)")
        params.append(connection.ops.adapt_datetimefield_value(since))
    if audience.min_orders:
        where.append(f"(SELECT COUNT(*) FROM {_ORDERS} oo WHERE oo.customer_id = c.id) >= %s")
        params.append(audience.min_orders)
    if orders:
        if audience.order_statuses:
            sql, values = _in("o.status", list(audience.order_statuses))
            where.append(sql)
            params += values
        if audience.warehouses:
            sql, values = _in("o.warehouse", list(audience.warehouses))
            where.append(sql)
            params += values
        if audience.placed_after:
            where.append("o.placed_at >= %s")
            params.append(connection.ops.adapt_datetimefield_value(audience.placed_after))
        if audience.placed_before:
            where.append("o.placed_at < %s")
            params.append(connection.ops.adapt_datetimefield_value(audience.placed_before))
    if holiday_key:
        sql, values = _holiday_where(shop=shop, key=holiday_key, day=holiday_date)
        where.append(sql)
        params += values
    return AudienceSql(
        from_sql=from_sql,
        where_sql=" AND ".join(where),
        params=params,
        key="o.id" if orders else "c.id",
        orders=orders,
        language_sql=language_sql,
        language_params=language_params,
    )


def _holiday_where(*, shop: Merchant, key: str, day: dt.date | None) -> tuple[str, list]:
    """Customers who celebrate the holiday: in a country of its approved rows (a blank country: everyone).

    `first_order_anniversary`: customers whose first order (UTC date) was on this month and day of an
    earlier year; a first order on 29 February counts on the 28th in other years.
    """
    if day is None:
        return "1 = 0", []
    if key == FIRST_ORDER_ANNIVERSARY:
        days = [f"{day:%m-%d}"]
        if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
            days.append("02-29")
        first = f"(SELECT MIN(fo.placed_at) FROM {_ORDERS} fo WHERE fo.customer_id = c.id)"
        if _vendor() == "postgresql":
            month_day = f"to_char({first} AT TIME ZONE 'UTC', 'MM-DD')"
        else:
            month_day = f"strftime('%%m-%%d', {first})"
        sql, values = _in(month_day, days)
        year_start = connection.ops.adapt_datetimefield_value(dt.datetime(day.year, 1, 1, tzinfo=dt.UTC))
        return f"{sql} AND {first} < %s", [*values, year_start]
    countries = set(
        ApprovedHoliday.objects.filter(shop=shop, key=key, date=day).values_list("country", flat=True).distinct()
    )
    if not countries:
        return "1 = 0", []
    if "" in countries:
        return "1 = 1", []
    return _in("c.country", sorted(countries))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@dataclass(frozen=True)
class Plan:
    """What the SQL of a campaign's chunk needs, computed once per chunk in Python."""

    campaign: Campaign
    shop: Merchant
    rule: CareRule
    audience: AudienceSql
    first: str
    fallback: str
    rule_marketing: bool
    marketing_countries: tuple[str, ...]
    budget: Budget | None  # None: the budget is not applied when planning (the rule defers instead)
    steps: dict[str, float]
    prefix: str
    anchor: dt.datetime
    now: dt.datetime


def plan_for(campaign: Campaign, *, now: dt.datetime, anchor: dt.datetime | None = None) -> Plan:
    """The per-campaign facts of its fan-out (rule, audience SQL, rates, budget). A few small queries."""
    shop, rule = campaign.shop, campaign.rule
    marketing_countries = ()
    if rule.message_class != MessageClass.MARKETING:
        marketing_countries = tuple(
            sorted(
                CountryMessageClass.objects.filter(
                    shop=shop, trigger=rule.trigger, message_class=MessageClass.MARKETING
                ).values_list("country", flat=True)
            )
        )
    rates = channel_rates(shop=shop)
    budget = budgets_for([shop.pk])[shop.pk] if rule.over_budget == OverBudget.DROP else None
    return Plan(
        campaign=campaign,
        shop=shop,
        rule=rule,
        audience=audience_sql(
            campaign.audience,
            shop=shop,
            now=now,
            holiday_key=campaign.holiday_key,
            holiday_date=campaign.holiday_date or campaign.send_on,
        ),
        first=rule.channel,
        fallback=rule.fallback_channel,
        rule_marketing=rule.message_class == MessageClass.MARKETING,
        marketing_countries=marketing_countries,
        budget=budget,
        steps={channel: spread_step(rate) for channel, rate in rates.items()},
        prefix=idem_prefix(campaign),
        anchor=planning_anchor(anchor or campaign.planning_started_at or now),
        now=now,
    )


def _tz_raw_sql() -> str:
    return "COALESCE(NULLIF(c.time_zone, ''), %s)"


def _problem_sql(channel: str) -> tuple[str, list, str, list]:
    """(reason SQL, params, words SQL, params) of why a row's customer cannot get `channel` (''/'' when they can).

    The same checks as `journeys.services.planning.channel_problem`, over the columns of layer x.
    """
    if channel == Channel.SMS:
        phone_words = _words_around(_("the phone number “%s” cannot take texts (%s)") % ("\x00", "\x00"))
        code = (
            "CASE WHEN x.phone = '' THEN %s WHEN x.sms_out IS NOT NULL THEN %s "
            "WHEN x.mkt = 1 AND x.sms_ok IS NULL THEN %s ELSE '' END"
        )
        words = (
            "CASE WHEN x.phone = '' THEN (CASE WHEN x.phone_problem <> '' THEN "
            "%s || x.phone_as_received || %s || x.phone_problem || %s ELSE %s END) "
            "WHEN x.sms_out IS NOT NULL THEN %s WHEN x.mkt = 1 AND x.sms_ok IS NULL THEN %s ELSE '' END"
        )
        return (
            code,
            [Reason.INVALID_ADDRESS, Reason.OPTED_OUT, Reason.NO_CONSENT],
            words,
            [*phone_words, _("no phone number"), _("opted out of SMS"), _("no SMS marketing consent")],
        )
    code = (
        "CASE WHEN x.email = '' THEN %s WHEN x.email_out IS NOT NULL THEN %s "
        "WHEN x.mkt = 1 AND x.email_ok IS NULL THEN %s ELSE '' END"
    )
    words = (
        "CASE WHEN x.email = '' THEN %s WHEN x.email_out IS NOT NULL THEN %s "
        "WHEN x.mkt = 1 AND x.email_ok IS NULL THEN %s ELSE '' END"
    )
    return (
        code,
        [Reason.INVALID_ADDRESS, Reason.OPTED_OUT, Reason.NO_CONSENT],
        words,
        [_("no email address"), _("opted out of email"), _("no email marketing consent")],
    )


def _case_by_zone(column: str, values: list, *, literal: bool = False) -> tuple[str, list]:
    """CASE <column> WHEN 0 THEN v0 WHEN 1 THEN v1 ... END over zone indexes."""
    if literal:
        return "CASE " + column + " " + " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values)) + " END", []
    return "CASE " + column + " " + " ".join(f"WHEN {i} THEN %s" for i in range(len(values))) + " END", list(values)


def recipients_sql(
    plan: Plan, *, zones: list[ZoneTime], raw_zones: list[str], after: int | None, upto: int | None
) -> tuple[str, list]:
    """Layers x (the recipients and their columns), y (zone, moment, problems per channel) and z (channel and reason).

    `raw_zones[i]` is a zone as stored on customers and `zones[i]` its send time; recipients whose
    zone is not listed (a customer added meanwhile) go by the last entry, the shop's. `after` and
    `upto` bound the keyset (None: unbounded).
    """
    a = plan.audience
    params: list = []
    # x: the rows of the audience, with the columns the checks read.
    tz_raw = _tz_raw_sql()
    zi_sql = "CASE " + tz_raw + " " + " ".join("WHEN %s THEN " + str(i) for i in range(len(raw_zones))) + " ELSE "
    zi_sql += str(len(raw_zones) - 1) + " END"
    zi_params = [plan.shop.time_zone, *raw_zones]
    if plan.rule_marketing:
        mkt_sql, mkt_params = "1", []
    elif plan.marketing_countries:
        sql, mkt_params = _in("c.country", list(plan.marketing_countries))
        mkt_sql = f"CASE WHEN {sql} THEN 1 ELSE 0 END"
    else:
        mkt_sql, mkt_params = "0", []
    order_id = "o.id" if a.orders else "CAST(NULL AS BIGINT)"
    bounds, bound_params = [], []
    if after is not None:
        bounds.append(f"{a.key} > %s")
        bound_params.append(after)
    if upto is not None:
        bounds.append(f"{a.key} <= %s")
        bound_params.append(upto)
    x_sql = (
        f"SELECT {a.key} AS k, c.id AS customer_id, {order_id} AS order_id, {zi_sql} AS zi, "
        f"{a.language_sql} AS lang, {mkt_sql} AS mkt, c.country AS country, COALESCE(c.phone, '') AS phone, "
        "c.phone_as_received AS phone_as_received, c.phone_problem AS phone_problem, c.email AS email, "
        "c.sms_opted_out_at AS sms_out, c.email_opted_out_at AS email_out, "
        "c.sms_marketing_consent_at AS sms_ok, c.email_marketing_consent_at AS email_ok "
        f"FROM {a.from_sql} WHERE {' AND '.join([a.where_sql, *bounds])}"
    )
    x_params = [*zi_params, *a.language_params, *mkt_params, *a.params, *bound_params]

    # y: the zone's send moment and each channel's problem.
    tz_case, tz_params = _case_by_zone("x.zi", [zone.zone for zone in zones])
    base_case, _none = _case_by_zone("x.zi", [_num(zone.moment.timestamp()) for zone in zones], literal=True)
    p1_sql, p1_params, w1_sql, w1_params = _problem_sql(plan.first)
    if plan.fallback:
        p2_sql, p2_params, w2_sql, w2_params = _problem_sql(plan.fallback)
    else:
        p2_sql, p2_params, w2_sql, w2_params = "'none'", [], "''", []
    y_sql = (
        f"SELECT x.k, x.customer_id, x.order_id, x.zi, x.lang, x.mkt, x.country, {tz_case} AS tz, "
        f"{base_case} AS base, {p1_sql} AS p1, {w1_sql} AS w1, {p2_sql} AS p2, {w2_sql} AS w2 "
        f"FROM ({x_sql}) x"
    )
    params = [*tz_params, *p1_params, *w1_params, *p2_params, *w2_params, *x_params]

    # z: the channel used (the fallback when the first is impossible) and why not sent ('' when it is).
    budget_sql, budget_params = "", []
    if plan.budget is not None:
        statuses = ", ".join(f"'{status}'" for status in BUDGET_STATUSES)
        moment = "COALESCE(m.budget_counted_at, m.sent_at, m.send_at)"
        budget_sql = (
            f"WHEN y.mkt = 1 AND (SELECT CASE WHEN SUM(CASE WHEN u.mm > {ts_sql('y.base - ' + str(DAY_SECONDS))} "
            f"AND u.mm < {ts_sql('y.base + ' + str(DAY_SECONDS))} THEN 1 ELSE 0 END) >= %s OR COUNT(*) >= %s "
            f"THEN 1 ELSE 0 END FROM (SELECT {moment} AS mm FROM {_MESSAGES} m WHERE m.customer_id = y.customer_id "
            f"AND m.message_class = 'marketing' AND m.status IN ({statuses}) "
            "AND (m.campaign_id IS NULL OR m.campaign_id <> %s)) u "
            f"WHERE u.mm > {ts_sql('y.base - ' + str(MONTH_SECONDS))} "
            f"AND u.mm < {ts_sql('y.base + ' + str(MONTH_SECONDS))}) = 1 THEN %s "
        )
        budget_params = [plan.budget.per_day, plan.budget.per_30_days, plan.campaign.pk or 0, Reason.BUDGET]
    fallback = plan.fallback or plan.first
    z_sql = (
        "SELECT y.*, CASE WHEN y.p1 = '' THEN %s WHEN y.p2 = '' THEN %s ELSE %s END AS ch, "
        f"CASE WHEN y.p1 <> '' AND y.p2 <> '' THEN y.p1 {budget_sql}ELSE '' END AS reason "
        f"FROM ({y_sql}) y"
    )
    return z_sql, [plan.first, fallback, plan.first, *budget_params, *params]


def _insert_sql(
    plan: Plan, *, zones: list[ZoneTime], raw_zones: list[str], after: int | None, upto: int | None, spread: dict
) -> tuple[str, list]:
    """The chunk's `INSERT ... SELECT ... ON CONFLICT (idem_key) DO NOTHING` (without RETURNING)."""
    z_sql, z_params = recipients_sql(plan, zones=zones, raw_zones=raw_zones, after=after, upto=upto)
    # w: the position of each scheduled row within its moment and channel.
    w_sql = (
        f"SELECT z.*, ROW_NUMBER() OVER (PARTITION BY z.base, z.ch, z.reason ORDER BY z.k) - 1 AS rn FROM ({z_sql}) z"
    )
    # v: its spread offset, after the rows earlier chunks planned at the same moment and channel.
    moments = {spread_key(zone.moment.timestamp(), channel) for zone in zones for channel in plan.steps}
    already = [(key, count) for key, count in sorted(spread.items()) if key in moments and count]
    already_sql = "0"
    if already:
        whens = " ".join(
            f"WHEN w.base = {_num(float(key.split(':')[0]))} AND w.ch = %s THEN {int(count)}" for key, count in already
        )
        already_sql = f"CASE {whens} ELSE 0 END"
    already_params = [key.split(":")[1] for key, _count in already]
    steps = " ".join(f"WHEN %s THEN {_num(step)}" for step in plan.steps.values())
    v_sql = (
        f"SELECT w.*, CASE WHEN w.reason = '' THEN (w.rn + {already_sql}) * (CASE w.ch {steps} ELSE 1.0 END) "
        f"ELSE 0 END AS off FROM ({w_sql}) w"
    )
    v_params = [*already_params, *plan.steps.keys(), *z_params]

    now = connection.ops.adapt_datetimefield_value(plan.now)
    expire = plan.rule.expire_after_hours * 3600
    words_case, words_params = _case_by_zone("v.zi", [zone.words for zone in zones])
    spread_words = _words_around(_(", spread +%s s") % "\x00")
    fallback_words = ["", ""]
    if plan.fallback:
        fallback_words = _words_around(
            " "
            + _("%(channel)s instead of %(first)s: %(why)s.")
            % {"channel": Channel(plan.fallback).label, "first": Channel(plan.first).label, "why": "\x00"}
        )
    not_sent = _words_around(" " + _("Not sent: %s.") % "\x00")
    budget_words = ""
    if plan.budget is not None:
        budget_words = " " + _("Not sent: the contact budget (%(budget)s) has no room for it.") % {
            "budget": plan.budget.describe()
        }
    explanation = (
        f"{words_case} || CASE WHEN v.reason = '' AND v.off > 0 THEN %s || {seconds_text_sql('v.off')} || %s "
        "ELSE '' END || '.' || CASE WHEN v.reason = '' AND v.ch <> %s THEN %s || v.w1 || %s ELSE '' END "
        "|| CASE WHEN v.reason = %s THEN %s WHEN v.reason <> '' THEN %s || v.w1 || %s ELSE '' END"
    )
    explanation_params = [
        *words_params,
        *spread_words,
        plan.first,
        *fallback_words,
        Reason.BUDGET,
        budget_words,
        *not_sent,
    ]
    expressions: dict[str, tuple[str, list]] = {
        "shop": ("%s", [plan.shop.pk]),
        "customer": ("v.customer_id", []),
        "order": ("v.order_id", []),
        "rule": ("%s", [plan.rule.pk]),
        "campaign": ("%s", [plan.campaign.pk]),
        "trigger": ("%s", [plan.rule.trigger]),
        "step": ("%s", ["0"]),
        "idem_key": ("%s || CAST(v.k AS TEXT)", [plan.prefix]),
        "channel": ("v.ch", []),
        "fallback_channel": ("CASE WHEN v.ch = %s THEN %s ELSE '' END", [plan.first, plan.fallback]),
        "language": ("v.lang", []),
        "time_zone": ("v.tz", []),
        "message_class": (
            "CASE WHEN v.mkt = 1 THEN %s ELSE %s END",
            [MessageClass.MARKETING, MessageClass.TRANSACTIONAL],
        ),
        "status": ("CASE WHEN v.reason = '' THEN %s ELSE %s END", [Status.SCHEDULED, Status.SUPPRESSED]),
        "reason": ("v.reason", []),
        "anchor_at": (ts_sql("v.base"), []),
        "not_before": (ts_sql("v.base"), []),
        "send_at": (ts_sql("v.base + v.off"), []),
        "expires_at": (ts_sql(f"v.base + v.off + {expire}"), []),
        "explanation": (explanation, explanation_params),
        "finished_at": ("CASE WHEN v.reason = '' THEN NULL ELSE %s END", [now]),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
    }
    columns, values, params = [], [], []
    for model_field in _INSERT_FIELDS:
        columns.append(model_field.column)
        if model_field.name in expressions:
            sql, field_params = expressions[model_field.name]
        elif model_field.null and not model_field.has_default():
            sql, field_params = "NULL", []
        else:
            sql, field_params = "%s", [model_field.get_db_prep_save(model_field.get_default(), connection)]
        values.append(sql)
        params += field_params
    sql = (
        f"INSERT INTO {_MESSAGES} ({', '.join(columns)}) SELECT {', '.join(values)} FROM ({v_sql}) v "
        "WHERE 1 = 1 ON CONFLICT (idem_key) DO NOTHING"
    )
    return sql, [*params, *v_params]


# --- one chunk -------------------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    """What one chunk planned: where the cursor goes, whether recipients remain, and the rows inserted."""

    cursor: int
    last: bool
    recipients: int = 0
    inserted: Counter = field(default_factory=Counter)  # (status, reason) -> rows
    spread: Counter = field(default_factory=Counter)  # "epoch:channel" -> scheduled rows added

    @property
    def planned(self) -> int:
        return sum(self.inserted.values())


def chunk_bounds(plan: Plan, *, cursor: int, size: int) -> tuple[list[str], int, int | None]:
    """(distinct zones as stored, number of recipients, last key) of the next `size` recipients after `cursor`."""
    a = plan.audience
    sql = (
        f"SELECT t.tz, COUNT(*), MAX(t.k) FROM (SELECT {a.key} AS k, {_tz_raw_sql()} AS tz FROM {a.from_sql} "
        f"WHERE {a.where_sql} AND {a.key} > %s ORDER BY {a.key} LIMIT %s) t GROUP BY t.tz"
    )
    with connection.cursor() as db:
        db.execute(sql, [plan.shop.time_zone, *a.params, cursor, size])
        rows = db.fetchall()
    zones = sorted(row[0] for row in rows)
    count = sum(row[1] for row in rows)
    last_key = max((row[2] for row in rows), default=None)
    return zones, count, last_key


def zones_for(plan: Plan, raw_zones: list[str]) -> tuple[list[str], list[ZoneTime]]:
    """The stored zones with the shop's appended (for rows not listed), and the send time of each."""
    raw = [zone for zone in raw_zones if zone != plan.shop.time_zone] + [plan.shop.time_zone]
    return raw, [zone_time(plan.campaign, zone=zone, shop=plan.shop, anchor=plan.anchor) for zone in raw]


def chunk_insert(
    plan: Plan, *, raw_zones: list[str], after: int | None, upto: int | None, spread: dict
) -> tuple[Counter, Counter]:
    """Insert the rows of recipients in (after, upto]; returns rows per (status, reason) and scheduled rows
    added per "moment:channel"."""
    raw, zones = zones_for(plan, raw_zones)
    sql, params = _insert_sql(plan, zones=zones, raw_zones=raw, after=after, upto=upto, spread=spread)
    inserted: Counter = Counter()
    added: Counter = Counter()
    with connection.cursor() as db:
        if connection.vendor == "postgresql":
            # The CASE-heavy statement looks costly to the planner, which then JIT-compiles it: measured at
            # 1.2 s of compiling for 0.1 s of work per chunk. For this transaction only.
            db.execute("SET LOCAL jit = off")
            db.execute(
                f"WITH ins AS ({sql} RETURNING channel, status, reason, not_before) "
                "SELECT channel, status, reason, EXTRACT(EPOCH FROM not_before)::float8, COUNT(*) FROM ins "
                "GROUP BY 1, 2, 3, 4",
                params,
            )
            rows = db.fetchall()
        else:
            db.execute(f"{sql} RETURNING channel, status, reason, not_before", params)
            counted: Counter = Counter(db.fetchall())
            rows = [
                (channel, status, reason, _sqlite_epoch(moment), count)
                for (channel, status, reason, moment), count in counted.items()
            ]
    for channel, status, reason, epoch, count in rows:
        inserted[(status, reason)] += count
        if status == Status.SCHEDULED:
            added[spread_key(epoch, channel)] += count
    return inserted, added


def _sqlite_epoch(value) -> float:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=dt.UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


def chunk_plan(plan: Plan, *, cursor: int, size: int = CHUNK_SIZE) -> ChunkResult:
    """Plan the messages of the next `size` recipients after `cursor`, inside the caller's transaction."""
    raw_zones, count, last_key = chunk_bounds(plan, cursor=cursor, size=size)
    if not count:
        return ChunkResult(cursor=cursor, last=True)
    inserted, added = chunk_insert(
        plan, raw_zones=raw_zones, after=cursor, upto=last_key, spread=plan.campaign.spread or {}
    )
    return ChunkResult(cursor=last_key, last=count < size, recipients=count, inserted=inserted, spread=added)


def whole_audience_insert_sql(plan: Plan, *, raw_zones: list[str]) -> tuple[str, list]:
    """The same rows as every chunk together, as one plain `INSERT ... SELECT` (the benchmark's raw figure)."""
    raw, zones = zones_for(plan, raw_zones)
    return _insert_sql(plan, zones=zones, raw_zones=raw, after=None, upto=None, spread={})
