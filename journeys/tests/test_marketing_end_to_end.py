"""A marketing rule from order event to phone: planned with its class and reasons, kept to the
contact budget, suppressed without consent, and sent over the fake Twilio with the shop's
signature and the STOP hint in the text Twilio received."""

import datetime as dt

import pytest
import time_machine

from journeys.models import Message, MessageTemplate
from journeys.tests.twilio_posts import NOON_IN_BERLIN, SYSTEM, drain, shipped_order
from merchant.services import orders

pytestmark = pytest.mark.django_db
CONSENT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
THANKS = "Thanks {{ customer.first_name }}! Order {{ order.number }} is on its way. 10% off your next pair: SOCKS10"


@pytest.fixture
def thank_you_rule(care_shop, rules):
    """The shop turns its "shipped" text into a promotion: a marketing rule."""
    rule = rules["shipped"]
    rule.message_class, rule.fallback_channel = "marketing", ""
    rule.save()
    MessageTemplate.objects.filter(rule=rule, channel="sms", language="en").update(body=THANKS)
    return rule


def test_a_marketing_text_is_planned_budgeted_and_sent_with_signature_and_stop_hint(care_shop, thank_you_rule, twilio):
    with time_machine.travel(NOON_IN_BERLIN, tick=False) as clock:
        first = shipped_order(care_shop, number="#1", sms_marketing_consent_at=CONSENT)
        no_consent = shipped_order(care_shop, number="#9", phone="+4915199999999")

        planned = Message.objects.get(order=first, trigger="shipped")
        assert (planned.status, planned.message_class, planned.send_at) == ("scheduled", "marketing", NOON_IN_BERLIN)
        refused = Message.objects.get(order=no_consent, trigger="shipped")
        assert (refused.status, refused.reason) == ("suppressed", "no_consent")
        assert refused.explanation.endswith("Not sent: no SMS marketing consent.")

        assert drain() == {"sent": 1}
        (body,) = twilio.bodies_by_to()["+4915112345678"]
        assert body == (
            f"{care_shop.name}: Thanks Anna! Order #1 is on its way. 10% off your next pair: SOCKS10 "
            "Reply STOP to opt out"
        )
        sent = Message.objects.get(order=first, trigger="shipped")
        assert (sent.status, sent.body, sent.segments) == ("sent", body, 1)

        clock.shift(dt.timedelta(hours=1))
        second = orders.order_create(shop=care_shop, number="#2", currency="EUR", actor=SYSTEM, customer=first.customer)
        orders.order_mark_paid(order=second, actor=SYSTEM)
        orders.order_mark_shipped(order=second, actor=SYSTEM, tracking_url="https://t.example/2")
        deferred = Message.objects.get(order=second, trigger="shipped")
        assert deferred.send_at == NOON_IN_BERLIN + dt.timedelta(days=1)
        assert "Deferred to 11 Jun 12:00 Europe/Berlin by the contact budget (1/24 h, 4/30 days)." in (
            deferred.explanation
        )
        assert drain() == {}, "not due before its slot"

        clock.move_to(NOON_IN_BERLIN + dt.timedelta(days=1))
        assert drain() == {"sent": 1}
    assert len(twilio.bodies_by_to()["+4915112345678"]) == 2
    assert twilio.bodies_by_to()["+4915112345678"][1].endswith(
        "Order #2 is on its way. 10% off your next pair: SOCKS10 Reply STOP to opt out"
    )
    assert "+4915199999999" not in twilio.bodies_by_to()
