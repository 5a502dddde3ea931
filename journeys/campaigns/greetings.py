"""Holiday greetings and the approved calendar: the write path, and the owner's review of the calendar.

* `calendar_approve` / `calendar_unapprove`: the owner's approved dates (`ApprovedHoliday`). An
  approved row is never changed afterwards: a newer `holidays` package that moves or renames a
  holiday shows up in `calendar_review` as a difference, and greetings keep the approved date.
* `holiday_greeting_create` / `holiday_greeting_update`: a greeting with its own care rule
  (trigger `holiday_greeting`, marketing) and the shipped copy in every language.
* `greetings_schedule_due`: turns each approved date of an active greeting into one occurrence
  (a `Campaign` in status scheduled) two days ahead; the campaign fan-out plans its messages.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys.campaigns.calendar import (
    FIRST_ORDER_ANNIVERSARY,
    Candidate,
    UnknownSubdivision,
    calendar_candidates,
    holiday_name_pick,
    shop_date_names,
)
from journeys.campaigns.models import GREETING_TRIGGER, ApprovedHoliday, Audience, Campaign, HolidayGreeting, ShopDate
from journeys.campaigns.services import campaign_cancel
from journeys.models import ADDRESS_CHANNELS, CareRule, Channel, CouponPool, MessageClass, OverBudget
from journeys.services.rules import care_rule_save, default_templates_create
from journeys.triggers import trigger_get
from merchant.actors import Actor
from merchant.models import Merchant

# Occurrences are created this many days before their send date (customer time: the earliest
# zones reach a local date up to 14 hours before UTC does).
SCHEDULE_AHEAD_DAYS = 2
MAX_LEAD_DAYS = 30
# A greeting date (occurrence) that has started planning or sending cannot lose its approved date.
OCCURRENCE_STARTED = frozenset({Campaign.Status.PLANNING, Campaign.Status.SENDING, Campaign.Status.PAUSED})


# --- the approved calendar --------------------------------------------------------------------------


def _row_for(candidate: Candidate, *, shop: Merchant, user: Any, now: dt.datetime) -> ApprovedHoliday:
    return ApprovedHoliday(
        shop=shop,
        country=candidate.country,
        subdivision=candidate.subdivision,
        key=candidate.key,
        date=candidate.date,
        names=dict(candidate.names),
        source=candidate.source,
        source_version=candidate.source_version,
        approved_by=user if getattr(user, "pk", None) else None,
        approved_at=now,
    )


def _candidates_for_dates(
    *, shop: Merchant, dates: list[tuple[str, dt.date]], countries: Iterable[str] | None, subdivisions: Iterable[str]
) -> list[Candidate]:
    """The candidates named by (key, date), in `countries` when given; ValidationError naming each unknown one."""
    first = min(date for _key, date in dates)
    last = max(date for _key, date in dates)
    try:
        found = calendar_candidates(
            shop=shop, start=first, end=max(last + dt.timedelta(days=1), first), subdivisions=subdivisions
        ).candidates
    except UnknownSubdivision as error:
        raise ValidationError({"subdivisions": _("Unknown subdivision: %s.") % error}) from error
    wanted_countries = {code.upper() for code in countries} if countries is not None else None
    chosen, unknown = [], []
    for key, date in dates:
        matching = [
            candidate
            for candidate in found
            if candidate.key == key
            and candidate.date == date
            and (wanted_countries is None or candidate.country in wanted_countries or not candidate.country)
        ]
        if not matching:
            unknown.append(f"{key} {date:%Y-%m-%d}")
        chosen.extend(matching)
    if unknown:
        raise ValidationError(
            {"dates": _("Not in the shop's calendar (key and date): %s.") % ", ".join(unknown)}, code="unknown"
        )
    return chosen


@transaction.atomic
def calendar_approve(
    *,
    shop: Merchant,
    user: Any,
    candidates: Iterable[Candidate] = (),
    dates: Iterable[tuple[str, dt.date]] = (),
    countries: Iterable[str] | None = None,
    subdivisions: Iterable[str] = (),
    now: dt.datetime | None = None,
) -> list[ApprovedHoliday]:
    """Approve greeting dates: `candidates` as `calendar_candidates`/`calendar_review` gave them, or
    `dates` as (key, date) pairs looked up in the shop's calendar (every country that has the key
    on that date, or only those in `countries`).

    Guarantees: idempotent; a date approved before is left exactly as it was approved (names,
    version, approver), even when the package says something else now; an unknown (key, date)
    raises ValidationError naming it and approves nothing. The first-order anniversary needs no
    approval (it has no date to move) and is skipped. Returns the approved rows asked for.
    """
    now = now or timezone.now()
    chosen = [candidate for candidate in candidates if not candidate.every_day]
    dates = [(key, date) for key, date in dates if key != FIRST_ORDER_ANNIVERSARY]
    if dates:
        chosen += [
            candidate
            for candidate in _candidates_for_dates(
                shop=shop, dates=dates, countries=countries, subdivisions=subdivisions
            )
            if not candidate.every_day
        ]
    if not chosen:
        return []
    rows = [_row_for(candidate, shop=shop, user=user, now=now) for candidate in chosen]
    # The unique constraint makes a second approval (or a concurrent one) a no-op for that row.
    ApprovedHoliday.objects.bulk_create(rows, ignore_conflicts=True)
    wanted = {(row.country, row.subdivision, row.key, row.date) for row in rows}
    stored = ApprovedHoliday.objects.filter(
        shop=shop, key__in={row.key for row in rows}, date__in={row.date for row in rows}
    )
    return [row for row in stored if (str(row.country), row.subdivision, row.key, row.date) in wanted]


@transaction.atomic
def calendar_unapprove(*, shop: Merchant, holiday_ids: Iterable[int], user: Any = None) -> int:
    """Withdraw approved dates of `shop` (ids of another shop are ignored). Returns how many went.

    A greeting date (occurrence) left without any approved country is withdrawn with it: removed
    while it is only scheduled (so approving the date again brings it back), cancelled if a test
    message exists. Refused (ValidationError on "holidays", nothing changes) while a greeting for
    that holiday and date is planning, sending or paused: cancel that first, as it is under way.
    """
    rows = list(ApprovedHoliday.objects.select_for_update().filter(shop=shop, pk__in=list(holiday_ids)))
    if not rows:
        return 0
    pairs = Q()
    for row in rows:
        pairs |= Q(holiday_key=row.key, holiday_date=row.date)
    occurrences = list(
        Campaign.objects.select_for_update()
        .filter(pairs, shop=shop, greeting__isnull=False)
        .exclude(status__in=[Campaign.Status.CANCELLED, Campaign.Status.DONE])
    )
    started = [occurrence for occurrence in occurrences if occurrence.status in OCCURRENCE_STARTED]
    if started:
        names = ", ".join(f"“{occurrence.name}” ({occurrence.get_status_display()})" for occurrence in started)
        raise ValidationError(
            {"holidays": _("A greeting for this date is under way; cancel it first: %s.") % names}, code="in_use"
        )
    ApprovedHoliday.objects.filter(pk__in=[row.pk for row in rows]).delete()
    remaining = set(
        ApprovedHoliday.objects.filter(shop=shop, key__in={row.key for row in rows}).values_list("key", "date")
    )
    actor = Actor.staff(user) if getattr(user, "pk", None) else Actor.system("calendar")
    for occurrence in occurrences:
        if (occurrence.holiday_key, occurrence.holiday_date) not in remaining:
            _occurrence_withdraw(occurrence, actor=actor)
    return len(rows)


# --- greetings ----------------------------------------------------------------------------------------------


def holiday_keys_known(shop: Merchant, *, today: dt.date) -> set[str]:
    """Keys a greeting may pick: every key the shop approved, and every candidate of the next twelve months."""
    keys = set(ApprovedHoliday.objects.filter(shop=shop).values_list("key", flat=True).distinct())
    keys |= {candidate.key for candidate in calendar_candidates(shop=shop, start=today).candidates}
    return keys


_GREETING_FIELDS = ("name", "audience", "holiday_keys", "lead_days", "send_time", "is_active")
_RULE_FIELDS = ("channel", "fallback_channel", "coupon_pool")


def _greeting_errors(shop: Merchant, values: dict[str, Any], *, greeting: HolidayGreeting | None) -> dict[str, list]:
    """Every problem of the fields given, by field name (empty when there is none)."""
    errors: dict[str, list] = defaultdict(list)
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip():
            errors["name"].append(_("Give the greeting a name."))
        elif len(name.strip()) > 100:
            errors["name"].append(_("At most 100 characters."))
        else:
            others = HolidayGreeting.objects.filter(shop=shop, name=name.strip())
            if greeting is not None:
                others = others.exclude(pk=greeting.pk)
            if others.exists():
                errors["name"].append(_("This shop already has a greeting named “%s”.") % name.strip())
    if "audience" in values:
        audience = values["audience"]
        if not isinstance(audience, Audience) or audience.shop_id != shop.pk:
            errors["audience"].append(_("Pick one of this shop's audiences."))
        elif audience.target != Audience.Target.CUSTOMERS:
            errors["audience"].append(_("A greeting goes to customers; pick an audience of customers, not orders."))
    if "holiday_keys" in values:
        keys = values["holiday_keys"]
        if isinstance(keys, str) or not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
            errors["holiday_keys"].append(_("Give a list of holiday keys, e.g. [“chuseok”]."))
        elif not keys:
            errors["holiday_keys"].append(_("Pick at least one holiday."))
        else:
            unknown = sorted(set(keys) - holiday_keys_known(shop, today=timezone.now().date()))
            if unknown:
                errors["holiday_keys"].append(
                    _("Unknown holiday: %s. Pick holidays of the shop's calendar.") % ", ".join(unknown)
                )
    if "lead_days" in values:
        lead = values["lead_days"]
        if isinstance(lead, bool) or not isinstance(lead, int) or not 0 <= lead <= MAX_LEAD_DAYS:
            errors["lead_days"].append(_("Lead days must be a whole number from 0 (on the day) to %d.") % MAX_LEAD_DAYS)
    rule = greeting.rule if greeting is not None else None
    window = (rule.window_start, rule.window_end) if rule else (dt.time(9, 0), dt.time(20, 0))
    if "send_time" in values:
        send_time = values["send_time"]
        if not isinstance(send_time, dt.time) or send_time.tzinfo is not None:
            errors["send_time"].append(_("Give a local time of day, e.g. 10:00."))
        elif not window[0] <= send_time < window[1]:
            errors["send_time"].append(
                _("Send between %(start)s and %(end)s, the customer's local hours for marketing messages.")
                % {"start": f"{window[0]:%H:%M}", "end": f"{window[1]:%H:%M}"}
            )
    channel = values.get("channel", rule.channel if rule else Channel.SMS)
    # Greetings address customers; push reaches only browsers listening to one order.
    if channel not in ADDRESS_CHANNELS:
        errors["channel"].append(_("Unknown channel “%s”.") % channel)
    fallback = values.get("fallback_channel", rule.fallback_channel if rule else "")
    if fallback and fallback not in ADDRESS_CHANNELS:
        errors["fallback_channel"].append(_("Unknown channel “%s”.") % fallback)
    elif fallback and fallback == channel:
        errors["fallback_channel"].append(_("The fallback must be another channel than the first."))
    if "is_active" in values and not isinstance(values["is_active"], bool):
        errors["is_active"].append(_("On or off: true or false."))
    pool = values.get("coupon_pool")
    if pool is not None and (not isinstance(pool, CouponPool) or pool.shop_id != shop.pk):
        errors["coupon_pool"].append(_("Pick one of this shop's coupon pools."))
    return dict(errors)


def _greeting_rule_name(name: str) -> str:
    return f"{_('Holiday greeting')}: {name}"[:100]


@transaction.atomic
def holiday_greeting_create(
    *,
    shop: Merchant,
    name: str,
    audience: Audience,
    holiday_keys: list[str],
    lead_days: int = 0,
    send_time: dt.time = dt.time(10, 0),
    channel: str = Channel.SMS,
    fallback_channel: str = Channel.EMAIL,
    coupon_pool: CouponPool | None = None,
    is_active: bool = False,
    actor: Actor | None = None,
) -> HolidayGreeting:
    """Create a greeting with its own care rule (trigger `holiday_greeting`, marketing: consent, opt-outs
    and the contact budget apply) and the shipped copy in every language.

    Guarantees: a bad value raises ValidationError naming each field (name, audience, holiday_keys,
    lead_days, send_time, channel, fallback_channel, coupon_pool, is_active) and nothing is created. An unknown
    holiday key is refused: keys come from the shop's calendar (approved or candidate). A key with no
    approved date yet is allowed; nothing is sent for it until the owner approves a date.
    """
    values = {
        "name": name,
        "audience": audience,
        "holiday_keys": list(holiday_keys) if isinstance(holiday_keys, list | tuple) else holiday_keys,
        "lead_days": lead_days,
        "send_time": send_time,
        "channel": channel,
        "fallback_channel": fallback_channel or "",
        "coupon_pool": coupon_pool,
        "is_active": is_active,
    }
    errors = _greeting_errors(shop, values, greeting=None)
    if not errors and CareRule.objects.filter(shop=shop, name=_greeting_rule_name(name.strip())).exists():
        errors["name"] = [_("A care rule named “%s” exists already; pick another name.") % _greeting_rule_name(name)]
    if errors:
        raise ValidationError(errors)
    spec = trigger_get(GREETING_TRIGGER)
    rule = care_rule_save(
        rule=CareRule(
            shop=shop,
            name=_greeting_rule_name(name.strip()),
            trigger=GREETING_TRIGGER,
            is_active=is_active,
            channel=channel,
            fallback_channel=fallback_channel or "",
            message_class=MessageClass.MARKETING,
            expire_after_hours=spec.default_expire_after_hours if spec else 12,
            coupon_pool=coupon_pool,
            # A greeting kept for another day would arrive after the holiday: over budget, it is dropped.
            over_budget=OverBudget.DROP,
        )
    )
    default_templates_create(rule=rule)
    greeting = HolidayGreeting(
        shop=shop,
        name=name.strip(),
        rule=rule,
        audience=audience,
        holiday_keys=list(dict.fromkeys(values["holiday_keys"])),
        lead_days=lead_days,
        send_time=send_time,
        is_active=is_active,
    )
    greeting.full_clean()
    greeting.save()
    return greeting


@transaction.atomic
def holiday_greeting_update(
    *, greeting: HolidayGreeting, actor: Actor | None = None, **changes: Any
) -> HolidayGreeting:
    """Change a greeting: name, audience, holiday_keys, lead_days, send_time, is_active, and its rule's
    channel, fallback_channel and coupon_pool.

    Guarantees: the same checks as `holiday_greeting_create`, naming each bad field, nothing changed
    on error. Turning it off turns its rule off too and withdraws its open dates: one not planned
    yet is removed (turned on again in time, it is created again), one under way is cancelled with
    its unsent messages. Occurrences already created keep their date and time; new ones follow the
    new lead days and send time.
    """
    unknown = set(changes) - set(_GREETING_FIELDS) - set(_RULE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This cannot be changed here.") for name in sorted(unknown)})
    greeting = HolidayGreeting.objects.select_for_update().select_related("rule").get(pk=greeting.pk)
    errors = _greeting_errors(greeting.shop, changes, greeting=greeting)
    if errors:
        raise ValidationError(errors)
    rule = greeting.rule
    for name, value in changes.items():
        if name in _RULE_FIELDS:
            setattr(rule, name, value or ("" if name == "fallback_channel" else None))
        elif name == "name":
            greeting.name = value.strip()
            rule.name = _greeting_rule_name(greeting.name)
        elif name == "holiday_keys":
            greeting.holiday_keys = list(dict.fromkeys(value))
        else:
            setattr(greeting, name, value)
    was_active = rule.is_active
    rule.is_active = greeting.is_active
    care_rule_save(rule=rule)
    greeting.full_clean()
    greeting.save()
    if was_active and not greeting.is_active:
        stopping = Actor.system(_("greeting turned off")) if actor is None else actor
        for occurrence in (
            Campaign.objects.select_for_update()
            .filter(greeting=greeting)
            .exclude(status__in=[Campaign.Status.DONE, Campaign.Status.CANCELLED])
        ):
            _occurrence_withdraw(occurrence, actor=stopping)
    return greeting


def holiday_greeting_set_active(
    *, greeting: HolidayGreeting, is_active: bool, actor: Actor | None = None
) -> HolidayGreeting:
    """Turn a greeting (and its rule) on or off."""
    return holiday_greeting_update(greeting=greeting, actor=actor, is_active=is_active)


# --- occurrences ----------------------------------------------------------------------------------------------


def _occurrence_withdraw(occurrence: Campaign, *, actor: Actor) -> None:
    """Take back a greeting date: delete it while nothing was planned for it (it can then be created again),
    else cancel it (its messages not yet sent are cancelled). A finished one is left as it is."""
    if occurrence.status in (Campaign.Status.DONE, Campaign.Status.CANCELLED):
        return
    if occurrence.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED) and not occurrence.messages.exists():
        occurrence.delete()
        return
    campaign_cancel(campaign=occurrence, actor=actor)


def _occurrence_name(greeting: HolidayGreeting, holiday: str, date: dt.date) -> str:
    """“Seasons greetings · Chuseok 2026-09-25”, the greeting's name shortened to fit 150 characters."""
    suffix = f" · {holiday[:100]} {date:%Y-%m-%d}"
    return greeting.name[: 150 - len(suffix)] + suffix


def greetings_schedule_due(*, now: dt.datetime | None = None) -> list[Campaign]:
    """Create the occurrence (a scheduled `Campaign`) of each active greeting for each approved date of its
    holidays whose send date (date - lead days) is today or within the next two days (UTC dates).

    The first-order anniversary has one occurrence per day. Guarantees: each (greeting, holiday, date)
    is created once, however often and concurrently this runs (unique constraint); only approved
    dates are used, never the package; an occurrence whose send date has passed is not created.
    The occurrence greets at `send_time` on `send_on` in each customer's zone (timing customer_time).
    Returns the occurrences created by this run.
    """
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).date()
    last = today + dt.timedelta(days=SCHEDULE_AHEAD_DAYS)
    greetings = list(
        HolidayGreeting.objects.filter(is_active=True, rule__is_active=True)
        .select_related("shop")
        .order_by("shop_id", "pk")
    )
    if not greetings:
        return []
    shop_ids = {greeting.shop_id for greeting in greetings}
    furthest = last + dt.timedelta(days=max(greeting.lead_days for greeting in greetings))
    approved: dict[tuple[int, str], dict[dt.date, dict[str, str]]] = defaultdict(dict)
    for shop_id, key, date, names in ApprovedHoliday.objects.filter(
        shop_id__in=shop_ids, date__gte=today, date__lte=furthest
    ).values_list("shop_id", "key", "date", "names"):
        approved[(shop_id, key)].setdefault(date, names)
    anniversaries = {
        shop_date.shop_id: shop_date
        for shop_date in ShopDate.objects.filter(shop_id__in=shop_ids, kind=FIRST_ORDER_ANNIVERSARY).order_by("-pk")
    }
    existing = set(
        Campaign.objects.filter(
            greeting__in=greetings, holiday_date__gte=today, holiday_date__lte=furthest
        ).values_list("greeting_id", "holiday_key", "holiday_date")
    )
    created = []
    for greeting in greetings:
        lead = dt.timedelta(days=greeting.lead_days)
        for key in dict.fromkeys(greeting.holiday_keys):
            if key == FIRST_ORDER_ANNIVERSARY:
                shop_date = anniversaries.get(greeting.shop_id)
                if shop_date is None:
                    continue
                names = shop_date_names(shop_date, greeting.shop)
                due = {today + dt.timedelta(days=n) + lead: names for n in range(SCHEDULE_AHEAD_DAYS + 1)}
            else:
                due = {
                    date: names
                    for date, names in approved.get((greeting.shop_id, key), {}).items()
                    if today <= date - lead <= last
                }
            for date, names in sorted(due.items()):
                if (greeting.pk, key, date) in existing:
                    continue
                occurrence = _occurrence_create(greeting=greeting, key=key, date=date, names=names)
                if occurrence is not None:
                    created.append(occurrence)
    return created


def _occurrence_create(*, greeting: HolidayGreeting, key: str, date: dt.date, names: dict[str, str]) -> Campaign | None:
    """One scheduled occurrence; None when a concurrent run created it first."""
    holiday = holiday_name_pick(names, language=greeting.shop.default_language) or key
    try:
        with transaction.atomic():
            return Campaign.objects.create(
                shop_id=greeting.shop_id,
                name=_occurrence_name(greeting, holiday, date),
                kind=Campaign.Kind.GREETING,
                rule_id=greeting.rule_id,
                audience_id=greeting.audience_id,
                greeting=greeting,
                holiday_key=key,
                holiday_date=date,
                timing=Campaign.Timing.CUSTOMER_TIME,
                send_on=date - dt.timedelta(days=greeting.lead_days),
                send_time=greeting.send_time,
                status=Campaign.Status.SCHEDULED,
            )
    except IntegrityError:
        return None
