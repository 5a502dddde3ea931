"""What the customer-message tests share: a Berlin shop with FAQ entries and its own Twilio number, Anna
(who texts), and posting texts and Mailgun emails to the real webhooks, signed as the providers sign them."""

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from zoneinfo import ZoneInfo

from django.urls import reverse

from journeys.models import SmsAccount
from journeys.testing.fake_twilio import FakeTwilio
from journeys.tests.conftest import TWILIO_SID, TWILIO_TOKEN
from journeys.tests.twilio_posts import INBOUND_URL, twilio_post
from merchant.models import Customer
from returns.models import EmailInbox, FaqEntry, SupportSettings

BERLIN = ZoneInfo("Europe/Berlin")
ALPHA_NUMBER = "+15005550006"
BETA_NUMBER = "+15005550007"
ANNA = "+4915112345678"
ALPHA_KEY = "key-alpha-" + "a" * 22
BETA_KEY = "key-beta-" + "b" * 23


def twilio_faked(settings):
    """A local server speaking Twilio's wire format, with the SMS channel pointed at it (as journeys' tests do)."""
    with FakeTwilio(auth=(TWILIO_SID, TWILIO_TOKEN)) as server:
        settings.JOURNEYS_SMS_PROVIDER = "twilio"
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
        settings.TWILIO_FROM_NUMBER = ALPHA_NUMBER
        settings.TWILIO_BASE_URL = server.base_url
        yield server


def berlin(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


# Mondays to Fridays 09:00-17:00 in Berlin. 12 June 2026 is a Friday; 25 December 2026 is a Friday too.
FRIDAY_NIGHT = berlin(2026, 6, 12, 23, 0)
SATURDAY_SMALL_HOURS = berlin(2026, 6, 13, 2, 30)
WEDNESDAY_MORNING = berlin(2026, 6, 10, 10, 0)
CHRISTMAS_DAY = berlin(2026, 12, 25, 11, 0)

FAQ = {
    "en": [
        ("Where is my parcel?", "Use the tracking link in your shipping text."),
        ("How do I return an item?", "Start a return from the link in your delivery message."),
        ("When is my refund paid?", "Within 5 business days after your return arrives at our warehouse in Leipzig."),
    ],
    "de": [
        ("Wo ist mein Paket?", "Nutzen Sie den Link zur Sendungsverfolgung."),
        ("Wie sende ich etwas zurück?", "Starten Sie die Rücksendung über den Link."),
    ],
}


def berlin_shop_setup(shop, *, number: str = ALPHA_NUMBER, first_response_hours: int = 4, base_url: str = ""):
    """`shop` in Berlin with support settings, FAQ in English and German, and its own Twilio number."""
    shop.country, shop.time_zone, shop.contact_email = "DE", "Europe/Berlin", f"support@{shop.slug}.example"
    shop.save()
    SupportSettings.objects.update_or_create(shop=shop, defaults={"first_response_hours": first_response_hours})
    for language, entries in FAQ.items():
        for position, (question, answer) in enumerate(entries):
            FaqEntry.objects.create(shop=shop, language=language, question=question, answer=answer, position=position)
    SmsAccount.objects.create(
        shop=shop,
        label="Main",
        account_sid=TWILIO_SID,
        auth_token=TWILIO_TOKEN,
        from_number=number,
        base_url=base_url,
        # No pace: each test sends at the same stopped moment, and a pace slot taken by an earlier test may outlive it.
        rate_per_second=None,
    )
    return shop


def customer_in(shop, **fields) -> Customer:
    values = {"first_name": "Anna", "phone": ANNA, "country": "DE", "language": "en", "time_zone": "Europe/Berlin"}
    return Customer.objects.create(shop=shop, **{**values, **fields})


def text(client, twilio, body: str, *, from_: str = ANNA, to: str = ALPHA_NUMBER) -> str:
    """A customer texts `body`; Twilio posts it to our inbound webhook. Returns the TwiML answer."""
    response = twilio_post(client, twilio.inbound_request(INBOUND_URL, from_=from_, to=to, body=body))
    assert response.status_code == 200, response.content
    return response.content.decode()


def inbox_for(shop, *, key: str = ALPHA_KEY, address: str = "") -> EmailInbox:
    return EmailInbox.objects.create(shop=shop, signing_key=key, address=address or f"support@{shop.slug}.example")


def mailgun_fields(
    *,
    sender: str,
    recipient: str,
    subject: str = "Question",
    text: str = "Hello",
    key: str = ALPHA_KEY,
    message_id: str | None = None,
    headers: list[list[str]] | None = None,
    **extra: str,
) -> dict[str, str]:
    """A Mailgun route's post of a parsed email (forward()), signed as Mailgun signs it."""
    timestamp, token = "1781300000", secrets.token_hex(25)
    message_id = message_id or f"<{uuid.uuid4().hex}@mail.example>"
    all_headers = [["From", sender], ["To", recipient], ["Subject", subject], ["Message-Id", message_id]]
    return {
        "recipient": recipient,
        "sender": sender.split("<")[-1].rstrip(">"),
        "from": sender,
        "subject": subject,
        "body-plain": f"{text}\n\n> an earlier message quoted",
        "stripped-text": text,
        "Message-Id": message_id,
        "message-headers": json.dumps(all_headers + (headers or [])),
        "timestamp": timestamp,
        "token": token,
        "signature": hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest(),
        **extra,
    }


def email_post(client, shop, fields: dict[str, str]):
    return client.post(reverse("webhook-email-inbound", args=[shop.slug]), data=fields)
