"""Campaigns and holiday-greeting dates: create, schedule, pause, resume, cancel, test-send, and their fan-out.

Guarantees:
- A campaign's status moves only along `Campaign.TRANSITIONS`, each change in one transaction
  holding a lock on the campaign row (`select_for_update`), so a fan-out chunk, a pause and a
  cancel never interleave.
- The fan-out plans chunk after chunk (`journeys.campaigns.fanout`), one django-q2 task per chunk
  (enqueued on commit, ids only). A chunk's rows, the cursor and the spread state commit together:
  a crash resumes from the cursor and plans nobody twice. A chunk task whose campaign is not
  planning, or whose cursor another chunk moved already, does nothing; a chain whose next task was
  lost is picked up again by `campaigns_tick`.
- Pause turns the campaign's scheduled messages to paused in one statement (those being sent
  finish; one claimed meanwhile is put back by the dispatcher) and stops the fan-out. Resume puts
  them back, spread again from now so they do not all leave at once, and the fan-out continues from
  its cursor. Cancel cancels every scheduled or paused message, with the reason.
- Bad input raises `ValidationError` naming the field; nothing changes then.
"""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from journeys.campaigns import fanout
from journeys.campaigns.models import ApprovedHoliday, Audience, Campaign, HolidayGreeting
from journeys.models import (
    ADDRESS_CHANNELS,
    CareRule,
    Channel,
    CouponPool,
    Message,
    MessageClass,
    MessageTemplate,
    OverBudget,
)
from journeys.providers.base import Envelope, Outcome, SendResult
from journeys.send_windows import SendWindow, window_allows, window_describe
from journeys.services.content import NoTemplate, message_content
from journeys.services.dispatch import LEASE, Dispatcher, messages_record, result_changes
from journeys.services.planning import message_time_zone, rule_window
from journeys.services.rules import care_rule_save, default_templates_create, message_template_save
from journeys.sms_encoding import sms_length
from journeys.triggers import trigger_get
from merchant.actors import Actor
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, Merchant, Order

logger = logging.getLogger(__name__)
S = Campaign.Status
MessageStatus = Message.Status

# Planning starts this long before the earliest recipient's moment.
START_AHEAD = dt.timedelta(hours=26)
# A planning campaign whose cursor has not moved for this long lost its next chunk task.
STALLED_AFTER = dt.timedelta(minutes=3)
CHUNK_TASK = "journeys.campaigns.tasks.campaign_fanout_chunk_task"
TEST_STEP = "test"
OPEN_STATUSES = (MessageStatus.SCHEDULED, MessageStatus.SENDING, MessageStatus.PAUSED)


# --- the one transition function --------------------------------------------------------------------------


def _locked(campaign: Campaign | int) -> Campaign:
    pk = campaign.pk if isinstance(campaign, Campaign) else campaign
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("shop", "rule", "audience", "greeting")
        .get(pk=pk)
    )


def _move(campaign: Campaign, to: str, *, now: dt.datetime, actor: Actor | None, **changes: Any) -> Campaign:
    """Move a locked campaign to `to` along TRANSITIONS and save it with `changes`; raises InvalidTransition."""
    if to not in Campaign.TRANSITIONS[campaign.status]:
        raise InvalidTransition(
            _("The campaign “%(name)s” is %(status)s and cannot become %(to)s.")
            % {
                "name": campaign.name,
                "status": Campaign.Status(campaign.status).label.lower(),
                "to": Campaign.Status(to).label.lower(),
            }
        )
    before = campaign.status
    campaign.status = to
    for name, value in changes.items():
        setattr(campaign, name, value)
    campaign.updated_at = now
    campaign.save(update_fields=["status", "updated_at", *changes])
    logger.info(
        "campaign %s (%s): %s -> %s by %s", campaign.pk, campaign.name, before, to, actor.label if actor else "system"
    )
    return campaign


def _fanout_enqueue(campaign_id: int, cursor: int) -> None:
    """Enqueue the next chunk once the transaction that moved the cursor commits."""
    transaction.on_commit(lambda: async_task(CHUNK_TASK, campaign_id, cursor))


def _owns_rule(campaign: Campaign) -> bool:
    # A greeting's dates share the greeting's rule: turning it on and off is the greeting's business.
    return campaign.greeting_id is None


def _rule_activate(campaign: Campaign, active: bool) -> None:
    if campaign.rule.is_active != active:
        CareRule.objects.filter(pk=campaign.rule_id).update(is_active=active, updated_at=timezone.now())
        campaign.rule.is_active = active


# --- create and schedule ------------------------------------------------------------------------------------


def _choice(value: str, choices, field: str) -> None:
    if value not in choices:
        raise ValidationError(
            {field: _("“%(value)s” is not one of %(choices)s.") % {"value": value, "choices": ", ".join(choices)}}
        )


def _rule_name(shop: Merchant, label: str, name: str) -> str:
    base = f"{label}: {name}"[:90]
    candidate, n = base, 1
    while CareRule.objects.filter(shop=shop, name=candidate).exists():
        n += 1
        candidate = f"{base} ({n})"
    return candidate


def campaign_rule_templates_create(*, rule: CareRule, templates: list[dict] | None = None) -> None:
    """The owner's templates; for each channel and language not given, the shipped copy of the trigger
    (a greeting without copy of its own takes the campaign's)."""
    for values in templates or []:
        template = MessageTemplate(
            rule=rule,
            channel=values.get("channel", rule.channel),
            language=values.get("language", rule.shop.default_language),
            subject=values.get("subject", ""),
            body=values.get("body", ""),
            html_body=values.get("html_body", ""),
        )
        message_template_save(template=template)
    default_templates_create(rule=rule, fallback_trigger=Campaign.Kind.CAMPAIGN)


@transaction.atomic
def campaign_create(
    *,
    shop: Merchant,
    name: str,
    audience: Audience,
    actor: Actor,
    kind: str = Campaign.Kind.CAMPAIGN,
    timing: str = Campaign.Timing.CUSTOMER_TIME,
    send_on: dt.date | None = None,
    send_time: dt.time | None = None,
    send_at: dt.datetime | None = None,
    channel: str = Channel.SMS,
    fallback_channel: str = Channel.EMAIL,
    message_class: str = MessageClass.MARKETING,
    window_start: dt.time | None = None,
    window_end: dt.time | None = None,
    expire_after_hours: int | None = None,
    over_budget: str = OverBudget.DROP,
    coupon_pool: CouponPool | None = None,
    templates: list[dict] | None = None,
    rule: CareRule | None = None,
    greeting: HolidayGreeting | None = None,
    holiday_key: str = "",
    holiday_date: dt.date | None = None,
) -> Campaign:
    """A draft campaign with its own care rule (trigger `campaign` or `holiday_greeting`, off until it runs).

    The rule carries channel, fallback, class, window, expiry, coupon pool and the templates: the
    owner's `templates` ({channel, language, body, subject, html_body}), the shipped copy for the
    rest. A greeting's date passes the greeting's `rule` instead, which is used as it is.
    Guarantees: everything belongs to `shop`; a bad value raises ValidationError naming the field.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the campaign a name.")})
    if len(name) > Campaign._meta.get_field("name").max_length:
        raise ValidationError({"name": _("The name is too long.")})
    _choice(kind, Campaign.Kind.values, "kind")
    _choice(timing, Campaign.Timing.values, "timing")
    if audience.shop_id != shop.pk:
        raise ValidationError({"audience": _("The audience belongs to another shop.")})
    if greeting is not None and greeting.shop_id != shop.pk:
        raise ValidationError({"greeting": _("The greeting belongs to another shop.")})
    if kind == Campaign.Kind.GREETING and greeting is None and not holiday_key:
        raise ValidationError({"holiday_key": _("A holiday greeting needs the holiday it greets on.")})
    if holiday_key and holiday_date is None:
        raise ValidationError({"holiday_date": _("Give the date of the holiday.")})
    if send_at is not None and timezone.is_naive(send_at):
        raise ValidationError({"send_at": _("Give the moment with its time zone.")})
    if rule is None:
        # Campaigns address customers; push reaches only browsers listening to one order.
        _choice(channel, ADDRESS_CHANNELS, "channel")
        if fallback_channel:
            _choice(fallback_channel, ADDRESS_CHANNELS, "fallback_channel")
        _choice(message_class, MessageClass.values, "message_class")
        _choice(over_budget, OverBudget.values, "over_budget")
        if coupon_pool is not None and coupon_pool.shop_id != shop.pk:
            raise ValidationError({"coupon_pool": _("The coupon pool belongs to another shop.")})
        spec = trigger_get(kind)
        rule = CareRule(
            shop=shop,
            name=_rule_name(shop, str(Campaign.Kind(kind).label), name),
            trigger=kind,
            is_active=False,
            channel=channel,
            fallback_channel=fallback_channel or "",
            message_class=message_class,
            expire_after_hours=expire_after_hours or (spec.default_expire_after_hours if spec else 24),
            coupon_pool=coupon_pool,
            over_budget=over_budget,
        )
        if window_start is not None:
            rule.window_start = window_start
        if window_end is not None:
            rule.window_end = window_end
        rule = care_rule_save(rule=rule)
        campaign_rule_templates_create(rule=rule, templates=templates)
    elif rule.shop_id != shop.pk:
        raise ValidationError({"rule": _("The rule belongs to another shop.")})
    elif rule.trigger not in Campaign.Kind.values:
        raise ValidationError({"rule": _("The rule's trigger must be “campaign” or “holiday_greeting”.")})
    campaign = Campaign(
        shop=shop,
        name=name,
        kind=kind,
        rule=rule,
        audience=audience,
        greeting=greeting,
        holiday_key=holiday_key,
        holiday_date=holiday_date,
        timing=timing,
        send_on=send_on,
        send_at=send_at,
        status=S.DRAFT,
        created_by=actor.user if actor and actor.is_person else None,
    )
    if send_time is not None:
        campaign.send_time = send_time
    campaign.full_clean()
    campaign.save()
    return campaign


_DRAFT_FIELDS = ("name", "audience", "timing", "send_on", "send_time", "send_at")


@transaction.atomic
def campaign_update(*, campaign: Campaign, actor: Actor, **changes: Any) -> Campaign:
    """Change a draft campaign: name, audience, timing, send_on, send_time, send_at. Its message (channel,
    templates, coupon) is its care rule's, changed on the rule's page.

    Guarantees: only a draft changes (scheduled ones go back to draft first, so nothing already
    checked moves under the scheduler); a bad value raises ValidationError naming the field and
    nothing changes.
    """
    unknown = sorted(set(changes) - set(_DRAFT_FIELDS))
    if unknown:
        raise ValidationError({name: _("This cannot be changed here.") for name in unknown})
    locked = _locked(campaign)
    if locked.status != S.DRAFT:
        raise ValidationError(_("Only a draft can be changed; this campaign is %s.") % locked.get_status_display())
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise ValidationError({"name": _("Give the campaign a name.")})
    if "timing" in changes:
        _choice(changes["timing"], Campaign.Timing.values, "timing")
    audience = changes.get("audience", locked.audience)
    if not isinstance(audience, Audience) or audience.shop_id != locked.shop_id:
        raise ValidationError({"audience": _("The audience belongs to another shop.")})
    if locked.greeting_id and audience.target != Audience.Target.CUSTOMERS:
        raise ValidationError({"audience": _("A greeting goes to customers; pick an audience of customers.")})
    send_at = changes.get("send_at")
    if send_at is not None and timezone.is_naive(send_at):
        raise ValidationError({"send_at": _("Give the moment with its time zone.")})
    for name, value in changes.items():
        setattr(locked, name, value)
    if locked.send_time is None:
        locked.send_time = dt.time(10, 0)
    locked.full_clean()
    locked.updated_at = timezone.now()
    locked.save()
    logger.info("campaign %s (%s) changed by %s: %s", locked.pk, locked.name, actor.label, ", ".join(changes))
    return locked


def _time_in_window(at: dt.time, window: SendWindow) -> bool:
    """Whether the wall time `at` is inside the window's local hours."""
    if window.any_hour:
        return True
    if window.start < window.end:
        return window.start <= at < window.end
    return at >= window.start or at < window.end


def campaign_check(campaign: Campaign, *, now: dt.datetime) -> None:
    """Raise ValidationError naming each field that keeps the campaign from being scheduled."""
    errors: dict[str, list[str]] = {}
    rule = campaign.rule
    if campaign.timing == Campaign.Timing.SHOP_TIME:
        if campaign.send_at is None:
            errors["send_at"] = [_("Give the moment to send at.")]
        elif campaign.send_at <= now:
            errors["send_at"] = [_("The moment has passed; pick one in the future.")]
        elif not window_allows(rule_window(rule), campaign.send_at, campaign.shop.time_zone):
            errors["send_at"] = [
                _("%(when)s is outside the send window %(window)s in the shop's time zone.")
                % {
                    "when": f"{timezone.localtime(campaign.send_at, ZoneInfo(campaign.shop.time_zone)):%H:%M}",
                    "window": window_describe(rule_window(rule)),
                }
            ]
    else:
        if campaign.send_on is None:
            errors["send_on"] = [_("Give the local date to send on.")]
        elif fanout.campaign_last_moment(campaign) <= now:
            errors["send_on"] = [_("That date has passed everywhere; pick a later one.")]
        window = rule_window(rule)
        if not _time_in_window(campaign.send_time, window):
            errors["send_time"] = [
                _("%(time)s is outside the send window %(window)s.")
                % {"time": f"{campaign.send_time:%H:%M}", "window": window_describe(window)}
            ]
    if campaign.holiday_key and campaign.holiday_key != fanout.FIRST_ORDER_ANNIVERSARY:
        approved = ApprovedHoliday.objects.filter(
            shop_id=campaign.shop_id, key=campaign.holiday_key, date=campaign.holiday_date
        ).exists()
        if not approved:
            errors["holiday_key"] = [
                _("“%(key)s” on %(date)s is not in the approved calendar.")
                % {"key": campaign.holiday_key, "date": campaign.holiday_date}
            ]
    if not rule.templates.filter(channel=rule.channel).exists():
        errors.setdefault("rule", []).append(
            _("The message has no %s text in any language.") % Channel(rule.channel).label
        )
    if campaign.audience.shop_id != campaign.shop_id:
        errors["audience"] = [_("The audience belongs to another shop.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, actor: Actor, now: dt.datetime | None = None) -> Campaign:
    """Draft -> scheduled, after checking everything needed to send it. Planning starts by itself
    (`campaigns_tick`) about a day before the first recipient's moment."""
    now = now or timezone.now()
    locked = _locked(campaign)
    campaign_check(locked, now=now)
    return _move(locked, S.SCHEDULED, now=now, actor=actor)


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign, actor: Actor, now: dt.datetime | None = None) -> Campaign:
    """Scheduled -> draft, to change it; only before planning began."""
    return _move(_locked(campaign), S.DRAFT, now=now or timezone.now(), actor=actor)


# --- pause, resume, cancel -------------------------------------------------------------------------------------


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor: Actor, now: dt.datetime | None = None) -> Campaign:
    """Stop sending: every scheduled message of the campaign becomes paused (one statement), the fan-out stops.

    Messages already being sent finish; one claimed meanwhile is put back to paused by the dispatcher.
    """
    now = now or timezone.now()
    locked = _move(_locked(campaign), S.PAUSED, now=now, actor=actor, paused_at=now)
    Message.objects.filter(campaign=locked, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.PAUSED, updated_at=now
    )
    return locked


_RESPREAD_POSTGRESQL = """
UPDATE journeys_message AS m SET status = 'scheduled', updated_at = %s, explanation = m.explanation || %s,
    send_at = %s::timestamptz + (v.rn * (CASE m.channel {steps} ELSE 1.0 END)) * interval '1 second'
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY send_at, id) - 1 AS rn
    FROM journeys_message WHERE campaign_id = %s AND status = 'paused' AND send_at <= %s
) AS v
WHERE m.id = v.id
"""
_RESPREAD_SQLITE = """
UPDATE journeys_message SET status = 'scheduled', updated_at = %s, explanation = explanation || %s,
    send_at = strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s + v.rn * (CASE journeys_message.channel {steps} ELSE 1.0 END),
        'unixepoch')
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY send_at, id) - 1 AS rn
    FROM journeys_message WHERE campaign_id = %s AND status = 'paused' AND send_at <= %s
) AS v
WHERE journeys_message.id = v.id
"""


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor: Actor, now: dt.datetime | None = None) -> Campaign:
    """Go on where the pause stopped: to scheduled, planning (the fan-out continues from its cursor) or sending.

    Paused messages due meanwhile are spread again from now at the provider's rate, in their old
    order, so they do not all leave at once; later ones keep their time. The dispatcher's window
    check moves any that now fall outside the rule's hours.
    """
    now = (now or timezone.now()).replace(microsecond=0)
    locked = _locked(campaign)
    if locked.status != S.PAUSED:  # a draft "resumed" would skip the checks of campaign_schedule
        raise InvalidTransition(
            _("The campaign “%(name)s” is %(status)s, not paused: there is nothing to resume.")
            % {"name": locked.name, "status": Campaign.Status(locked.status).label.lower()}
        )
    if locked.planning_started_at is None:
        to = S.SCHEDULED
    elif locked.planning_finished_at is None:
        to = S.PLANNING
    else:
        to = S.SENDING
    paused_at = locked.paused_at
    locked = _move(locked, to, now=now, actor=actor, paused_at=None)
    words = " " + _("Paused at %(paused)s UTC, resumed at %(resumed)s UTC.") % {
        "paused": f"{paused_at:%Y-%m-%d %H:%M}" if paused_at else "?",
        "resumed": f"{now:%Y-%m-%d %H:%M}",
    }
    steps = {channel: fanout.spread_step(rate) for channel, rate in fanout.channel_rates(shop=locked.shop).items()}
    whens = " ".join(f"WHEN %s THEN {fanout._num(step)}" for step in steps.values())
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _RESPREAD_POSTGRESQL.format(steps=whens), [stamp, words, stamp, *steps.keys(), locked.pk, stamp]
            )
        else:
            cursor.execute(
                _RESPREAD_SQLITE.format(steps=whens),
                [stamp, words, now.timestamp(), *steps.keys(), locked.pk, stamp],
            )
    Message.objects.filter(campaign=locked, status=MessageStatus.PAUSED).update(
        status=MessageStatus.SCHEDULED, updated_at=now
    )
    if to == S.PLANNING:
        _fanout_enqueue(locked.pk, locked.cursor)
    return locked


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor: Actor, now: dt.datetime | None = None) -> Campaign:
    """Never send the rest: every scheduled or paused message is cancelled with who did it, the fan-out stops."""
    now = now or timezone.now()
    locked = _move(_locked(campaign), S.CANCELLED, now=now, actor=actor, finished_at=now)
    words = " " + _("Cancelled: the campaign was cancelled by %s.") % (actor.label if actor else _("the system"))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE journeys_message SET status = %s, finished_at = %s, updated_at = %s, "
            "explanation = explanation || %s WHERE campaign_id = %s AND status IN (%s, %s)",
            [
                MessageStatus.CANCELLED,
                connection.ops.adapt_datetimefield_value(now),
                connection.ops.adapt_datetimefield_value(now),
                words,
                locked.pk,
                MessageStatus.SCHEDULED,
                MessageStatus.PAUSED,
            ],
        )
    if _owns_rule(locked):
        _rule_activate(locked, False)
    return locked


# --- the fan-out -------------------------------------------------------------------------------------------------


@transaction.atomic
def campaign_planning_start(*, campaign: Campaign, now: dt.datetime | None = None) -> Campaign:
    """Scheduled -> planning: the rule goes on and the first chunk is enqueued."""
    now = now or timezone.now()
    locked = _locked(campaign)
    if locked.status != S.SCHEDULED:  # paused may also move to planning, but only on resume
        raise InvalidTransition(_("Only a scheduled campaign starts planning."))
    locked = _move(
        locked, S.PLANNING, now=now, actor=None, planning_started_at=fanout.planning_anchor(now), cursor=0, spread={}
    )
    _rule_activate(locked, True)
    _fanout_enqueue(locked.pk, locked.cursor)
    return locked


def campaign_fanout_chunk(
    *, campaign_id: int, cursor: int, size: int | None = None, now: dt.datetime | None = None
) -> fanout.ChunkResult | None:
    """Plan the next chunk of a planning campaign, from `cursor`, and enqueue the one after.

    One transaction: the rows, the new cursor and spread, and (after the last chunk) the move to
    sending commit together. Does nothing, and returns None, when the campaign is not planning
    (paused, cancelled) or another chunk moved its cursor already.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("shop", "rule", "audience", "greeting")
            .filter(pk=campaign_id)
            .first()
        )
        if campaign is None or campaign.status != S.PLANNING or campaign.cursor != cursor:
            return None
        plan = fanout.plan_for(campaign, now=now)
        result = fanout.chunk_plan(plan, cursor=cursor, size=size or fanout.CHUNK_SIZE)
        spread = dict(campaign.spread or {})
        for key, count in result.spread.items():
            spread[key] = spread.get(key, 0) + count
        campaign.cursor, campaign.spread = result.cursor, spread
        if result.last:
            _move(
                campaign, S.SENDING, now=now, actor=None, cursor=result.cursor, spread=spread, planning_finished_at=now
            )
        else:
            campaign.updated_at = now
            campaign.save(update_fields=["cursor", "spread", "updated_at"])
            _fanout_enqueue(campaign.pk, campaign.cursor)
    return result


@dataclass(frozen=True)
class TickReport:
    started: int = 0
    restarted: int = 0
    finished: int = 0


def campaigns_tick(*, now: dt.datetime | None = None) -> TickReport:
    """The periodic step (every minute): start planning what is due within START_AHEAD, pick up a fan-out
    whose next chunk task was lost, and finish sending campaigns whose messages are all done."""
    now = now or timezone.now()
    started = restarted = finished = 0
    horizon = now + START_AHEAD
    candidates = (
        Campaign.objects.filter(status=S.SCHEDULED)
        .filter(_due_q(horizon))
        .only("pk", "timing", "send_on", "send_time", "send_at")
    )
    for campaign in candidates:
        first = fanout.campaign_first_moment(campaign)
        if first is not None and first <= horizon:
            try:
                campaign_planning_start(campaign=campaign, now=now)
                started += 1
            except InvalidTransition:  # paused or cancelled meanwhile
                continue
    for campaign_id, cursor in Campaign.objects.filter(
        status=S.PLANNING, updated_at__lt=now - STALLED_AFTER
    ).values_list("pk", "cursor"):
        with transaction.atomic():
            touched = Campaign.objects.filter(pk=campaign_id, status=S.PLANNING, cursor=cursor).update(updated_at=now)
            if touched:
                _fanout_enqueue(campaign_id, cursor)
                restarted += 1
    for campaign in Campaign.objects.filter(status=S.SENDING).only("pk"):
        open_messages = Message.objects.filter(campaign=campaign, status__in=OPEN_STATUSES).exclude(step=TEST_STEP)
        if open_messages.exists():
            continue
        with transaction.atomic():
            locked = _locked(campaign)
            if locked.status != S.SENDING or open_messages.exists():
                continue
            _move(locked, S.DONE, now=now, actor=None, finished_at=now)
            if _owns_rule(locked):
                _rule_activate(locked, False)
            finished += 1
    return TickReport(started, restarted, finished)


def _due_q(horizon: dt.datetime) -> Q:
    """Scheduled campaigns whose first moment may be before `horizon` (an index range; refined in Python)."""
    latest_day = (horizon + dt.timedelta(hours=14)).date()
    return Q(timing=Campaign.Timing.SHOP_TIME, send_at__lte=horizon) | Q(
        timing=Campaign.Timing.CUSTOMER_TIME, send_on__lte=latest_day
    )


# --- test send ------------------------------------------------------------------------------------------------


def _test_address(*, channel: str, to: str, actor: Actor, shop: Merchant) -> str:
    if channel == Channel.EMAIL:
        address = (to or (actor.user.email if actor and actor.user else "") or shop.contact_email or "").strip()
        if not address:
            raise ValidationError({"to": _("Give the email address to send the test to.")})
        try:
            validate_email(address)
        except ValidationError as error:
            raise ValidationError({"to": _("“%s” is not an email address.") % address}) from error
        return address
    raw = (to or (str(shop.contact_phone) if shop.contact_phone else "")).strip()
    if not raw:
        raise ValidationError({"to": _("Give the phone number to send the test to.")})
    try:
        number = PhoneNumber.from_string(raw, region=shop.country.code or None)
    except NumberParseException:
        number = None
    if number is None or not number.is_valid():
        raise ValidationError({"to": _("“%s” is not a phone number that can take texts.") % raw})
    return number.as_e164


def campaign_test_send(
    *,
    campaign: Campaign,
    actor: Actor,
    to: str = "",
    channel: str = "",
    customer: Customer | None = None,
    language: str = "",
) -> Message:
    """Send the campaign's message now to the owner (their email, or the phone given), rendered for `customer`
    (one of the shop's) or a sample customer, and return the outbox row recording it.

    The row belongs to the campaign with step "test" and no customer: it is marked as a test in its
    text, is never counted in the campaign's progress, and touches nobody's contact budget or consent.
    """
    shop, rule = campaign.shop, campaign.rule
    channel = channel or rule.channel
    _choice(channel, ADDRESS_CHANNELS, "channel")
    if customer is not None and customer.shop_id != shop.pk:
        raise ValidationError({"customer": _("The customer belongs to another shop.")})
    if language:
        _choice(language, [code for code, _name in settings.LANGUAGES], "language")
    address = _test_address(channel=channel, to=to, actor=actor, shop=shop)
    sample = customer or Customer(
        shop=shop,
        first_name=_("Alex"),
        last_name=_("Sample"),
        email=address if channel == Channel.EMAIL else "",
        country=shop.country,
        language=language or shop.default_language,
        time_zone=shop.time_zone,
    )
    order = None
    if campaign.audience.target == Audience.Target.ORDERS and customer is not None:
        order = Order.objects.filter(shop=shop, customer=customer).order_by("-placed_at", "-pk").first()
    now = timezone.now()
    owner = f"test-send:{uuid.uuid4().hex[:12]}"
    time_zone = message_time_zone(customer=sample, shop=shop)
    explanation = _(
        "Test of “%(name)s” sent to %(to)s by %(who)s, written for %(customer)s. Not part of the campaign."
    ) % {
        "name": campaign.name,
        "to": address,
        "who": actor.label if actor else _("the system"),
        "customer": str(customer) if customer else _("a sample customer"),
    }
    with transaction.atomic():
        row = Message.objects.create(
            shop=shop,
            campaign=campaign,
            rule=rule,
            trigger=rule.trigger,
            step=TEST_STEP,
            idem_key=f"test:campaign:{campaign.pk}:{uuid.uuid4().hex}",
            channel=channel,
            address=address,
            language=language or sample.language or shop.default_language,
            time_zone=time_zone,
            message_class=rule.message_class,
            status=MessageStatus.SENDING,
            anchor_at=now,
            not_before=now,
            send_at=now,
            lease_owner=owner,
            lease_until=now + LEASE,
            attempts=1,
            max_attempts=1,
            explanation=explanation,
        )
    # Rendered from an unsaved copy that has the (sample) customer and order; the row records no customer.
    shown = Message(**{f.attname: getattr(row, f.attname) for f in Message._meta.concrete_fields})
    shown.shop, shown.rule, shown.campaign, shown.customer, shown.order = shop, rule, campaign, sample, order
    try:
        content = message_content(shown)
    except NoTemplate as error:
        messages_record(
            outcomes=[(row, {"status": MessageStatus.FAILED, "error": str(error), "finished_at": now})],
            owner=owner,
            now=now,
        )
        raise ValidationError({"channel": str(error)}) from error
    prefix = _("[Test]") + " "
    subject = prefix + content.subject if channel == Channel.EMAIL else ""
    body = content.body if channel == Channel.EMAIL else prefix + content.body
    with Dispatcher(channels=[channel]) as dispatcher:
        provider = dispatcher.providers_for([row], channel=channel)[0]
        envelope = Envelope(
            message_id=row.pk,
            channel=channel,
            to=address,
            body=body,
            subject=subject,
            html_body=content.html_body,
            sender_name=shop.sender_name or shop.name,
            reply_to=shop.contact_email,
            idempotency_key=row.idem_key,
        )
        try:
            result = provider.send(envelope)
        except Exception as error:  # a provider bug must not leave the row leased
            logger.exception("Test send of campaign %s failed", campaign.pk)
            result = SendResult(Outcome.PERMANENT, error=f"{type(error).__name__}: {error}")
    done = timezone.now()
    changes, _tally = result_changes(row, result, now=done)
    if changes.get("status") == MessageStatus.SCHEDULED:  # a transient failure: a test is not retried
        changes.update(status=MessageStatus.FAILED, finished_at=done)
        changes.pop("send_at", None)
    changes.update(subject=subject, body=body, html_body=content.html_body, provider=provider.name)
    if channel == Channel.SMS:
        changes["segments"] = sms_length(body).segments
    messages_record(outcomes=[(row, changes)], owner=owner, now=done)
    row.refresh_from_db()
    return row
