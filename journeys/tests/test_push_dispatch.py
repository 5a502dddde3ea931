"""Order-care updates as browser notifications, sent for real over HTTP to a local push service.

The customer subscribes through the status page's endpoint with a browser the fake push service
made (its own P-256 key pair and auth secret). The dispatcher sends with pywebpush; the fake checks
the VAPID JWT against the key the browser subscribed with and decrypts the aes128gcm payload with
the browser's private key, so the tests read the notification the phone would show. Answers of
404/410, 429/503 and refusals are scripted to see the subscription removed, the SMS (fake Twilio) or
email sent instead, and retries.
"""

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from journeys.campaigns.models import Audience
from journeys.campaigns.services import campaign_create
from journeys.models import CareRule, ConsentRecord, Message, PushSubscription
from journeys.services.dispatch import Dispatcher, messages_for_sending
from journeys.services.rules import default_templates_create
from journeys.status.links import order_status_token, order_status_url
from journeys.status.services import order_status_visit_record
from journeys.tests.twilio_posts import NOON_IN_BERLIN
from merchant.actors import Actor
from merchant.models import Customer
from merchant.services import orders

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
UTC = dt.UTC


def drain() -> dict[str, int]:
    with Dispatcher() as dispatcher:
        return dict(dispatcher.drain().tally)


@pytest.fixture
def anna(care_shop):
    """A customer in Berlin who reads German, with a mobile number and an email address."""
    return Customer.objects.create(
        shop=care_shop,
        first_name="Anna",
        email="anna@example.de",
        phone="+4915112345678",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
    )


@pytest.fixture
def order(care_shop, anna, noon):
    return orders.order_create(
        shop=care_shop,
        number="#1001",
        currency="EUR",
        actor=SYSTEM,
        customer=anna,
        lines=[orders.LineInput(title="Wollsocken", quantity=2, unit_price=Decimal("9.95"))],
    )


def follow(client, push_service, order):
    """Anna taps "notify me about this order" on the order's status page: her browser subscribes."""
    browser = push_service.subscribe()
    token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
    response = client.post(
        reverse("order-status-push-subscribe", args=[token]),
        json.dumps(browser.subscription_json),
        content_type="application/json",
    )
    assert response.status_code == 201
    return browser


class TestSentByPush:
    def test_a_followed_orders_payment_confirmation_arrives_as_a_notification_in_her_language_instead_of_email(
        self, client, push_service, twilio, order, noon
    ):
        browser = follow(client, push_service, order)

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"sent": 1}

        [received] = push_service.received_by(browser)
        assert received.payload["title"] == "Alpha Shoes: Zahlung eingegangen"
        assert received.payload["body"] == (
            "Vielen Dank! Ihre Zahlung über 19.90 EUR für Bestellung #1001 ist da. Wir bereiten alles vor."
        )
        assert received.payload["tag"] == f"order-{order.pk}"
        # The VAPID JWT the push service verified: for its own origin, with the shop's contact.
        assert received.claims["aud"] == push_service.base_url
        assert received.claims["sub"] == "mailto:care@alpha.example"
        # The push service keeps it while it is useful: 24 hours, the rule's expiry.
        assert (received.headers["ttl"], received.headers["urgency"]) == ("86400", "normal")
        assert received.headers["content-encoding"] == "aes128gcm"
        assert mail.outbox == [], "one channel per update"
        assert twilio.count == 0

        message = Message.objects.get(trigger="payment_confirmed")
        subscription = PushSubscription.objects.get()
        assert (message.status, message.channel, message.fallback_channel) == ("sent", "push", "email")
        assert message.address == f"push #{subscription.pk} · 127.0.0.1"
        assert (message.subject, message.body) == (received.payload["title"], received.payload["body"])
        assert message.provider == "webpush"
        assert "As a browser notification in place of Email" in message.explanation
        assert subscription.last_success_at == NOON_IN_BERLIN

        # A tap opens the order's status page through a tracked link, which counts the click.
        tapped = client.get(urlsplit(received.payload["url"]).path)
        assert tapped["Location"] == order_status_url(order_id=order.pk, shop_id=order.shop_id)
        message.refresh_from_db()
        assert message.clicked_at == NOON_IN_BERLIN

    def test_the_parcel_news_of_a_followed_order_waits_for_her_morning_like_an_sms_would(
        self, client, push_service, twilio, order
    ):
        follow(client, push_service, order)
        with time_machine.travel(dt.datetime(2026, 6, 10, 20, 0, tzinfo=UTC), tick=False):  # 22:00 in Berlin
            orders.order_mark_paid(order=order, actor=SYSTEM)
            assert drain() == {"sent": 1}, "a payment confirmation may go at any hour"
            orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://dhl.example/1")
            assert drain() == {}
            shipped = Message.objects.get(trigger="shipped")
            assert shipped.send_at == dt.datetime(2026, 6, 11, 7, 0, tzinfo=UTC), "09:00 in Berlin"
            assert shipped.status == "scheduled"
        with time_machine.travel(dt.datetime(2026, 6, 11, 7, 0, 30, tzinfo=UTC), tick=False):
            assert drain() == {"sent": 1}

        titles = [received.payload["title"] for received in push_service.notifications]
        assert titles == ["Alpha Shoes: Zahlung eingegangen", "Alpha Shoes: Ihre Bestellung ist unterwegs"]
        assert twilio.count == 0
        shipped.refresh_from_db()
        assert (shipped.channel, shipped.status, shipped.sent_at) == (
            "push",
            "sent",
            dt.datetime(2026, 6, 11, 7, 0, 30, tzinfo=UTC),
        )

    def test_the_answer_to_a_worried_follower_arrives_as_a_notification_not_a_text(
        self, client, push_service, twilio, order, noon
    ):
        # Given Anna follows her paid, shipped order on its status page
        browser = follow(client, push_service, order)
        orders.order_mark_paid(order=order, actor=SYSTEM)
        orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://dhl.example/1")
        drain()

        # When she opens the page three times within a day (the anxiety signal)
        for visitor in ("a", "b", "c"):
            order_status_visit_record(order=order, visitor=visitor)
        assert drain() == {"sent": 1}

        # Then the proactive update comes where she asked for this order's news, in German
        received = push_service.received_by(browser)[-1]
        assert received.payload["title"] == "Alpha Shoes: Neuigkeiten zu Bestellung #1001"
        assert (
            received.payload["body"]
            == "Stand: Ihr Paket ist unterwegs (DHL, letzte Meldung 10. Juni). Tippen für Details."
        )
        assert twilio.count == 0
        checked = Message.objects.get(trigger="order_status_checked")
        assert (checked.channel, checked.status) == ("push", "sent")

    def test_a_rule_may_name_push_itself_and_without_a_follower_its_fallback_is_planned(
        self, client, push_service, care_shop, anna, order, noon
    ):
        rule = CareRule.objects.get(shop=care_shop, trigger="payment_confirmed")
        CareRule.objects.filter(pk=rule.pk).update(channel="push", fallback_channel="email")
        rule.refresh_from_db()
        default_templates_create(rule=rule)
        assert rule.templates.filter(channel="push").count() == 5, "the shipped copy in every language"
        unfollowed = orders.order_create(shop=care_shop, number="#1002", currency="EUR", actor=SYSTEM, customer=anna)
        follow(client, push_service, order)

        orders.order_mark_paid(order=order, actor=SYSTEM)
        orders.order_mark_paid(order=unfollowed, actor=SYSTEM)

        planned = {m.order_id: m for m in Message.objects.filter(trigger="payment_confirmed")}
        assert (planned[order.pk].channel, planned[order.pk].fallback_channel) == ("push", "email")
        assert (planned[unfollowed.pk].channel, planned[unfollowed.pk].fallback_channel) == ("email", "")
        assert "no browser asked for notifications about this order" in planned[unfollowed.pk].explanation
        assert drain() == {"sent": 2}
        assert len(push_service.notifications) == 1
        assert [email.to for email in mail.outbox] == [["anna@example.de"]]


class TestWhenPushCannotDeliver:
    @pytest.mark.parametrize("status", [404, 410])
    def test_a_gone_subscription_is_removed_and_the_parcel_news_goes_by_sms_instead(
        self, client, push_service, twilio, order, anna, status, noon
    ):
        browser = follow(client, push_service, order)
        orders.order_mark_paid(order=order, actor=SYSTEM)
        drain()
        push_service.fail_next.append((status, {}))  # the browser dropped the subscription meanwhile

        orders.order_mark_shipped(order=order, actor=SYSTEM, carrier="DHL", tracking_url="https://dhl.example/1")
        assert drain() == {"fallback": 1, "sent": 1}

        [sms] = twilio.messages
        assert sms["to"] == "+4915112345678"
        assert "#1001" in sms["body"]
        assert "DHL" in sms["body"]
        shipped = Message.objects.get(trigger="shipped")
        assert (shipped.status, shipped.channel, shipped.fallback_channel) == ("sent", "sms", "")
        assert f"not delivered ({status})" in shipped.explanation
        assert "SMS instead" in shipped.explanation
        subscription = PushSubscription.objects.get(endpoint=browser.endpoint)
        assert (subscription.removed_at, subscription.removed_reason) == (NOON_IN_BERLIN, "expired")
        gone = ConsentRecord.objects.get(channel="push", action="opted_out")
        assert (gone.source, gone.message) == ("push_service", shipped)
        anna.refresh_from_db()
        assert (anna.phone_problem, anna.sms_opted_out_at) == ("", None), "push's answer says nothing of her phone"
        assert len(push_service.received_by(browser)) == 1, "only the payment confirmation arrived"

    def test_a_gone_subscription_of_an_email_rule_falls_back_to_the_email(self, client, push_service, twilio, order):
        follow(client, push_service, order)
        push_service.fail_next.append((410, {}))

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"fallback": 1, "sent": 1}

        assert [email.to for email in mail.outbox] == [["anna@example.de"]]
        assert "#1001" in mail.outbox[0].subject
        assert twilio.count == 0

    def test_a_refusal_for_good_falls_back_but_keeps_the_subscription(self, client, push_service, order, noon):
        follow(client, push_service, order)
        push_service.fail_next.append((400, {}))

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"fallback": 1, "sent": 1}

        assert len(mail.outbox) == 1
        assert PushSubscription.objects.get().removed_at is None

    @pytest.mark.parametrize(("status", "headers"), [(429, {"Retry-After": "600"}), (503, {"Retry-After": "600"})])
    def test_a_busy_push_service_is_asked_again_after_its_retry_after_and_then_delivers(
        self, client, push_service, twilio, order, status, headers
    ):
        follow(client, push_service, order)
        push_service.fail_next.append((status, headers))

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"retried": 1}
        message = Message.objects.get(trigger="payment_confirmed")
        assert (message.status, message.channel, message.error_code) == ("scheduled", "push", str(status))
        assert message.send_at >= NOON_IN_BERLIN + dt.timedelta(seconds=600)

        with time_machine.travel(NOON_IN_BERLIN + dt.timedelta(minutes=11), tick=False):
            assert drain() == {"sent": 1}
        assert len(push_service.notifications) == 1
        assert mail.outbox == []
        assert twilio.count == 0
        message.refresh_from_db()
        assert (message.status, message.channel, message.attempts) == ("sent", "push", 2)

    def test_a_push_service_that_keeps_failing_until_the_attempts_run_out_hands_over_to_the_email(
        self, client, push_service, order
    ):
        follow(client, push_service, order)
        orders.order_mark_paid(order=order, actor=SYSTEM)
        Message.objects.filter(trigger="payment_confirmed").update(max_attempts=1)
        push_service.fail_next.append((503, {}))

        assert drain() == {"fallback": 1, "sent": 1}
        assert len(mail.outbox) == 1
        assert PushSubscription.objects.get().removed_at is None

    def test_after_she_turns_notifications_off_the_updates_go_by_the_rules_channel_again(
        self, client, push_service, twilio, order
    ):
        browser = follow(client, push_service, order)
        token = order_status_token(order_id=order.pk, shop_id=order.shop_id)
        client.post(
            reverse("order-status-push-unsubscribe", args=[token]),
            json.dumps({"endpoint": browser.endpoint}),
            content_type="application/json",
        )

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"sent": 1}

        assert len(mail.outbox) == 1
        assert push_service.requests == 0

    def test_a_marketing_message_never_goes_by_push(self, client, push_service, twilio, care_shop, anna, order):
        follow(client, push_service, order)
        CareRule.objects.filter(shop=care_shop, trigger="payment_confirmed").update(
            message_class="marketing", send_any_hour=False
        )
        Customer.objects.filter(pk=anna.pk).update(email_marketing_consent_at=NOON_IN_BERLIN)

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"sent": 1}

        assert len(mail.outbox) == 1
        assert push_service.requests == 0

    def test_a_message_whose_trigger_has_no_notification_copy_keeps_its_channel(self, client, push_service, order):
        # E.g. another app's trigger (a review request): no shipped push copy, and the rule has no push template.
        follow(client, push_service, order)
        orders.order_mark_paid(order=order, actor=SYSTEM)
        Message.objects.filter(trigger="payment_confirmed").update(trigger="gift_note")

        assert drain() == {"sent": 1}
        assert push_service.requests == 0
        assert len(mail.outbox) == 1


class TestCost:
    def test_a_batch_without_followers_costs_no_query_more_and_one_with_them_one(
        self, client, push_service, care_shop, anna, order, django_assert_num_queries
    ):
        orders.order_mark_paid(order=order, actor=SYSTEM)
        ids = list(Message.objects.filter(status="scheduled").values_list("pk", flat=True))
        # Messages, shops, rules and their templates, customers, orders with their lines and parcels.
        with django_assert_num_queries(8):
            messages_for_sending(ids)

        follow(client, push_service, order)
        with django_assert_num_queries(9):  # and the followed orders' subscriptions
            [message] = messages_for_sending(ids)
        assert message.push_subscription == PushSubscription.objects.get()

    def test_in_development_the_console_provider_records_a_notification_as_sent(
        self, client, settings, push_service, order
    ):
        settings.JOURNEYS_PUSH_PROVIDER = "console"
        follow(client, push_service, order)

        orders.order_mark_paid(order=order, actor=SYSTEM)
        assert drain() == {"sent": 1}

        message = Message.objects.get(trigger="payment_confirmed")
        assert (message.channel, message.provider, message.status) == ("push", "console-push", "sent")
        assert push_service.requests == 0


def test_a_campaign_cannot_choose_push_which_reaches_only_an_orders_followers(care_shop):
    audience = Audience.objects.create(shop=care_shop, name="Everyone")

    with pytest.raises(ValidationError) as refused:
        campaign_create(shop=care_shop, name="Summer", audience=audience, actor=SYSTEM, channel="push")

    assert list(refused.value.message_dict) == ["channel"]
