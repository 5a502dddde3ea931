"""What a message says: its template variant and its context, built at send time from current data.

A tracking number added after the message was planned still appears; what was sent is stored
on the message, so the outbox shows exactly what the customer received.
"""

import functools
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings

from journeys.campaigns.calendar import occurrence_holiday_name
from journeys.context import links_all, values_all
from journeys.models import Channel, Message, MessageClass, MessageTemplate
from journeys.order_parts import order_lines, order_parcels
from journeys.rendering import html_from_text, template_render
from journeys.services.links import links_find, links_replace, tracked_links_for_many
from journeys.services.planning import ORDER_STATUS_LABELS, phone_e164
from journeys.sms_copy import MarketingCopy, sms_marketing_copy
from journeys.sms_encoding import sms_length
from merchant.models import Customer, Merchant, Order, OrderEvent, Shipment


class NoTemplate(Exception):
    """The rule has no words for this channel in any language."""


@dataclass(frozen=True)
class Content:
    subject: str  # the email's subject, or the browser notification's title
    body: str
    html_body: str
    segments: int | None
    language: str
    url: str = ""  # push: the page a tap on the notification opens


# What a browser shows of a notification is a line of title and a few of text; longer copy is cut, so the
# outbox keeps what was sent (and the encrypted payload stays far below the 4 KB push services take).
PUSH_TITLE_MAX = 80
PUSH_BODY_MAX = 300


def template_pick(templates: list[MessageTemplate], *, channel: str, languages: list[str]) -> MessageTemplate:
    """The variant in the first available of `languages`, else any variant of the channel."""
    variants = {template.language: template for template in templates if template.channel == channel}
    for language in languages:
        if language in variants:
            return variants[language]
    if variants:
        return next(iter(variants.values()))
    raise NoTemplate(f"No {Channel(channel).label} template in any language.")


# Looked up directly: get_FOO_display() translates every choice of the field on each call.
SHIPMENT_STATUS_LABELS = dict(Shipment.Status.choices)


def _label(labels: dict[str, Any], value: str) -> str:
    return str(labels.get(value, value))


def _money(amount: Decimal | None, currency: str) -> str:
    return f"{amount} {currency}" if amount is not None else ""


def customer_context(customer: Customer | None) -> dict[str, Any]:
    if customer is None:
        return {}
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "full_name": customer.full_name,
        "email": customer.email,
        "phone": phone_e164(customer),
    }


def shop_context(shop: Merchant) -> dict[str, Any]:
    return {
        "name": shop.name,
        "sender_name": shop.sender_name or shop.name,
        "contact_email": shop.contact_email,
        "contact_phone": str(shop.contact_phone or ""),
    }


def order_context(order: Order | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if order is None:
        return {}, []
    lines = order_lines(order)
    return (
        {
            "number": order.number,
            "total": order.total,
            "currency": order.currency,
            "total_display": _money(order.total, order.currency),
            "status": _label(ORDER_STATUS_LABELS, order.status),
            "item_count": sum(line.quantity for line in lines),
            "placed_at": order.placed_at,
            "paid_at": order.paid_at,
            "ship_by": order.ship_by,
            "shipped_at": order.shipped_at,
            "delivered_at": order.delivered_at,
            "refunded_total": order.refunded_total,
        },
        [{"title": line.title, "quantity": line.quantity, "sku": line.sku, "total": line.total} for line in lines],
    )


def _step_id(step: str, prefix: str) -> int | None:
    parts = step.split("-")
    return int(parts[1]) if len(parts) > 1 and parts[0] == prefix and parts[1].isdigit() else None


def message_shipment(message: Message) -> Shipment | None:
    """The parcel the message is about: the one of its step, else the order's latest."""
    if message.order is None:
        return None
    shipments = order_parcels(message.order)
    wanted = _step_id(message.step, "shipment")
    for shipment in shipments:
        if shipment.pk == wanted:
            return shipment
    return shipments[-1] if shipments else None


def refund_context(message: Message) -> dict[str, Any]:
    if message.order is None:
        return {}
    event_id = _step_id(message.step, "event")
    event = OrderEvent.objects.filter(pk=event_id, order_id=message.order_id).first() if event_id else None
    amount = Decimal(event.details["amount"]) if event and event.details.get("amount") else message.order.refunded_total
    currency = message.order.currency
    return {"amount": amount, "currency": currency, "amount_display": _money(amount, currency)}


def campaign_context(message: Message) -> tuple[str, str]:
    """(campaign name, holiday name in the message's language) of a campaign's message; ("", "") otherwise.

    Reads the campaign only when the message has one, so order care costs no query more.
    """
    if message.campaign_id is None:
        return "", ""
    campaign = message.campaign
    country = str(message.customer.country) if message.customer_id and message.customer else ""
    return campaign.name, occurrence_holiday_name(campaign, language=message.language, country=country)


class _Deferred:
    """A link or value other apps registered, made only when the template uses it, and once: a message's copy
    names two or three of the dozens registered (each app's links and values answer for its own triggers)."""

    __slots__ = ("_make", "_made", "_message", "_value")

    def __init__(self, make, message: Message) -> None:
        self._make, self._message, self._made, self._value = make, message, False, None

    def __call__(self):  # Django's templates call a callable they find: `{{ links.review }}`, `{% if faq %}`
        if not self._made:
            self._value, self._made = self._make(self._message), True
        return self._value


def message_context(message: Message, *, coupon_code: str = "", deferred: bool = False) -> dict[str, Any]:
    """The documented template context (journeys.context.CONTEXT_SCHEMA) for one message, from current data.

    `deferred`: the registered links and values are callables the template engine calls when the copy uses
    them (what rendering for sending wants); otherwise they are made at once (previews, tests, callers that
    read the dict)."""
    order, lines = order_context(message.order)
    shipment = message_shipment(message)
    shipment_values = (
        {
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "tracking_url": shipment.tracking_url,
            "status": _label(SHIPMENT_STATUS_LABELS, shipment.status),
            "last_update_at": shipment.last_carrier_event_at,
        }
        if shipment
        else {}
    )
    campaign, holiday = campaign_context(message)
    return {
        "customer": customer_context(message.customer),
        "order": order,
        "lines": lines,
        "shop": shop_context(message.shop),
        "shipment": shipment_values,
        "tracking_url": shipment_values.get("tracking_url", ""),
        "refund": refund_context(message) if message.trigger == "refund_processed" else {},
        "coupon": coupon_code,
        "holiday": holiday,
        "campaign": campaign,
        "links": {name: _made(spec.make, message, deferred) for name, spec in links_all().items()},
        **{name: _made(spec.make, message, deferred) for name, spec in values_all().items()},
    }


def _made(make, message: Message, deferred: bool):
    return _Deferred(make, message) if deferred else make(message)


def content_render(template: MessageTemplate, context: dict[str, Any], *, time_zone: str) -> Content:
    """Render one template variant in its language and the customer's time zone."""
    language = template.language
    body = template_render(template.body, context, language=language, time_zone=time_zone)
    if template.channel == Channel.SMS:
        return Content("", body, "", sms_length(body).segments, language)
    subject = template_render(template.subject, context, language=language, time_zone=time_zone)
    if template.channel == Channel.PUSH:
        return Content(
            _cut(" ".join(subject.split()), PUSH_TITLE_MAX), _cut(body.strip(), PUSH_BODY_MAX), "", None, language
        )
    html_body = (
        template_render(template.html_body, context, language=language, time_zone=time_zone, html=True)
        if template.html_body
        else html_from_text(body)
    )
    return Content(subject, body, html_body, None, language)


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


@functools.cache
def push_default_templates(trigger: str) -> tuple[MessageTemplate, ...]:
    """The shipped notification copy of `trigger` in every language it has (unsaved templates; read once).

    Used for a rule that has no push template of its own: rules made before push existed, and rules of
    SMS or email whose messages go by push because the customer asked for notifications.
    """
    from journeys.services.rules import default_copy  # rules imports the planner, which this module's importers use

    templates = []
    for language, _name in settings.LANGUAGES:
        copy = default_copy(trigger, language, channel=Channel.PUSH)
        if copy is not None:
            templates.append(
                MessageTemplate(channel=Channel.PUSH, language=language, subject=copy["subject"], body=copy["body"])
            )
    return tuple(templates)


def content_copy_rules_apply(
    content: Content, *, channel: str, message_class: str, shop: Merchant
) -> tuple[Content, MarketingCopy | None]:
    """A marketing SMS with the shop's signature and the opt-out hint added (`journeys.sms_copy`), segments
    counted again; anything else unchanged (and None)."""
    if channel != Channel.SMS or message_class != MessageClass.MARKETING:
        return content, None
    copy = sms_marketing_copy(content.body, shop_name=shop.sender_name or shop.name, language=content.language)
    return replace(content, body=copy.body, segments=sms_length(copy.body).segments), copy


def message_templates(message: Message, *, channel: str) -> list[MessageTemplate]:
    """The rule's templates; for push without a push template of the rule's own, the shipped push copy."""
    templates = list(message.rule.templates.all()) if message.rule else []
    if channel == Channel.PUSH and not any(template.channel == Channel.PUSH for template in templates):
        return list(push_default_templates(message.trigger))
    return templates


def message_content(message: Message, *, coupon_code: str = "", channel: str = "") -> Content:
    """What `message` says now, in its language (or the shop's, or any the rule has), copy rules applied.

    `channel`: the channel it goes by when that is not (yet) the message's own, e.g. push in place of SMS."""
    channel = channel or message.channel
    template = template_pick(
        message_templates(message, channel=channel),
        channel=channel,
        languages=[message.language, message.shop.default_language, "en"],
    )
    context = message_context(message, coupon_code=coupon_code, deferred=True)
    content = content_render(template, context, time_zone=message.time_zone)
    return content_copy_rules_apply(content, channel=channel, message_class=message.message_class, shop=message.shop)[0]


def content_links_shorten(*, message: Message, content: Content) -> Content:
    """`content` with its web links replaced by tracked short links (`/l/<token>`), SMS segments counted again."""
    return contents_links_shorten([(message, content)])[0]


def contents_links_shorten(pairs: list[tuple[Message, Content]]) -> list[Content]:
    """Each content with its web links replaced by tracked short links, for a whole batch in two queries.

    Rendering the same message again gives the same short links. JOURNEYS_TRACKED_LINKS=false
    leaves links as written.
    """
    if not settings.JOURNEYS_TRACKED_LINKS:
        return [content for _message, content in pairs]
    urls = {
        message: links_find(content.body)
        + links_find(content.html_body, is_html=True)
        + ([content.url] if content.url else [])
        for message, content in pairs
    }
    short_by_message = tracked_links_for_many({message: found for message, found in urls.items() if found})
    shortened = []
    for message, content in pairs:
        short = short_by_message.get(message.pk)
        if not short:
            shortened.append(content)
            continue
        body = links_replace(content.body, short)
        shortened.append(
            replace(
                content,
                body=body,
                html_body=links_replace(content.html_body, short, is_html=True),
                segments=sms_length(body).segments if content.segments is not None else None,
                url=short.get(content.url, content.url),
            )
        )
    return shortened
