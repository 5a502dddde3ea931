"""Reads of auto-replies: what a customer writing tonight would get, by SMS and by email, for the admin preview."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.utils import timezone

from journeys.models import CareRule, Channel, Message, MessageTemplate
from journeys.services.content import NoTemplate, content_render, message_context, template_pick
from journeys.services.rules import default_copy
from journeys.sms_encoding import sms_length
from merchant.models import Customer, Merchant
from returns.business_hours import business_calendar_for
from returns.models import SupportSettings
from returns.triggers.auto_reply import AUTO_REPLY_TRIGGER


@dataclass(frozen=True)
class AutoReplyPreview:
    channel: str
    language: str  # of the copy used (the shop's default when the language has none)
    subject: str
    body: str
    characters: int
    segments: int | None  # SMS only
    encoding: str  # SMS only: GSM-7 or UCS-2
    error: str = ""


def closed_moment(*, shop: Merchant, now: dt.datetime) -> dt.datetime:
    """`now` when the shop's support is closed, else the moment it closes next (when an auto-reply can go out)."""
    support = SupportSettings.objects.filter(shop=shop).first() or SupportSettings(shop=shop)
    calendar = business_calendar_for(shop, support)
    if not calendar.is_open(now):
        return now
    local_day = timezone.localtime(now, calendar.zone).date()
    for day in (local_day, local_day + dt.timedelta(days=1)):
        for start, end in calendar.intervals_on(day):
            if start <= now < end:
                return end
    return now


def _templates(shop: Merchant) -> list[MessageTemplate]:
    """The shop's auto-reply copy; the shipped copy when the shop has no rule yet."""
    rule = CareRule.objects.filter(shop=shop, trigger=AUTO_REPLY_TRIGGER).order_by("id").first()
    if rule is not None:
        return list(rule.templates.all())
    shipped = []
    for language, _name in django_settings.LANGUAGES:
        copy = default_copy(AUTO_REPLY_TRIGGER, language)
        for channel in (Channel.SMS, Channel.EMAIL):
            if copy is not None:
                shipped.append(
                    MessageTemplate(
                        channel=channel,
                        language=language,
                        body=copy["body"],
                        subject=copy["subject"] if channel == Channel.EMAIL else "",
                        html_body=copy["html_body"] if channel == Channel.EMAIL else "",
                    )
                )
    return shipped


def auto_reply_preview_list(
    *, shop: Merchant, language: str, first_name: str = "Anna", now: dt.datetime | None = None
) -> list[AutoReplyPreview]:
    """The auto-reply a customer writing in `language` would get by SMS and by email, rendered as the dispatcher
    renders it, for a customer who writes now (or, while the team works, when it stops for the day). Writes nothing."""
    now = now or timezone.now()
    anchor = closed_moment(shop=shop, now=now)
    templates = _templates(shop)
    customer = Customer(shop=shop, first_name=first_name, language=language, time_zone=shop.time_zone)
    previews = []
    for channel in (Channel.SMS, Channel.EMAIL):
        try:
            template = template_pick(templates, channel=channel, languages=[language, shop.default_language, "en"])
        except NoTemplate as problem:
            previews.append(AutoReplyPreview(channel, language, "", "", 0, None, "", error=str(problem)))
            continue
        message = Message(
            shop=shop,
            customer=customer,
            order=None,
            trigger=AUTO_REPLY_TRIGGER,
            step="preview",
            channel=channel,
            language=language,
            time_zone=shop.time_zone,
            message_class="transactional",
            anchor_at=anchor,
            not_before=anchor,
            send_at=anchor,
        )
        content = content_render(template, message_context(message), time_zone=shop.time_zone)
        length = sms_length(content.body) if channel == Channel.SMS else None
        previews.append(
            AutoReplyPreview(
                channel=channel,
                language=template.language,
                subject=content.subject,
                body=content.body,
                characters=len(content.body),
                segments=length.segments if length else None,
                encoding=length.encoding if length else "",
            )
        )
    return previews
