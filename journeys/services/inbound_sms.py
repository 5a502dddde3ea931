"""Texts customers send to a shop's number: keywords take effect at once, other words wait for a person.

Twilio's inbound webhook is stored as a `merchant.InboundEvent` (source "twilio", topic
"message.inbound"), one per shop the number serves, before this handler applies it:

- an opt-out keyword (STOP, 退订, СТОП, … see `journeys.sms_keywords`) opts every customer of the
  shop with that number out of SMS at once; START, UNSTOP and YES opt them back in;
- HELP and INFO are answered with the shop's contact line;
- loosely worded opt-outs ("wrong number", "不要再发") are kept for a person to decide, and
  change nothing before; any other reply is kept and shows on the customer's timeline.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from journeys import inbound_listeners
from journeys.models import Channel, ConsentRecord, InboundSms
from journeys.services.consent import consent_record
from journeys.sms_keywords import HELP_REPLY, OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION, Keyword, keyword_classify
from merchant.exceptions import InvalidTransition
from merchant.models import Customer, InboundEvent, Merchant
from merchant.phones import phone_parse
from merchant.services.inbound import Outcome, form_body, handles

Kind = InboundSms.Kind
Resolution = InboundSms.Resolution
TOPIC_INBOUND = "message.inbound"
# Advanced Opt-Out (Messaging Services) tells us Twilio classified and answered the text itself.
TWILIO_OPT_OUT_TYPES = {"STOP": Kind.OPT_OUT, "START": Kind.OPT_IN, "HELP": Kind.HELP}
# Texts a person reads: other apps hear of them (journeys.inbound_listeners). Keywords never reach them.
NEEDS_A_PERSON = frozenset({Kind.REPLY, Kind.POSSIBLE_OPT_OUT})


@dataclass(frozen=True)
class InboundReceipt:
    texts: list[InboundSms]
    kind: str
    reply: str  # what to answer in TwiML; "" when Twilio answered already or nothing is due


def phone_from_twilio(address: str) -> str:
    """E.164 of a `From`/`To` as Twilio sends it ("+4915…", "whatsapp:+4915…"); as given when unparsable."""
    text = address.split(":", 1)[1] if address.startswith(("whatsapp:", "sms:", "tel:")) else address
    try:
        parsed = phone_parse(text)
    except ValidationError:
        return text.strip()
    return parsed.as_e164 if parsed else ""


def shop_contact_line(shop: Merchant) -> str:
    parts = [shop.contact_phone.as_international if shop.contact_phone else "", shop.contact_email]
    return " · ".join(part for part in parts if part) or _("reply to this text")


def _reply(kind: str, keyword: Keyword, *, shop: Merchant, customer: Customer | None, answered: bool) -> str:
    if answered or kind not in (Kind.OPT_OUT, Kind.OPT_IN, Kind.HELP):
        return ""
    texts = {Kind.OPT_OUT: OPT_OUT_CONFIRMATION, Kind.OPT_IN: OPT_IN_CONFIRMATION, Kind.HELP: HELP_REPLY}[kind]
    languages = [keyword.language, customer.language if customer else "", shop.default_language, "en"]
    text = next(texts[language] for language in languages if language in texts)
    return text.format(shop=shop.sender_name or shop.name, contact=shop_contact_line(shop))


@transaction.atomic
def inbound_sms_record(
    *,
    shop: Merchant,
    from_number: str,
    body: str,
    to_number: str = "",
    provider_message_id: str = "",
    event: InboundEvent | None = None,
    provider_kind: str = "",
) -> InboundReceipt:
    """Keep a text a customer sent to `shop` and act on a keyword at once.

    Guarantees: every customer of `shop` with the sender's number gets one `InboundSms` (one
    without a customer when the number is unknown); an opt-out or opt-in keyword writes a
    `ConsentRecord` for each of them in the same transaction, with the words as received, so the
    dispatcher skips their next SMS; other words change no consent. `provider_kind` ("STOP",
    "START", "HELP") is the provider's own classification, which wins and means the provider
    answered the customer already. The reply is "" whenever the provider answers by itself:
    Twilio does for its standard English keywords on long codes, not on short codes.
    A reply or a possible opt-out is then passed to the registered listeners (`journeys.inbound_listeners`,
    the support queue), each in a savepoint: a listener's failure never loses the text.
    """
    keyword = keyword_classify(body)
    kind = TWILIO_OPT_OUT_TYPES.get(provider_kind.upper(), keyword.kind)
    short_code = not to_number.startswith("+")
    answered = bool(provider_kind) or (keyword.handled_by_twilio and kind != Kind.HELP and not short_code)
    phone = phone_from_twilio(from_number)
    customers = list(Customer.objects.filter(shop=shop, phone=phone).order_by("id")) if phone else []
    now = timezone.now()
    automatic = kind in (Kind.OPT_OUT, Kind.OPT_IN, Kind.HELP)
    texts = InboundSms.objects.bulk_create(
        [
            InboundSms(
                shop=shop,
                customer=customer,
                event=event,
                provider_message_id=provider_message_id[:64],
                from_number=phone or from_number[:40],
                to_number=to_number[:40],
                body=body,
                kind=kind,
                received_at=event.received_at if event else now,
                handled_at=now if automatic else None,
                resolution=Resolution.AUTOMATIC if automatic else "",
            )
            for customer in customers or [None]
        ]
    )
    action = {Kind.OPT_OUT: ConsentRecord.Action.OPTED_OUT, Kind.OPT_IN: ConsentRecord.Action.OPTED_IN}.get(kind)
    if action:
        for customer in customers:
            consent_record(
                customer=customer,
                channel=Channel.SMS,
                action=action,
                source="sms_keyword",
                wording=body,
                actor=f"SMS from {phone}",
            )
    if kind in NEEDS_A_PERSON:
        inbound_listeners.listeners_notify(texts)
    reply = _reply(kind, keyword, shop=shop, customer=customers[0] if customers else None, answered=answered)
    return InboundReceipt(texts=texts, kind=kind, reply=reply)


@handles("twilio", TOPIC_INBOUND, parse=form_body)
def twilio_inbound_apply(event: InboundEvent, params: dict[str, str]) -> Outcome:
    """A text Twilio passed on to our inbound webhook."""
    receipt = inbound_sms_record(
        shop=event.shop,
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        body=params.get("Body", ""),
        provider_message_id=params.get("MessageSid") or params.get("SmsSid") or "",
        event=event,
        provider_kind=params.get("OptOutType", ""),
    )
    customers = [text.customer_id for text in receipt.texts if text.customer_id]
    return Outcome(order=None, result={"kind": receipt.kind, "customers": customers, "reply": receipt.reply})


# --- a person decides -----------------------------------------------------------------------------------


def _resolve(*, text: InboundSms, resolution: str, user) -> InboundSms:
    locked = InboundSms.objects.select_for_update(of=("self",)).select_related("customer").get(pk=text.pk)
    if locked.handled_at is not None or resolution not in InboundSms.RESOLUTIONS[locked.kind]:
        raise InvalidTransition(
            _("The text “%(body)s” (%(kind)s) is handled already or cannot be marked so.")
            % {"body": locked.body[:40], "kind": locked.get_kind_display().lower()}
        )
    if resolution == Resolution.OPTED_OUT and locked.customer is None:
        raise InvalidTransition(_("The text from %s matches no customer to opt out.") % locked.from_number)
    locked.handled_at, locked.handled_by, locked.resolution = timezone.now(), user, resolution
    locked.save(update_fields=["handled_at", "handled_by", "resolution"])
    text.__dict__.update({name: getattr(locked, name) for name in ("handled_at", "handled_by_id", "resolution")})
    return locked


@transaction.atomic
def inbound_sms_opt_out(*, text: InboundSms, user) -> InboundSms:
    """A person read the text as "stop": the customer is opted out of SMS, with the text as evidence.

    Raises `InvalidTransition` for a text handled already, a keyword (acted on when it came) or a
    text from an unknown number; nothing changes then.
    """
    locked = _resolve(text=text, resolution=Resolution.OPTED_OUT, user=user)
    consent_record(
        customer=locked.customer,
        channel=Channel.SMS,
        action=ConsentRecord.Action.OPTED_OUT,
        source="sms_reply",
        wording=locked.body,
        actor=user.get_username(),
    )
    return locked


@transaction.atomic
def inbound_sms_not_opt_out(*, text: InboundSms, user) -> InboundSms:
    """A person read a possible opt-out and it is not one: it leaves the waiting list, consent unchanged."""
    return _resolve(text=text, resolution=Resolution.NOT_OPT_OUT, user=user)
