"""Shopify and WooCommerce deliveries as the platforms send them: real payloads, signed the way
each platform signs, including duplicates, late and out-of-order deliveries and bad input."""

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from merchant.models import Customer, InboundEvent, Order, OrderEvent
from merchant.services.inbound import inbound_event_reprocess, inbound_events_drain
from merchant.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"
SECRET = "shpss_test_secret_of_alpha_0123456789"


def fixture(name: str) -> dict:
    data = json.loads((FIXTURES / name).read_text())
    return next(iter(data.values())) if name.startswith("shopify/") else data


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shop(db):
    return MerchantFactory(slug="alpha", webhook_secret=SECRET, shopify_webhook_secret="")


def shopify_post(client, body, *, topic: str, webhook_id: str, event_id: str = "", secret: str = SECRET, shop="alpha"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(raw, secret),
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": "alpha.myshopify.com",
        "HTTP_X_SHOPIFY_API_VERSION": "2025-07",
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id,
    }
    if event_id:
        headers["HTTP_X_SHOPIFY_EVENT_ID"] = event_id
    # The answer comes once the delivery is stored; the cluster's drainer applies it right after.
    response = client.post(
        reverse("webhook-shopify", args=[shop]), data=raw, content_type="application/json", **headers
    )
    inbound_events_drain(max_seconds=0)
    return response


def woo_post(client, body, *, topic="order.updated", delivery_id="d-1", secret: str = SECRET, raw: bytes | None = None):
    raw = raw if raw is not None else json.dumps(body).encode()
    response = client.post(
        reverse("webhook-woocommerce", args=["alpha"]),
        data=raw,
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_SIGNATURE=sign(raw, secret),
        HTTP_X_WC_WEBHOOK_TOPIC=topic,
        HTTP_X_WC_WEBHOOK_SOURCE="https://shop.example/",
        HTTP_X_WC_WEBHOOK_DELIVERY_ID=delivery_id,
    )
    inbound_events_drain(max_seconds=0)
    return response


def applied(response) -> InboundEvent:
    """The stored event behind a webhook answer, as the cluster left it."""
    assert response.status_code == 200, response.content
    return InboundEvent.objects.get(pk=response.json()["event"])


def paid_order(**changes) -> dict:
    order = fixture("shopify/rest_order.json")
    order.update({"financial_status": "paid", "processed_at": "2008-01-10T11:00:00-05:00", **changes})
    return order


def test_known_answer_vector_of_the_signature():
    # The vector from the platform notes: secret "hush", body {"id":820982911946154508,"name":"#9999"}
    body = b'{"id":820982911946154508,"name":"#9999"}'
    assert sign(body, "hush") == "YBwnJ9vsibq7srObgXybmGHWuwos+jDEL//7749XS78="


class TestShopifyOrders:
    def test_the_real_order_payload_creates_the_order_customer_and_timeline(self, client, shop):
        response = shopify_post(client, fixture("shopify/rest_order.json"), topic="orders/create", webhook_id="w-1")
        assert response.json()["status"] == "received"  # answered once stored
        assert applied(response).status == "processed"
        order = Order.objects.get(shop=shop)
        assert (order.external_id, order.number, order.total, order.currency) == (
            "450789469", "#1001", Decimal("409.94"), "USD",
        )  # fmt: skip
        assert order.status == "pending_payment"  # financial_status "authorized" is not paid
        assert order.lines.count() == 3
        assert order.source_platform == "shopify"
        customer = order.customer
        assert (customer.external_id, customer.email, customer.first_name) == (
            "207119551",
            "bob.norman@hostmail.com",
            "Bob",
        )
        # the shipping phone 555-625-1199 is not a number in service: kept as received, flagged, never rewritten
        assert customer.phone == ""
        assert customer.phone_as_received == "555-625-1199"
        assert "not a number in service" in customer.phone_problem
        event = InboundEvent.objects.get()
        assert (event.source, event.topic, event.status, event.order) == (
            "shopify",
            "orders/create",
            "processed",
            order,
        )
        assert event.headers["X-Shopify-Webhook-Id"] == "w-1"
        assert json.loads(event.body)["id"] == 450789469

    def test_a_paid_order_moves_to_paid_and_names_the_webhook_on_the_timeline(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        order = Order.objects.get()
        assert order.status == "paid"
        paid = order.events.get(type="paid")
        assert (paid.actor_kind, paid.actor_label, paid.outcome) == ("webhook", "shopify orders/paid", "applied")

    def test_the_same_delivery_twice_is_applied_once(self, client, shop):
        first = shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        second = shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        assert (applied(first).status, second.json()["status"]) == ("processed", "duplicate")
        assert Order.objects.count() == 1
        assert OrderEvent.objects.filter(type="paid").count() == 1
        duplicate = InboundEvent.objects.get(status="duplicate")
        assert duplicate.duplicate_of == InboundEvent.objects.get(status="processed")

    def test_the_same_event_id_under_a_new_webhook_id_is_a_duplicate(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1", event_id="e-9")
        again = shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-2", event_id="e-9")
        assert again.json()["status"] == "duplicate"
        assert OrderEvent.objects.filter(type="paid").count() == 1

    def test_an_older_update_after_a_newer_one_changes_nothing(self, client, shop):
        newer = paid_order(updated_at="2008-01-12T10:00:00-05:00", email="new@example.com")
        older = fixture("shopify/rest_order.json") | {
            "updated_at": "2008-01-11T10:00:00-05:00",
            "financial_status": "voided",
        }
        shopify_post(client, newer, topic="orders/updated", webhook_id="w-2")
        event = applied(shopify_post(client, older, topic="orders/updated", webhook_id="w-1"))
        assert event.status == "ignored"
        assert "Older than the last update" in event.error
        order = Order.objects.get()
        assert order.status == "paid"
        assert order.platform_updated_at.isoformat() == "2008-01-12T15:00:00+00:00"

    def test_repeated_updates_of_the_same_state_do_not_grow_the_timeline(self, client, shop):
        for number in range(3):
            shopify_post(client, paid_order(), topic="orders/updated", webhook_id=f"w-{number}")
        order = Order.objects.get()
        assert list(order.events.values_list("type", flat=True)) == ["created", "paid"]

    def test_cancelled_order(self, client, shop):
        at = "2008-01-10T12:00:00-05:00"
        cancelled = fixture("shopify/rest_order.json") | {
            "cancelled_at": at,
            "cancel_reason": "customer",
            "updated_at": at,
        }
        shopify_post(client, cancelled, topic="orders/cancelled", webhook_id="w-1")
        order = Order.objects.get()
        assert order.status == "cancelled"
        assert order.events.get(type="cancelled").details == {"reason": "customer"}

    def test_a_guest_order_without_customer_object_still_finds_its_person(self, client, shop):
        guest = fixture("shopify/rest_order.json")
        del guest["customer"]
        shopify_post(client, guest, topic="orders/create", webhook_id="w-1")
        order = Order.objects.get()
        assert order.customer.email == "bob.norman@hostmail.com"
        assert order.customer.external_id is None


class TestShopifyFulfillmentsRefundsDisputes:
    def test_a_fulfillment_of_one_line_of_three_is_a_partial_shipment(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        response = shopify_post(
            client, fixture("shopify/rest_fulfillment.json"), topic="fulfillments/create", webhook_id="w-2"
        )
        assert applied(response).status == "processed"
        order = Order.objects.get()
        assert order.status == "partially_shipped"
        shipment = order.shipments.get()
        assert (shipment.tracking_number, shipment.external_id) == ("1Z2345", "255858046")

    def test_carrier_updates_move_the_parcel_and_deliver_the_order(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        fulfillment = fixture("shopify/rest_fulfillment.json")
        fulfillment["line_items"] = [{"id": line["id"], "quantity": 1} for line in paid_order()["line_items"]]
        shopify_post(client, fulfillment, topic="fulfillments/create", webhook_id="w-2")
        out = fulfillment | {"shipment_status": "out_for_delivery", "updated_at": "2014-01-01T10:00:00-05:00"}
        shopify_post(client, out, topic="fulfillments/update", webhook_id="w-3")
        delivered = fulfillment | {"shipment_status": "delivered", "updated_at": "2014-01-01T15:00:00-05:00"}
        shopify_post(client, delivered, topic="fulfillments/update", webhook_id="w-4")
        order = Order.objects.get()
        assert order.status == "delivered"
        assert list(order.events.values_list("type", flat=True)) == [
            "created", "paid", "shipped", "out_for_delivery", "delivered",
        ]  # fmt: skip

    def test_delivered_before_paid_delivers_and_the_late_payment_is_recorded_not_applied(self, client, shop):
        shopify_post(client, fixture("shopify/rest_order.json"), topic="orders/create", webhook_id="w-1")
        fulfillment = fixture("shopify/rest_fulfillment.json") | {
            "shipment_status": "delivered", "line_items": [{"id": 466157049}, {"id": 518995019}, {"id": 703073504}],
            "created_at": "2008-01-11T10:00:00-05:00", "updated_at": "2008-01-13T10:00:00-05:00",
        }  # fmt: skip
        shopify_post(client, fulfillment, topic="fulfillments/update", webhook_id="w-2")
        late = paid_order(updated_at="2008-01-10T11:30:00-05:00")
        shopify_post(client, late, topic="orders/paid", webhook_id="w-3")
        order = Order.objects.get()
        assert order.status == "delivered"
        paid = order.events.get(type="paid")
        assert paid.outcome in ("stale", "not_allowed")

    def test_a_fulfillment_for_an_unknown_order_fails_and_can_be_reprocessed_once_the_order_exists(self, client, shop):
        response = shopify_post(
            client, fixture("shopify/rest_fulfillment.json"), topic="fulfillments/create", webhook_id="w-1"
        )
        assert response.status_code == 200  # answered, so Shopify does not retry for hours
        event = InboundEvent.objects.get()
        assert event.status == "failed"
        assert "Order 450789469 is not known yet" in event.error
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-2")
        event = inbound_event_reprocess(event=event)
        assert event.status == "processed"
        assert Order.objects.get().shipments.count() == 1

    def test_a_refund_is_recorded_once(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        refund = fixture("shopify/rest_refund.json")
        shopify_post(client, refund, topic="refunds/create", webhook_id="w-2")
        shopify_post(client, refund, topic="refunds/create", webhook_id="w-3")  # a new delivery of the same refund
        order = Order.objects.get()
        assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("209.00"))
        assert order.events.filter(type="partially_refunded").count() == 1

    def test_a_dispute_is_kept_and_noted_on_its_order(self, client, shop):
        shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1")
        dispute = fixture("shopify/rest_dispute.json") | {"order_id": 450789469}
        response = shopify_post(client, dispute, topic="disputes/create", webhook_id="w-2")
        assert applied(response).status == "processed"
        note = Order.objects.get().events.get(type="note")
        assert note.details["text"].startswith("Payment dispute: chargeback, fraudulent")

    def test_a_dispute_without_order_is_stored(self, client, shop):
        response = shopify_post(client, fixture("shopify/rest_dispute.json"), topic="disputes/create", webhook_id="w-1")
        assert applied(response).status == "processed"
        assert InboundEvent.objects.get().result["reason"] == "fraudulent"


class TestShopifyBadInput:
    def test_a_wrong_signature_is_401_and_nothing_is_stored(self, client, shop):
        response = shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1", secret="not-the-secret")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "bad_signature"
        assert not InboundEvent.objects.exists()
        assert not Order.objects.exists()

    def test_a_missing_signature_is_401(self, client, shop):
        response = client.post(reverse("webhook-shopify", args=["alpha"]), data=b"{}", content_type="application/json")
        assert response.status_code == 401

    def test_a_reserialised_body_no_longer_matches_its_signature(self, client, shop):
        raw = json.dumps(paid_order()).encode()
        reserialised = json.dumps(json.loads(raw), indent=2).encode()
        response = client.post(
            reverse("webhook-shopify", args=["alpha"]),
            data=reserialised,
            content_type="application/json",
            HTTP_X_SHOPIFY_HMAC_SHA256=sign(raw),
            HTTP_X_SHOPIFY_TOPIC="orders/paid",
        )
        assert response.status_code == 401

    def test_the_shopify_app_secret_is_accepted_when_set(self, client, shop):
        shop.shopify_webhook_secret = "shopify-app-client-secret-0123"
        shop.save()
        response = shopify_post(
            client, paid_order(), topic="orders/paid", webhook_id="w-1", secret="shopify-app-client-secret-0123"
        )
        assert response.status_code == 200

    def test_an_unknown_shop_is_404(self, client, shop):
        response = shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1", shop="nobody")
        assert response.status_code == 404

    def test_an_unknown_topic_is_stored_and_ignored(self, client, shop):
        response = shopify_post(client, {"id": 1}, topic="products/create", webhook_id="w-1")
        assert response.status_code == 200
        event = InboundEvent.objects.get()
        assert (event.status, event.topic) == ("ignored", "products/create")

    def test_a_signed_body_that_is_not_an_order_fails_visibly_and_changes_nothing(self, client, shop):
        response = shopify_post(client, b"[1, 2, 3]", topic="orders/create", webhook_id="w-1")
        assert response.status_code == 200
        event = InboundEvent.objects.get()
        assert event.status == "failed"
        assert event.error
        assert not Order.objects.exists()

    def test_a_signed_body_that_is_not_json_is_stored_and_fails(self, client, shop):
        response = shopify_post(client, b"\xff\xfe not json", topic="orders/create", webhook_id="w-1")
        assert response.status_code == 200
        assert InboundEvent.objects.get().error.startswith("body: not JSON")

    def test_a_body_over_one_megabyte_is_413(self, client, shop):
        raw = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
        response = shopify_post(client, raw, topic="orders/create", webhook_id="w-1")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "body_too_large"
        assert not InboundEvent.objects.exists()

    def test_a_get_is_not_allowed(self, client, shop):
        assert client.get(reverse("webhook-shopify", args=["alpha"])).status_code == 405


class TestWooCommerce:
    def test_the_real_order_payload_creates_a_paid_order(self, client, shop):
        response = woo_post(client, fixture("woocommerce/order_v3_retrieve.json"), topic="order.created")
        assert applied(response).status == "processed"
        order = Order.objects.get()
        assert (order.external_id, order.status, order.total, order.source_platform) == (
            "727", "paid", Decimal("29.35"), "woocommerce",
        )  # fmt: skip
        assert order.lines.count() == 2
        assert "–" in order.lines.order_by("id").last().title  # &ndash; unescaped
        customer = Customer.objects.get()
        assert (customer.email, customer.phone, customer.phone_as_received) == (
            "john.doe@example.com", "", "(555) 555-5555",
        )  # fmt: skip

    def test_the_ping_is_answered_200_and_stores_nothing(self, client, shop):
        response = client.post(
            reverse("webhook-woocommerce", args=["alpha"]),
            data="webhook_id=15",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert not InboundEvent.objects.exists()

    def test_a_wrong_signature_is_401(self, client, shop):
        response = woo_post(client, fixture("woocommerce/order_v3_retrieve.json"), secret="wrong-secret-000000")
        assert response.status_code == 401
        assert not InboundEvent.objects.exists()

    def test_a_secret_typed_with_an_html_entity_still_verifies(self, client, shop):
        # WooCommerce stores "a&b" as "a&amp;b" and signs with the decoded form
        shop.webhook_secret = "shared&amp;secret-0123456789"
        shop.save()
        response = woo_post(client, fixture("woocommerce/order_v3_retrieve.json"), secret="shared&secret-0123456789")
        assert response.status_code == 200

    def test_the_same_order_state_under_a_new_delivery_id_is_a_duplicate(self, client, shop):
        body = fixture("woocommerce/order_v3_retrieve.json")
        woo_post(client, body, delivery_id="d-1")
        again = woo_post(client, body, delivery_id="d-2")
        assert again.json()["status"] == "duplicate"
        assert OrderEvent.objects.filter(type="paid").count() == 1

    @pytest.mark.parametrize(
        ("woo_status", "expected"),
        [
            ("pending", "pending_payment"),
            ("on-hold", "pending_payment"),
            ("failed", "pending_payment"),
            ("processing", "paid"),
            ("completed", "shipped"),
            ("cancelled", "cancelled"),
            ("refunded", "refunded"),
        ],
    )
    def test_status_mapping(self, client, shop, woo_status, expected):
        body = fixture("woocommerce/order_v3_retrieve.json") | {"status": woo_status}
        if woo_status in ("pending", "on-hold", "failed", "cancelled"):
            body["date_paid_gmt"] = None
            body["date_paid"] = None
        if woo_status == "completed":
            body["date_completed_gmt"] = "2017-03-23T10:00:00"
        woo_post(client, body)
        assert Order.objects.get().status == expected

    def test_statuses_moving_forward_across_deliveries(self, client, shop):
        body = fixture("woocommerce/order_v3_retrieve.json")
        woo_post(client, body | {"status": "pending", "date_paid_gmt": None}, delivery_id="d-1")
        woo_post(client, body | {"date_modified_gmt": "2017-03-22T20:00:00"}, delivery_id="d-2")
        completed = body | {"status": "completed", "date_modified_gmt": "2017-03-24T09:00:00",
                            "date_completed_gmt": "2017-03-24T09:00:00"}  # fmt: skip
        woo_post(client, completed, delivery_id="d-3")
        refunded = completed | {"status": "refunded", "date_modified_gmt": "2017-03-30T09:00:00",
                                "refunds": [{"id": 730, "reason": "damaged", "total": "-29.35"}]}  # fmt: skip
        woo_post(client, refunded, delivery_id="d-4")
        order = Order.objects.get()
        assert (order.status, order.refunded_total) == ("refunded", Decimal("29.35"))
        assert list(order.events.values_list("type", flat=True)) == ["created", "paid", "shipped", "refunded"]

    def test_a_refund_inside_an_update_is_a_partial_refund(self, client, shop):
        body = copy.deepcopy(fixture("woocommerce/order_v3_retrieve.json"))
        woo_post(client, body, delivery_id="d-1")
        body |= {"date_modified_gmt": "2017-03-25T09:00:00", "refunds": [{"id": 731, "reason": "", "total": "-10.00"}]}
        woo_post(client, body, delivery_id="d-2")
        order = Order.objects.get()
        assert (order.status, order.refunded_total) == ("partially_refunded", Decimal("10.00"))


class TestApplyingLater:
    def test_the_answer_comes_before_the_work_and_the_drainer_applies_what_waits(self, client, shop):
        raw = json.dumps(paid_order()).encode()
        response = client.post(
            reverse("webhook-shopify", args=["alpha"]),
            data=raw,
            content_type="application/json",
            HTTP_X_SHOPIFY_HMAC_SHA256=sign(raw),
            HTTP_X_SHOPIFY_TOPIC="orders/paid",
            HTTP_X_SHOPIFY_WEBHOOK_ID="w-1",
        )
        assert response.json()["status"] == "received"
        assert not Order.objects.exists()  # stored, not applied yet
        assert inbound_events_drain(max_seconds=0) == 1
        assert InboundEvent.objects.get().status == "processed"
        assert Order.objects.get().status == "paid"
        assert inbound_events_drain(max_seconds=0) == 0

    def test_applying_the_same_event_twice_applies_it_once(self, client, shop):
        from merchant.services.inbound import inbound_event_process

        event = applied(shopify_post(client, paid_order(), topic="orders/paid", webhook_id="w-1"))
        inbound_event_process(event=event)
        assert OrderEvent.objects.filter(type="paid").count() == 1
        assert InboundEvent.objects.get().attempts == 1

    def test_the_cluster_runs_the_drainer_on_a_schedule(self):
        from merchant.tasks import SCHEDULES

        drain = next(spec for spec in SCHEDULES if spec.func == "merchant.tasks.inbound_events_drain_task")
        assert (drain.schedule_type, drain.minutes) == ("I", 1)
