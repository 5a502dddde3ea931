"""The automatic answer to a customer who writes while the support team is away (trigger `auto_reply`).

Planned by `returns.services.auto_reply` (kind EXTERNAL) on the channel the customer wrote on, at any
hour (transactional: the customer just wrote to us). Its copy gets three values of its own
(`journeys.context.value_register`), computed when the message is rendered from the moment the
customer wrote (`Message.anchor_at`) and the shop's support settings:

- `{{ support_back_at }}`: when the team is back, e.g. "Monday 09:00", in the customer's zone and language;
- `{{ support_answer_by }}`: when to expect an answer: back + the first-response target in business hours;
- `{{ faq }}`: the shop's active FAQ entries in the message's language (else the shop's default language):
  all of them in an email, the first ones that fit in a text (an SMS stays within two or three segments).

Every maker answers "" without a query for messages of other triggers.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from journeys.context import ValueSpec, value_register
from journeys.sms_encoding import GSM_7, UCS_2, sms_length
from journeys.triggers import Kind, TriggerSpec, trigger_register

AUTO_REPLY_TRIGGER = "auto_reply"
STEP_PREFIX = "autoreply"
# Room the FAQ may take in a text, by encoding: the copy around it is ~100 characters, so the whole text
# stays within two GSM-7 segments (306) or three UCS-2 ones (201).
SMS_FAQ_BUDGET = {GSM_7: 150, UCS_2: 60}
# Within this many days a weekday names the day unambiguously ("Monday 09:00"); further off the date is added.
WEEKDAY_ENOUGH_DAYS = 6

AUTO_REPLY = TriggerSpec(
    name=AUTO_REPLY_TRIGGER,
    label=_("Auto-reply outside business hours"),
    description=_(
        "Answers a customer who writes (SMS or email) while the support team is away, on the same channel: "
        "the shop's FAQ ({{ faq }}), when the team is back ({{ support_back_at }}) and when to expect an answer "
        "({{ support_answer_by }}). At most one per customer until the team is back."
    ),
    kind=Kind.EXTERNAL,
    anchor_label=_("customer wrote"),
    default_channel="sms",
    default_fallback_channel="email",
    default_send_any_hour=True,
    # Worth sending only while the team is still away; a night and a long weekend fit.
    default_expire_after_hours=12,
    in_default_rule_set=False,
    holdout_allowed=False,  # the customer wrote and is waiting
)


def auto_reply_step(next_open: dt.datetime) -> str:
    """The step of the auto-reply of one closed period: one per customer until the team is back."""
    return f"{STEP_PREFIX}-{next_open.astimezone(dt.UTC):%Y%m%dT%H%MZ}"


@dataclass(frozen=True)
class AutoReplyValues:
    back_at: str
    answer_by: str
    faq: str


EMPTY = AutoReplyValues("", "", "")


def moment_words(moment: dt.datetime, *, time_zone: str, language: str, now: dt.datetime) -> str:
    """ "Monday 09:00" in `language`, in `time_zone`; with the date when it is more than a few days off."""
    local = timezone.localtime(moment, ZoneInfo(time_zone))
    with translation.override(language):
        weekday = date_format(local, "l")
        if (local.date() - timezone.localtime(now, ZoneInfo(time_zone)).date()).days > WEEKDAY_ENOUGH_DAYS:
            return f"{weekday} {date_format(local, 'SHORT_DATE_FORMAT')} {local:%H:%M}"
    return f"{weekday} {local:%H:%M}"


def faq_entries_for(*, shop, language: str):
    """The shop's active FAQ entries in `language`, else in the shop's default language (a list)."""
    from returns.models import FaqEntry

    active = FaqEntry.objects.filter(shop=shop, is_active=True)
    for wanted in dict.fromkeys([language, shop.default_language]):
        entries = list(active.filter(language=wanted).order_by("position", "id"))
        if entries:
            return entries
    return []


def faq_text(entries, *, channel: str) -> str:
    """All entries as question and answer (email); in a text, the first entries that fit, shortened if need be."""
    if channel != "sms":
        return "\n\n".join(f"{entry.question}\n{entry.answer}" for entry in entries)
    lines: list[str] = []
    for entry in entries:
        line = f"{entry.question} {entry.answer}"
        candidate = "\n".join([*lines, line])
        budget = SMS_FAQ_BUDGET[sms_length(candidate).encoding]
        if len(candidate) <= budget:
            lines.append(line)
            continue
        if not lines:  # the first entry alone is too long: its beginning, shortened
            lines.append(line[: budget - 1].rstrip() + "…")
        break
    return "\n".join(lines)


def auto_reply_values(message) -> AutoReplyValues:
    """The values of an auto-reply message, computed once per message object."""
    if message.trigger != AUTO_REPLY_TRIGGER:
        return EMPTY
    cached = getattr(message, "_auto_reply_values", None)
    if cached is not None:
        return cached
    from returns.business_hours import business_calendar_for
    from returns.models import SupportSettings

    shop = message.shop
    settings = SupportSettings.objects.filter(shop=shop).first() or SupportSettings(shop=shop)
    calendar = business_calendar_for(shop, settings)
    wrote_at = message.anchor_at or timezone.now()
    back_at = calendar.next_open(wrote_at)
    answer_by = calendar.add(back_at, dt.timedelta(hours=settings.first_response_hours))
    language = message.language or shop.default_language
    time_zone = message.time_zone or shop.time_zone

    def words(moment):
        return moment_words(moment, time_zone=time_zone, language=language, now=wrote_at)

    values = AutoReplyValues(
        back_at=words(back_at),
        answer_by=words(answer_by),
        faq=faq_text(faq_entries_for(shop=shop, language=language), channel=message.channel),
    )
    message._auto_reply_values = values
    return values


AUTO_REPLY_VALUES = [
    ValueSpec(
        name="support_back_at",
        description="Auto-reply: when the support team is back, in the customer's zone (e.g. Monday 09:00)",
        worst_case="Donnerstag 31.12.2026 09:00",
        make=lambda message: auto_reply_values(message).back_at,
    ),
    ValueSpec(
        name="support_answer_by",
        description="Auto-reply: when to expect an answer (back + the first-response target in business hours)",
        worst_case="Donnerstag 31.12.2026 17:00",
        make=lambda message: auto_reply_values(message).answer_by,
    ),
    ValueSpec(
        name="faq",
        description="Auto-reply: the shop's FAQ in the customer's language (in a text, the first entries that fit)",
        worst_case="W" * SMS_FAQ_BUDGET[GSM_7],
        make=lambda message: auto_reply_values(message).faq,
    ),
]


def auto_reply_trigger_register() -> None:
    """Register the trigger and its template values with journeys. Idempotent."""
    trigger_register(AUTO_REPLY)
    for value in AUTO_REPLY_VALUES:
        value_register(value)
