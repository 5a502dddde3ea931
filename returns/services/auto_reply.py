"""Customer messages into the support queue, answered automatically while the team is away.

A text (journeys hands its replies to `sms_text_file` through `journeys.inbound_listeners`) or an
email (`returns.services.inbound_email`) is filed by `customer_message_file`: it lands on the
case of its order in the queue (`case_customer_message_add`). When the shop is closed now and its
support settings allow it, the customer gets one automatic answer through journeys (trigger
`auto_reply`, on the channel they wrote on, at any hour) with the FAQ and when to expect a reply,
recorded on the case as an `auto_reply` entry linked to the outbox row.

At most one auto-reply per customer per closed period: the message's step names the moment the team
is back, so a customer who writes five times in a night gets one answer (the outbox's unique
idempotency key holds it across processes). Inside business hours nothing is answered automatically.
"""

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from journeys.models import CareRule, Message
from journeys.services.content import message_content
from journeys.services.external import message_plan, trigger_has_active_rule
from journeys.services.rules import care_rules_for_triggers_create
from merchant.actors import Actor
from merchant.models import Customer, Merchant, Order
from merchant.services.customers import customer_create
from returns.business_hours import business_calendar_for
from returns.models import CaseEntry, SupportSettings
from returns.services.cases import case_customer_message_add
from returns.triggers.auto_reply import AUTO_REPLY, AUTO_REPLY_TRIGGER, auto_reply_step

logger = logging.getLogger(__name__)

# "#1001", "order 1001", "Bestellung 1001", "订单1001": a run of at least three characters with a digit.
ORDER_NUMBER_PATTERN = re.compile(r"#?\s?([A-Za-z0-9][A-Za-z0-9-]{1,38}[0-9])")


@dataclass(frozen=True)
class Filed:
    """Where a customer's message went: its entry on the case, and the automatic answer if one was planned."""

    entry: CaseEntry
    auto_reply: CaseEntry | None
    why_no_auto_reply: str = ""


def support_settings_for(shop: Merchant) -> SupportSettings:
    """The shop's support settings; the defaults (unsaved) for a shop that has none yet."""
    return SupportSettings.objects.filter(shop=shop).first() or SupportSettings(shop=shop)


# --- who and which order ------------------------------------------------------------------------------


def order_numbers_in(text: str) -> list[str]:
    """The words of `text` that may be order numbers, each with and without a leading '#'."""
    found = []
    for match in ORDER_NUMBER_PATTERN.finditer(text or ""):
        number = match.group(1)
        found.extend([number, f"#{number}"])
    return list(dict.fromkeys(found))[:40]


def order_find(*, shop: Merchant, customers: Iterable[Customer], text: str) -> Order | None:
    """The order a message is about: one of the sender's orders named in `text` ("#1001"), else their latest.

    Only the sender's own orders: a stranger naming someone else's order number never lands on that order's case.
    """
    customer_ids = [customer.pk for customer in customers]
    if not customer_ids:
        return None
    orders = Order.objects.filter(shop=shop, customer_id__in=customer_ids).order_by("-placed_at", "-id")
    numbers = order_numbers_in(text)
    if numbers:
        named = orders.filter(number__in=numbers).first()
        if named is not None:
            return named
    return orders.first()


def customer_for_sender(*, shop: Merchant, customers: Sequence[Customer], order: Order | None) -> Customer | None:
    """Of the shop's customers with the sender's address, the one whose order the message is about, else the first."""
    if order is not None and order.customer_id:
        return next((customer for customer in customers if customer.pk == order.customer_id), order.customer)
    return customers[0] if customers else None


# --- filing and answering ------------------------------------------------------------------------------


@transaction.atomic
def customer_message_file(
    *,
    shop: Merchant,
    customer: Customer | None,
    order: Order | None,
    channel: str,
    body: str,
    source: str,
    actor: Actor,
    at: dt.datetime | None = None,
    auto_reply: bool = True,
) -> Filed:
    """Put a customer's message in the support queue and, while the shop is closed, answer it once.

    Guarantees: the message is a `customer_message` entry on the case of `order` (of the customer when there
    is none), which opens again if it was resolved, with an item named by `source` (the message's stable
    reference, e.g. "journeys.inboundsms:17"). Callers file each delivery once: inbound events are
    deduplicated before they are applied, and a failed one rolls back whole. With `auto_reply` (not for
    possible opt-outs or automatic mail) `auto_reply_plan` decides whether to answer, at most once per customer
    and closed period however often this is called.
    """
    at = at or timezone.now()
    entry = case_customer_message_add(
        shop=shop, order=order, customer=customer, body=body, channel=channel, actor=actor, source=source, at=at
    )
    if not auto_reply:
        return Filed(entry=entry, auto_reply=None, why_no_auto_reply="not to be answered automatically")
    answer, why = auto_reply_plan(entry=entry, shop=shop, customer=customer, channel=channel, at=at)
    return Filed(entry=entry, auto_reply=answer, why_no_auto_reply=why)


def auto_rule_ensure(shop: Merchant) -> None:
    """Give a shop made before auto-replies existed its `auto_reply` rule (on). A rule the owner has, on or
    off, is left as it is."""
    if not CareRule.objects.filter(shop=shop, trigger=AUTO_REPLY_TRIGGER).exists():
        care_rules_for_triggers_create(shop=shop, specs=[AUTO_REPLY], active=lambda spec: True)


def auto_reply_plan(
    *, entry: CaseEntry, shop: Merchant, customer: Customer | None, channel: str, at: dt.datetime
) -> tuple[CaseEntry | None, str]:
    """Plan the automatic answer to the customer message `entry`, when due. Returns (auto_reply entry, why not).

    Due when the shop's support settings allow auto-replies, the shop is closed at `at` (business hours and
    public holidays), the shop's `auto_reply` rule is on, and the customer got none since the team was last
    open. The answer goes on `channel` (the rule's other channel when that one cannot reach them).
    """
    if customer is None:
        return None, "the sender is not a customer"
    settings = support_settings_for(shop)
    if not settings.auto_reply_enabled:
        return None, "auto-replies are off in the support settings"
    calendar = business_calendar_for(shop, settings)
    if calendar.is_open(at):
        return None, "the support team is working now"
    auto_rule_ensure(shop)
    if not trigger_has_active_rule(shop_id=shop.pk, trigger=AUTO_REPLY_TRIGGER):
        return None, "the care rule of auto-replies is off"
    messages = message_plan(
        trigger=AUTO_REPLY_TRIGGER,
        shop=shop,
        customer=customer,
        order=None,  # one answer per customer and closed period, whichever order they write about
        anchor_at=at,
        step=auto_reply_step(calendar.next_open(at)),
        channel=channel,  # planned now: a message applied late (a reprocessed event) may be too late to send
    )
    if not messages:
        return None, "no rule of the shop applies to this customer, or it is too late to answer"
    message = messages[0]
    if CaseEntry.objects.filter(message=message).exists():
        return None, "answered already since the team was last open"
    if message.status != Message.Status.SCHEDULED:
        return None, message.explanation
    reply = CaseEntry.objects.create(
        case=entry.case,
        kind=CaseEntry.Kind.AUTO_REPLY,
        body=_what_it_says(message)[:5000],
        channel=message.channel,
        message=message,
        at=at,
    )
    return reply, ""


def _what_it_says(message: Message) -> str:
    """The answer as the dispatcher will render it, for the case's conversation (the outbox keeps what was sent)."""
    message = Message.objects.select_related("shop", "customer", "order", "rule").get(pk=message.pk)
    try:
        content = message_content(message)
    except Exception:  # a template the owner broke must not keep the customer's message out of the queue
        logger.exception("Could not render auto-reply %s for its case entry.", message.pk)
        return f"Automatic reply planned ({message.channel})."
    return f"{content.subject}\n\n{content.body}".strip() if content.subject else content.body


# --- texts (journeys.inbound_listeners) ----------------------------------------------------------------


def sms_text_file(texts: Sequence) -> Filed | None:
    """Listener of journeys' inbound texts: a reply or a possible opt-out lands in the queue.

    `texts` are the `InboundSms` rows of one text (one per customer of the shop with the sender's number).
    A sender the shop does not know becomes a customer with that number, so their texts gather on one case.
    A possible opt-out ("wrong number") is never answered automatically: a person decides.
    """
    from journeys.models import InboundSms

    if not texts:
        return None
    first = texts[0]
    shop = first.shop
    customers = [text.customer for text in texts if text.customer_id]
    if not customers and first.from_number.startswith("+"):
        customers = [_customer_from_number(shop=shop, phone=first.from_number)]
    order = order_find(shop=shop, customers=customers, text=first.body)
    return customer_message_file(
        shop=shop,
        customer=customer_for_sender(shop=shop, customers=customers, order=order),
        order=order,
        channel="sms",
        body=first.body,
        source=f"journeys.inboundsms:{first.pk}",
        actor=Actor.customer(f"SMS from {first.from_number}"),
        at=first.received_at,
        auto_reply=first.kind == InboundSms.Kind.REPLY,
    )


def _customer_from_number(*, shop: Merchant, phone: str) -> Customer:
    existing = Customer.objects.filter(shop=shop, phone=phone).order_by("id").first()
    return existing or customer_create(shop=shop, phone=phone)


# --- shops ---------------------------------------------------------------------------------------------


def auto_reply_setup_for_shop(shop: Merchant, *, is_demo: bool = False) -> None:
    """Shop listener (merchant.shop_listeners): a new shop gets its support settings (defaults, when none)
    and its `auto_reply` rule, on: it answers only while the team is away, with what the shop wrote."""
    SupportSettings.objects.get_or_create(shop=shop)
    auto_rule_ensure(shop)


# Two languages of the demo shop's FAQ: what its auto-replies carry at night.
DEMO_FAQ = {
    "en": [
        ("Where is my parcel?", "Follow the tracking link in your shipping message; parcels arrive in 2-4 days."),
        ("How do I return an item?", "Start a return within 30 days from the link in your delivery message."),
        ("When do I get my refund?", "Within 5 business days after your return arrives."),
    ],
    "de": [
        ("Wo ist mein Paket?", "Folgen Sie dem Link zur Sendungsverfolgung; Pakete kommen in 2-4 Tagen an."),
        ("Wie sende ich etwas zurück?", "Starten Sie die Rücksendung innerhalb von 30 Tagen über den Link."),
        ("Wann bekomme ich mein Geld zurück?", "Innerhalb von 5 Werktagen nach Eingang der Rücksendung."),
    ],
}


def faq_demo_create(shop: Merchant) -> dict[str, int]:
    """Demo step (merchant.demo): FAQ entries in English and German, created once."""
    from returns.models import FaqEntry

    created = 0
    for language, entries in DEMO_FAQ.items():
        for position, (question, answer) in enumerate(entries):
            _entry, made = FaqEntry.objects.get_or_create(
                shop=shop,
                language=language,
                question=question,
                defaults={"answer": answer, "position": position},
            )
            created += made
    return {"faq_entries": created}
