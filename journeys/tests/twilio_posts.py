"""Posting Twilio's webhook requests (built and signed by FakeTwilio) to the app, and the orders they are about."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

from django.urls import reverse

from journeys.models import Message
from journeys.services.dispatch import Dispatcher
from journeys.testing.fake_twilio import SignedRequest
from merchant.actors import Actor
from merchant.models import Customer
from merchant.services import orders

PUBLIC = "https://care.example.com"
STATUS_URL = PUBLIC + "/webhooks/twilio/status"
INBOUND_URL = PUBLIC + "/webhooks/twilio/inbound"
NOON_IN_BERLIN = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("test")


def twilio_post(client, request: SignedRequest, *, signature: str | None = None, **extra):
    """POST the request as Twilio does: form-encoded, signed; `signature=""` leaves the header out."""
    parts = urlsplit(request.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    signature = request.signature if signature is None else signature
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(
        path,
        data=urlencode(request.params),
        content_type="application/x-www-form-urlencoded",
        **headers,
        **extra,
    )


def shipped_order(shop, *, number="#1", phone="+4915112345678", email="", **customer):
    """A paid and shipped order of a Berlin customer: its "shipped" SMS is due at once (no email to fall back to)."""
    details = {"country": "DE", "time_zone": "Europe/Berlin", **customer}
    customer = Customer.objects.create(shop=shop, first_name="Anna", phone=phone, email=email, **details)
    order = orders.order_create(
        shop=shop,
        number=number,
        currency="EUR",
        actor=SYSTEM,
        customer=customer,
        lines=[orders.LineInput(title="Wool socks", quantity=2, unit_price=Decimal("9.95"))],
    )
    orders.order_mark_paid(order=order, actor=SYSTEM)
    orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://t.example/1")
    return order


def shipped_message(order) -> Message:
    return Message.objects.get(order=order, trigger="shipped")


def drain(**kwargs) -> dict[str, int]:
    with Dispatcher(**kwargs) as dispatcher:
        return dict(dispatcher.drain().tally)


def status_path() -> str:
    return reverse("webhook-twilio-status")
