"""Unsubscribe links: signed tokens naming one sent message, the email headers that carry them, the opt-out.

The token is `django.core.signing` over the message id with its own salt: nobody can make one
for another message, and it names nothing but that id. The message gives the customer, the shop
and the channel, so an opt-out through it touches exactly that one customer.
"""

import datetime as dt
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse

from journeys.context import LinkSpec
from journeys.models import Channel, ConsentRecord, Message
from journeys.services.consent import consent_record

SALT = "journeys.unsubscribe"
# Laws ask for an unsubscribe link that works at least 30 days; people find old emails later.
LINK_MAX_AGE = dt.timedelta(days=365)
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"  # RFC 8058


def unsubscribe_token(*, message_id: int) -> str:
    return signing.dumps(message_id, salt=SALT)


def unsubscribe_url(*, message_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("unsubscribe", args=[unsubscribe_token(message_id=message_id)])


def unsubscribe_headers(*, message_id: int) -> dict[str, str]:
    """`List-Unsubscribe` (RFC 2369) with the one-click page, plus a mailbox when one is configured,
    and `List-Unsubscribe-Post` (RFC 8058) so mail clients may unsubscribe with one POST."""
    token = unsubscribe_token(message_id=message_id)
    targets = [f"<{settings.PUBLIC_BASE_URL}{reverse('unsubscribe', args=[token])}>"]
    mailbox = getattr(settings, "JOURNEYS_UNSUBSCRIBE_MAILTO", "")
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject={quote('unsubscribe ' + token)}>")
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": ONE_CLICK_BODY}


def unsubscribe_message_get(*, token: str) -> Message | None:
    """The message a valid, unexpired token names (with its customer and shop), else None."""
    try:
        message_id = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(message_id, int):
        return None
    messages = Message.objects.select_related("customer", "shop")
    return messages.filter(pk=message_id, channel=Channel.EMAIL, customer__isnull=False).first()


def unsubscribe_confirm(*, message: Message, source: str, wording: str) -> ConsentRecord:
    """Opt the message's customer out of its channel (email), keeping the words they acted on.

    Guarantees: only this customer of this shop changes; a second confirmation keeps the first
    opt-out time and adds its own evidence row (see `consent_record`).
    """
    return consent_record(
        customer=message.customer,
        channel=message.channel,
        action=ConsentRecord.Action.OPTED_OUT,
        source=source,
        wording=wording,
        actor=message.address or message.customer.email,
        message=message,
    )


# `{{ links.unsubscribe }}` in templates: the same page the List-Unsubscribe header points to.
UNSUBSCRIBE_LINK = LinkSpec(
    name="unsubscribe",
    description="Page where the customer stops emails from the shop (one click, no login)",
    worst_case="https://care.example.com/u/" + "x" * 60,
    make=lambda message: unsubscribe_url(message_id=message.pk) if message.channel == Channel.EMAIL else "",
)
