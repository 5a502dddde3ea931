"""Whole order lifecycles driven through the REST API, with time travel: which messages are planned,
cancelled, deferred and sent, at which local time, and that repeated events plan nothing twice."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail

from journeys.models import Message
from journeys.services.dispatch import Dispatcher
from journeys.services.planning import time_triggers_scan

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


SEOUL_ORDER = {
    "number": "#2001",
    "currency": "KRW",
    "placed_at": "2026-03-02T14:00:00Z",
    "ship_by": "2026-03-04T00:00:00Z",
    "customer": {
        "external_id": "c-seoul",
        "first_name": "민서",
        "last_name": "최",
        "email": "minseo@example.kr",
        "phone": "010-2345-6789",
        "country": "KR",
        "language": "ko",
    },
    "lines": [{"external_id": "l-1", "title": "등산화", "quantity": 1, "unit_price": "89000"}],
}


def messages(**filters) -> dict[str, Message]:
    return {message.trigger: message for message in Message.objects.filter(**filters)}


def drain() -> dict[str, int]:
    with Dispatcher() as dispatcher:
        return dict(dispatcher.drain().tally)


def test_an_order_in_seoul_gets_exactly_the_right_messages_at_the_right_local_times(api, twilio, client):
    # Placed at 23:00 in Seoul: the unpaid reminder (placed + 60 min) would fall at midnight.
    with time_machine.travel(at("2026-03-02T14:00:00"), tick=False):
        assert api.put("orders/o-1", SEOUL_ORDER).status_code == 201
    reminder = messages()["unpaid_reminder"]
    assert (reminder.status, reminder.channel, reminder.time_zone) == ("scheduled", "sms", "Asia/Seoul")
    assert reminder.not_before == at("2026-03-02T15:00:00")
    assert reminder.send_at == at("2026-03-03T00:00:00"), "09:00 in Seoul, the next allowed minute"
    assert "placed 2 Mar 23:00 + 60 minutes" in reminder.explanation
    assert "Moved to 3 Mar 09:00 Asia/Seoul by the send window (09:00–20:00)" in reminder.explanation

    # Paid at 23:30 Seoul time: the reminder is cancelled, the confirmation goes at once by email
    # (payment confirmations may be sent at any hour).
    with time_machine.travel(at("2026-03-02T14:30:00"), tick=False):
        assert api.post("orders/o-1/events", {"type": "paid"}).json()["outcome"] == "applied"
        found = messages()
        assert found["unpaid_reminder"].status == "cancelled"
        assert found["unpaid_reminder"].reason == "order_changed"
        assert found["payment_confirmed"].send_at == at("2026-03-02T14:30:00")
        assert drain() == {"sent": 1}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["minseo@example.kr"]
    assert "#2001" in mail.outbox[0].subject
    assert messages()["payment_confirmed"].status == "sent"
    assert twilio.count == 0, "the cancelled reminder never reached the SMS provider"

    # The ship-by time passes; 12 hours of grace later the scan plans the apology (22:00 in
    # Seoul, so it waits for 09:00).
    with time_machine.travel(at("2026-03-04T12:30:00"), tick=False):
        assert time_triggers_scan() == 1
        assert time_triggers_scan() == 0, "a second scan plans nothing twice"
    apology = messages()["late_shipment"]
    assert apology.send_at == at("2026-03-05T00:00:00")
    assert "ship-by time 4 Mar 09:00 + 12 hours" in apology.explanation

    # Shipped at 05:00 in Seoul before the apology went out: the apology is cancelled and the
    # tracking message waits for 09:00. The platform delivers the same event twice.
    shipped = {
        "type": "shipped",
        "occurred_at": "2026-03-04T20:00:00Z",
        "shipment": {
            "carrier": "CJ대한통운",
            "tracking_number": "6901234567",
            "tracking_url": "https://trace.example/6901234567",
        },
    }
    with time_machine.travel(at("2026-03-04T20:00:05"), tick=False):
        assert api.post("orders/o-1/events", shipped).json()["outcome"] == "applied"
        assert api.post("orders/o-1/events", shipped).json()["outcome"] == "duplicate"
    found = messages()
    assert found["late_shipment"].status == "cancelled"
    assert Message.objects.filter(trigger="shipped").count() == 1
    assert found["shipped"].send_at == at("2026-03-05T00:00:00")

    with time_machine.travel(at("2026-03-04T23:59:00"), tick=False):
        assert drain() == {}, "nothing is due before 09:00 in Seoul"
    with time_machine.travel(at("2026-03-05T00:00:30"), tick=False):
        assert drain() == {"sent": 1}
    [sms] = twilio.messages
    assert sms["to"] == "+821023456789"
    # The text carries one short tracked link: to the order's status page, which shows the carrier's tracking link.
    [short] = re.findall(r"https?://\S+/l/[\w-]+", sms["body"])
    with time_machine.travel(at("2026-03-05T00:05:00"), tick=False):
        status_page = client.get(urlsplit(short).path)["Location"]
        assert urlsplit(status_page).path.startswith("/o/")
        assert 'href="https://trace.example/6901234567"' in client.get(urlsplit(status_page).path).content.decode()
    assert "#2001" in sms["body"]
    sent = messages()["shipped"]
    assert (sent.status, sent.address, sent.body) == ("sent", "+821023456789", sms["body"])
    assert sent.provider_message_id == sms["sid"]
    assert sent.segments >= 1

    # Delivered at 12:00 Seoul; the delivered message follows two hours later by email.
    with time_machine.travel(at("2026-03-06T03:00:00"), tick=False):
        api.post("orders/o-1/events", {"type": "delivered"})
    assert messages()["delivered"].send_at == at("2026-03-06T05:00:00")
    with time_machine.travel(at("2026-03-06T05:01:00"), tick=False):
        assert drain() == {"sent": 1}

    # A partial refund: its own message with the amount.
    with time_machine.travel(at("2026-03-09T01:00:00"), tick=False):
        api.post("orders/o-1/events", {"type": "refunded", "amount": "10000.00"})
        assert drain() == {"sent": 1}
    assert "10000.00 KRW" in mail.outbox[-1].body

    # The API lists all of it, with the reasons.
    listed = api.get("messages", order="o-1").json()["results"]
    assert {(item["trigger"], item["status"]) for item in listed} == {
        ("unpaid_reminder", "cancelled"),
        ("payment_confirmed", "sent"),
        ("late_shipment", "cancelled"),
        ("shipped", "sent"),
        ("delivered", "sent"),
        ("refund_processed", "sent"),
    }
    assert all(item["explanation"] for item in listed)


def test_cancelling_an_unpaid_order_cancels_its_reminder_before_it_is_sent(api, twilio):
    with time_machine.travel(at("2026-03-02T03:00:00"), tick=False):  # 12:00 in Seoul
        api.put("orders/o-2", {**SEOUL_ORDER, "number": "#2002", "placed_at": "2026-03-02T03:00:00Z"})
    with time_machine.travel(at("2026-03-02T03:30:00"), tick=False):
        api.post("orders/o-2/events", {"type": "cancelled", "reason": "customer asked"})
    with time_machine.travel(at("2026-03-02T05:00:00"), tick=False):
        assert drain() == {}
    assert messages()["unpaid_reminder"].status == "cancelled"
    assert twilio.count == 0


def test_an_unpaid_order_gets_its_reminder_an_hour_later(api, twilio):
    with time_machine.travel(at("2026-03-02T03:00:00"), tick=False):  # 12:00 in Seoul
        api.put("orders/o-3", {**SEOUL_ORDER, "number": "#2003", "placed_at": "2026-03-02T03:00:00Z"})
    with time_machine.travel(at("2026-03-02T03:59:00"), tick=False):
        assert drain() == {}
    with time_machine.travel(at("2026-03-02T04:00:10"), tick=False):
        assert drain() == {"sent": 1}
    assert twilio.messages[0]["to"] == "+821023456789"


def test_a_delivery_reported_after_its_message_would_have_expired_plans_nothing(api, twilio):
    with time_machine.travel(at("2026-03-02T03:00:00"), tick=False):
        api.put("orders/o-4", {**SEOUL_ORDER, "number": "#2004", "placed_at": "2026-03-02T03:00:00Z"})
        api.post("orders/o-4/events", {"type": "paid"})
        api.post("orders/o-4/events", {"type": "shipped"})
    with time_machine.travel(at("2026-03-20T03:00:00"), tick=False):
        api.post("orders/o-4/events", {"type": "delivered", "occurred_at": "2026-03-05T03:00:00Z"})
        assert drain() == {}
    assert "delivered" not in messages()
    assert messages()["shipped"].status == "cancelled", "a delivered order needs no shipping notice"


def test_a_message_pushed_past_its_useful_life_by_the_send_window_is_recorded_as_expired(api, twilio, rules):
    rules["out_for_delivery"].expire_after_hours = 2
    rules["out_for_delivery"].save()
    with time_machine.travel(at("2026-03-02T03:00:00"), tick=False):
        api.put("orders/o-5", {**SEOUL_ORDER, "number": "#2005", "placed_at": "2026-03-02T03:00:00Z"})
        api.post("orders/o-5/events", {"type": "paid"})
        api.post("orders/o-5/events", {"type": "shipped"})
    # Out for delivery at 21:00 in Seoul: the next allowed minute (09:00) is after its 2 hours.
    with time_machine.travel(at("2026-03-03T12:00:00"), tick=False):
        api.post("orders/o-5/events", {"type": "out_for_delivery"})
    message = messages()["out_for_delivery"]
    assert (message.status, message.reason) == ("expired", "expired_window")
    assert "too late" in message.explanation
