"""The status page's "notify me about this order": subscribing and unsubscribing a browser, the consent kept,
what bad input answers, the service worker, the offer's markup, and the VAPID keys behind it."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.urls import reverse

from journeys.models import ConsentRecord, PushSubscription
from journeys.push.offer import push_scope
from journeys.push.vapid import DEV_KEY_FILE, vapid_keys
from journeys.status.links import order_status_token
from journeys.testing.fake_push import FakeBrowser
from merchant.tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(shop):
    customer = CustomerFactory(shop=shop, first_name="Anna", country="DE", language="de")
    return OrderFactory(shop=shop, customer=customer, number="#1001", language="de")


@pytest.fixture
def browser_subscription(push_service) -> FakeBrowser:
    return push_service.subscribe()


def token_of(order) -> str:
    return order_status_token(order_id=order.pk, shop_id=order.shop_id)


def subscribe(client, token: str, body, content_type: str = "application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(
        reverse("order-status-push-subscribe", args=[token]),
        data,
        content_type=content_type,
        HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14; Pixel 7) Chrome/131",
    )


def unsubscribe(client, token: str, endpoint: str):
    return client.post(
        reverse("order-status-push-unsubscribe", args=[token]),
        json.dumps({"endpoint": endpoint}),
        content_type="application/json",
    )


class TestSubscribe:
    def test_a_browser_that_accepts_is_subscribed_to_the_order_with_its_consent_kept_in_the_customers_words(
        self, client, order, browser_subscription, django_assert_num_queries
    ):
        # The order with its customer and shop; savepoint, the endpoint locked, the row, the consent, release.
        with django_assert_num_queries(6):
            response = subscribe(client, token_of(order), browser_subscription.subscription_json)

        assert response.status_code == 201
        assert response.json() == {"subscribed": True, "order": "#1001"}
        row = PushSubscription.objects.get()
        assert (row.shop, row.customer, row.order) == (order.shop, order.customer, order)
        assert (row.endpoint, row.p256dh, row.auth) == (
            browser_subscription.endpoint,
            browser_subscription.p256dh,
            browser_subscription.auth,
        )
        assert (row.language, row.removed_at, row.expires_at) == ("de", None, None)
        assert "Pixel 7" in row.user_agent
        [consent] = ConsentRecord.objects.all()
        assert (consent.customer, consent.channel, consent.action, consent.source) == (
            order.customer,
            "push",
            "opted_in",
            "status_page",
        )
        # The words the German customer saw and the button she tapped, in German.
        assert "Über diese Bestellung benachrichtigen" in consent.wording
        assert "#1001" in consent.wording

    def test_posting_the_same_subscription_again_changes_nothing_and_records_no_second_consent(
        self, client, order, browser_subscription
    ):
        subscribe(client, token_of(order), browser_subscription.subscription_json)

        again = subscribe(client, token_of(order), browser_subscription.subscription_json)

        assert again.status_code == 200
        assert PushSubscription.objects.count() == 1
        assert ConsentRecord.objects.count() == 1

    def test_a_link_made_for_another_message_of_the_same_order_finds_the_same_subscription(
        self, client, order, browser_subscription
    ):
        subscribe(client, token_of(order), browser_subscription.subscription_json)
        with time_machine.travel(dt.timedelta(days=3)):
            later_token = token_of(order)
            assert subscribe(client, later_token, browser_subscription.subscription_json).status_code == 200
        assert PushSubscription.objects.count() == 1

    def test_an_endpoint_of_another_order_is_refused_with_409_and_stays_with_its_order(
        self, client, shop, order, browser_subscription
    ):
        subscribe(client, token_of(order), browser_subscription.subscription_json)
        other = OrderFactory(shop=shop, customer=order.customer, number="#1002")

        response = subscribe(client, token_of(other), browser_subscription.subscription_json)

        assert response.status_code == 409
        assert response.json()["error"]["fields"] == {"endpoint": ["This subscription belongs to another order."]}
        assert PushSubscription.objects.get().order == order

    def test_subscribing_again_after_turning_it_off_makes_it_live_and_records_consent_again(
        self, client, order, browser_subscription
    ):
        token = token_of(order)
        subscribe(client, token, browser_subscription.subscription_json)
        unsubscribe(client, token, browser_subscription.endpoint)

        response = subscribe(client, token, browser_subscription.subscription_json)

        assert response.status_code == 201
        row = PushSubscription.objects.get()
        assert (row.removed_at, row.removed_reason) == (None, "")
        assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["opted_in", "opted_out", "opted_in"]


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field", "words"),
        [
            (lambda body: body.pop("endpoint"), "endpoint", "Give the subscription's endpoint URL."),
            (lambda body: body.update(endpoint=42), "endpoint", "Give the subscription's endpoint URL."),
            (
                lambda body: body.update(endpoint="https://evil.example/collect"),
                "endpoint",
                "“evil.example” is not a push service this shop sends to.",
            ),
            (
                lambda body: body.update(endpoint="http://fcm.googleapis.com/fcm/send/x"),
                "endpoint",
                "The endpoint must be an https URL.",
            ),
            (lambda body: body.pop("keys"), "keys", "Give the keys object with p256dh and auth."),
            (
                lambda body: body["keys"].pop("p256dh"),
                "keys.p256dh",
                "Missing: give it as base64url, as the browser's subscription has it.",
            ),
            (lambda body: body["keys"].update(p256dh="BAAA"), "keys.p256dh", "Must be 65 bytes, not 3."),
            (
                lambda body: body["keys"].update(p256dh="BP" + "A" * 85),
                "keys.p256dh",
                "Not a point on the P-256 curve.",
            ),
            (lambda body: body["keys"].update(p256dh="%%%"), "keys.p256dh", "Not base64url."),
            (
                lambda body: body["keys"].pop("auth"),
                "keys.auth",
                "Missing: give it as base64url, as the browser's subscription has it.",
            ),
            (lambda body: body["keys"].update(auth="AAAA"), "keys.auth", "Must be 16 bytes, not 3."),
            (
                lambda body: body.update(expirationTime="tomorrow"),
                "expirationTime",
                "Give null or the end as milliseconds since 1970.",
            ),
            (
                lambda body: body.update(expirationTime=1_000_000_000_000),
                "expirationTime",
                "The subscription has ended already.",
            ),
        ],
    )
    def test_a_body_of_the_wrong_shape_gets_400_naming_the_field_and_nothing_is_stored(
        self, client, order, browser_subscription, change, field, words
    ):
        body = json.loads(json.dumps(browser_subscription.subscription_json))
        change(body)

        response = subscribe(client, token_of(order), body)

        assert response.status_code == 400
        assert response.json() == {"error": {"code": "validation_failed", "message": words, "fields": {field: [words]}}}
        assert not PushSubscription.objects.exists()
        assert not ConsentRecord.objects.exists()

    def test_a_body_that_is_not_json_gets_400(self, client, order, push_service):
        response = subscribe(client, token_of(order), '{"endpoint": ')

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_json"

    def test_a_json_list_gets_400(self, client, order, push_service):
        response = subscribe(client, token_of(order), "[]")

        assert response.status_code == 400
        assert response.json()["error"]["message"] == "The body must be a JSON object."

    def test_a_form_post_gets_415(self, client, order, browser_subscription):
        response = subscribe(client, token_of(order), "endpoint=x", content_type="application/x-www-form-urlencoded")

        assert response.status_code == 415
        assert not PushSubscription.objects.exists()

    def test_a_body_over_4_kb_gets_413(self, client, order, browser_subscription):
        body = {**browser_subscription.subscription_json, "padding": "x" * 5000}

        assert subscribe(client, token_of(order), body).status_code == 413

    def test_a_get_gets_405(self, client, order, push_service):
        assert client.get(reverse("order-status-push-subscribe", args=[token_of(order)])).status_code == 405

    def test_a_tampered_token_gets_404_and_nothing_is_stored(self, client, order, browser_subscription):
        token = token_of(order)
        tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

        response = subscribe(client, tampered, browser_subscription.subscription_json)

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert not PushSubscription.objects.exists()

    def test_a_token_naming_an_order_of_another_shop_gets_404(self, client, order, other_shop, browser_subscription):
        # A genuine token whose order id and shop id do not belong together (the order is another shop's).
        token = order_status_token(order_id=order.pk, shop_id=other_shop.pk)

        assert subscribe(client, token, browser_subscription.subscription_json).status_code == 404
        assert not PushSubscription.objects.exists()

    def test_an_expired_link_gets_404(self, client, order, browser_subscription):
        token = token_of(order)
        with time_machine.travel(dt.timedelta(days=181)):
            assert subscribe(client, token, browser_subscription.subscription_json).status_code == 404

    def test_an_order_without_a_customer_cannot_be_followed(self, client, shop, browser_subscription):
        guest = OrderFactory(shop=shop, customer=None)

        assert subscribe(client, token_of(guest), browser_subscription.subscription_json).status_code == 404


class TestUnsubscribe:
    def test_turning_it_off_removes_the_subscription_and_keeps_the_opt_out(self, client, order, browser_subscription):
        token = token_of(order)
        subscribe(client, token, browser_subscription.subscription_json)

        response = unsubscribe(client, token, browser_subscription.endpoint)

        assert (response.status_code, response.json()) == (200, {"subscribed": False})
        row = PushSubscription.objects.get()
        assert row.removed_at is not None
        assert row.removed_reason == "unsubscribed"
        opt_out = ConsentRecord.objects.get(action="opted_out")
        assert (opt_out.channel, opt_out.source) == ("push", "status_page")
        assert "Benachrichtigungen ausschalten" in opt_out.wording

    def test_turning_it_off_twice_records_it_once(self, client, order, browser_subscription):
        token = token_of(order)
        subscribe(client, token, browser_subscription.subscription_json)
        unsubscribe(client, token, browser_subscription.endpoint)

        assert unsubscribe(client, token, browser_subscription.endpoint).status_code == 200
        assert ConsentRecord.objects.filter(action="opted_out").count() == 1

    def test_another_orders_link_cannot_turn_off_this_orders_subscription(
        self, client, shop, order, browser_subscription
    ):
        subscribe(client, token_of(order), browser_subscription.subscription_json)
        other = OrderFactory(shop=shop, customer=order.customer)

        assert unsubscribe(client, token_of(other), browser_subscription.endpoint).status_code == 200
        assert PushSubscription.objects.get().removed_at is None

    def test_a_missing_endpoint_gets_400_naming_it(self, client, order, push_service):
        response = client.post(
            reverse("order-status-push-unsubscribe", args=[token_of(order)]), "{}", content_type="application/json"
        )

        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["endpoint"]


class TestServiceWorkerAndOffer:
    def test_the_service_worker_is_served_as_javascript_and_shows_notifications_that_open_their_page(self, client):
        response = client.get("/o/sw.js")

        assert response.status_code == 200
        assert response["Content-Type"] == "application/javascript; charset=utf-8"
        assert response["Cache-Control"] == "no-cache"
        script = response.content.decode()
        assert 'addEventListener("push"' in script
        assert "showNotification" in script
        assert "openWindow(url)" in script

    def test_the_offer_carries_the_public_key_the_orders_own_scope_and_its_endpoints(self, order, vapid):
        token = token_of(order)

        html = Template('{% include "customer/status/push_offer.html" %}').render(Context({"token": token}))

        assert f'data-key="{vapid.public_key}"' in html
        assert f'data-scope="{push_scope(order_id=order.pk, shop_id=order.shop_id)}"' in html
        assert f'data-subscribe="/o/{token}/push/subscribe"' in html
        assert 'data-worker="/o/sw.js"' in html
        assert "Notify me about this order" in html

    def test_each_order_has_a_scope_of_its_own_that_does_not_show_its_id(self, shop, order):
        other = OrderFactory(shop=shop)
        scope = push_scope(order_id=order.pk, shop_id=shop.pk)

        assert scope.startswith("/o/push/")
        assert scope != push_scope(order_id=other.pk, shop_id=shop.pk)
        assert scope == push_scope(order_id=order.pk, shop_id=shop.pk), "stable across the order's links"

    def test_in_production_without_keys_nothing_is_offered_and_subscribing_gets_404(self, client, settings, order):
        settings.DEBUG = False
        settings.VAPID_PRIVATE_KEY = ""

        html = Template('{% include "customer/status/push_offer.html" %}').render(Context({"token": token_of(order)}))
        response = subscribe(client, token_of(order), {"endpoint": "https://fcm.googleapis.com/fcm/send/x"})

        assert html.strip() == ""
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_offered"


class TestVapidKeys:
    def test_development_makes_a_key_pair_once_and_keeps_it(self, settings, tmp_path):
        settings.DEBUG = True
        settings.VAR_DIR = tmp_path
        settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = settings.VAPID_SUBJECT = ""

        first = vapid_keys()
        settings.VAR_DIR = tmp_path  # a new process reads the same file
        from journeys.push import vapid as module

        module._cache.clear()
        second = vapid_keys()

        assert (tmp_path / DEV_KEY_FILE).exists()
        assert first.public_key == second.public_key
        assert len(first.public_key) == 87, "65 bytes of an uncompressed P-256 point, base64url"
        assert first.subject == "mailto:care@localhost"

    def test_a_public_key_that_does_not_belong_to_the_private_one_stops_start_up(self, settings, vapid):
        settings.VAPID_PUBLIC_KEY = "B" + vapid.public_key[1:-1] + ("A" if vapid.public_key[-1] != "A" else "B")

        with pytest.raises(ImproperlyConfigured, match="VAPID_PUBLIC_KEY does not belong"):
            vapid_keys()

    def test_a_key_that_is_not_a_key_stops_start_up(self, settings, vapid):
        settings.VAPID_PRIVATE_KEY = "not-a-key"

        with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY"):
            vapid_keys()

    def test_a_subject_that_is_not_a_contact_stops_start_up(self, settings, vapid):
        settings.VAPID_SUBJECT = "care@alpha.example"

        with pytest.raises(ImproperlyConfigured, match="VAPID_SUBJECT"):
            vapid_keys()


class TestAdmin:
    @pytest.fixture
    def subscriptions(self, shop, other_shop, order, push_service):
        from journeys.push.services import SubscriptionInput, push_subscription_save

        made = {}
        for name, an_order in (("ours", order), ("theirs", OrderFactory(shop=other_shop, number="#9001"))):
            browser = push_service.subscribe()
            made[name] = push_subscription_save(
                order=an_order,
                subscription=SubscriptionInput(endpoint=browser.endpoint, p256dh=browser.p256dh, auth=browser.auth),
                wording="test",
            )[0]
        return made

    def test_an_agent_sees_the_browsers_following_her_shops_orders_and_never_their_keys(
        self, client, agent, subscriptions, django_assert_num_queries
    ):
        client.force_login(agent)
        # Session, user, memberships, counts, the page's rows with shop, customer and order joined, filters.
        with django_assert_num_queries(12):
            response = client.get(reverse("admin:journeys_pushsubscription_changelist"))

        page = response.content.decode()
        assert response.status_code == 200
        assert "#1001" in page
        assert "#9001" not in page, "another shop's order"
        assert subscriptions["ours"].endpoint not in page
        assert subscriptions["ours"].p256dh not in page

    def test_another_shops_subscription_answers_404_and_none_can_be_changed(self, client, agent, subscriptions):
        client.force_login(agent)
        theirs = reverse("admin:journeys_pushsubscription_change", args=[subscriptions["theirs"].pk])
        ours = reverse("admin:journeys_pushsubscription_change", args=[subscriptions["ours"].pk])

        assert client.get(theirs).status_code == 404
        assert client.get(reverse("admin:journeys_pushsubscription_add")).status_code == 403
        response = client.post(ours, {"removed_reason": "expired"})
        assert response.status_code == 403
        assert PushSubscription.objects.get(pk=subscriptions["ours"].pk).removed_at is None
