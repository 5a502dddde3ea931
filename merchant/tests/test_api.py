"""The REST API v1 as a shop's own system calls it over HTTP."""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache

from merchant.models import ApiKey, Customer, InboundEvent, Order
from merchant.services.api_keys import api_key_create, api_key_revoke
from merchant.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

ORDER = {
    "number": "#1001",
    "currency": "eur",
    "placed_at": "2026-11-20T09:30:00Z",
    "customer": {
        "external_id": "c-42",
        "first_name": "Anna",
        "last_name": "Schmidt",
        "email": "Anna@Example.com",
        "phone": "0151 23456789",
        "country": "DE",
        "language": "de",
    },
    "lines": [
        {
            "external_id": "l-1",
            "product_id": "p-7",
            "title": "Trail shoes",
            "sku": "TS-42",
            "quantity": 1,
            "unit_price": "89.00",
        },
        {"external_id": "l-2", "title": "Socks", "quantity": 2, "unit_price": "5.50"},
    ],
    "shipping_total": "4.90",
}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


@pytest.fixture
def shop(db):
    return MerchantFactory(slug="alpha", country="DE", time_zone="Europe/Berlin", currency="EUR")


@pytest.fixture
def key(shop):
    return api_key_create(shop=shop, name="erp")[1]


@pytest.fixture
def api(client, key):
    class Api:
        def __init__(self, token):
            self.token = token

        def call(self, method, path, body=None, *, raw=None, content_type="application/json", **headers):
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
            if self.token:
                extra["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
            return getattr(client, method)(f"/api/v1/{path}", data=data, content_type=content_type, **extra)

        def put(self, path, body=None, **kwargs):
            return self.call("put", path, body, **kwargs)

        def post(self, path, body=None, **kwargs):
            return self.call("post", path, body, **kwargs)

        def get(self, path, **params):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
            return client.get(f"/api/v1/{path}", params, **headers)

    return Api(key)


def error_of(response) -> dict:
    return response.json()["error"]


class TestAuthentication:
    def test_no_key_is_401(self, api):
        api.token = None
        response = api.get("orders")
        assert response.status_code == 401
        assert error_of(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_an_unknown_key_is_401(self, api):
        api.token = "sk_not-a-real-key"
        response = api.get("orders")
        assert (response.status_code, error_of(response)["code"]) == (401, "bad_api_key")

    def test_a_revoked_key_is_401_at_once(self, api, shop):
        api_key_revoke(api_key=ApiKey.objects.get(shop=shop))
        assert api.get("orders").status_code == 401

    def test_a_publishable_key_cannot_read_customer_data(self, api, shop):
        api.token = api_key_create(shop=shop, name="storefront", kind="publishable")[1]
        response = api.get("customers")
        assert (response.status_code, error_of(response)["code"]) == (403, "forbidden")

    def test_the_key_records_when_it_was_last_used(self, api, shop):
        assert ApiKey.objects.get().last_used_at is None
        api.get("orders")
        assert ApiKey.objects.get().last_used_at is not None

    def test_only_a_hash_of_the_key_is_stored(self, key, shop):
        stored = ApiKey.objects.get()
        assert key not in (stored.key_hash, stored.prefix)
        assert key.startswith(stored.prefix)


class TestCustomers:
    def test_put_creates_then_updates_and_get_reads_it(self, api):
        created = api.put(
            "customers/c-1", {"first_name": "Min", "phone": "010-2345-6789", "country": "kr", "tags": ["vip"]}
        )
        assert created.status_code == 201
        body = created.json()
        assert (body["phone"], body["country"], body["time_zone"], body["tags"]) == (
            "+821023456789", "KR", "Asia/Seoul", ["vip"],
        )  # fmt: skip
        updated = api.put("customers/c-1", {"last_name": "Kim", "language": "ko"})
        assert updated.status_code == 200
        assert (updated.json()["first_name"], updated.json()["last_name"]) == ("Min", "Kim")
        assert api.get("customers/c-1").json()["language"] == "ko"

    def test_a_number_not_in_service_is_kept_and_flagged_not_rewritten(self, api):
        body = api.put("customers/c-2", {"phone": "555-555-SHIP", "country": "US"}).json()
        assert (body["phone"], body["phone_as_received"]) == ("", "555-555-SHIP")
        assert "not a number in service" in body["phone_problem"]

    @pytest.mark.parametrize(
        ("payload", "field", "message"),
        [
            ({"phone": "12", "country": "DE"}, "phone", "too short"),
            ({"email": "not-an-email"}, "email", "valid email"),
            ({"country": "XX"}, "country", "ISO 3166"),
            ({"language": "fr"}, "language", "not a valid choice"),
            ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known time zone"),
            ({"tags": "vip"}, "tags", "list"),
        ],
    )
    def test_bad_fields_are_422_with_the_field_named_and_nothing_is_saved(self, api, payload, field, message):
        response = api.put("customers/c-3", payload)
        assert response.status_code == 422
        error = error_of(response)
        assert error["code"] == "validation_failed"
        assert message in " ".join(error["fields"][field])
        assert not Customer.objects.exists()

    def test_list_filters_and_paginates(self, api):
        for number in range(3):
            api.put(f"customers/c-{number}", {"email": f"p{number}@example.com", "country": "DE" if number else "US"})
        response = api.get("customers", country="de", page_size=1)
        assert response.json()["count"] == 2
        assert len(response.json()["results"]) == 1
        assert api.get("customers", email="P0@example.com").json()["count"] == 1

    def test_list_uses_the_same_number_of_queries_for_more_rows(self, api, django_assert_num_queries):
        api.put("customers/c-0", {"email": "a@example.com", "tags": ["x"]})
        api.get("customers")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as few:
            api.get("customers")
        for number in range(1, 12):
            api.put(f"customers/c-{number}", {"email": f"a{number}@example.com", "tags": ["x", "y"]})
        with CaptureQueriesContext(connection) as many:
            assert api.get("customers").json()["count"] == 12
        assert len(few.captured_queries) == len(many.captured_queries)


class TestOrders:
    def test_put_creates_the_order_with_its_customer_and_lines(self, api):
        response = api.put("orders/o-1", ORDER)
        assert response.status_code == 201
        body = response.json()
        assert (body["number"], body["status"], body["currency"], body["total"]) == (
            "#1001",
            "pending_payment",
            "EUR",
            "104.90",
        )
        assert body["customer"]["email"] == "anna@example.com"
        assert [line["title"] for line in body["lines"]] == ["Trail shoes", "Socks"]
        assert body["timeline"][0]["type"] == "created"
        customer = Customer.objects.get()
        assert (customer.external_id, customer.phone.as_e164, customer.time_zone) == (
            "c-42",
            "+4915123456789",
            "Europe/Berlin",
        )

    def test_put_again_updates_details_never_the_status(self, api):
        api.put("orders/o-1", ORDER)
        api.post("orders/o-1/events", {"type": "paid"})
        changed = ORDER | {"lines": ORDER["lines"][:1], "shipping_total": "0.00"}
        response = api.put("orders/o-1", changed)
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["total"], len(body["lines"])) == ("paid", "89.00", 1)

    def test_the_embedded_customer_is_found_by_email_when_it_has_no_id(self, api):
        api.put("customers/c-9", {"email": "anna@example.com"})
        customer = {key: value for key, value in ORDER["customer"].items() if key != "external_id"}
        api.put("orders/o-1", ORDER | {"customer": customer})
        assert Customer.objects.count() == 1
        assert Order.objects.get().customer.external_id == "c-9"

    def test_an_older_update_is_refused_with_409_and_changes_nothing(self, api):
        api.put("orders/o-1", ORDER | {"updated_at": "2026-11-21T10:00:00Z"})
        response = api.put("orders/o-1", ORDER | {"updated_at": "2026-11-21T09:00:00Z", "number": "#OLD"})
        assert (response.status_code, error_of(response)["code"]) == (409, "stale_update")
        assert Order.objects.get().number == "#1001"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"customer": ORDER["customer"] | {"phone": "+49 1"}}, "customer.phone"),
            ({"lines": [{"title": "x", "quantity": 0, "unit_price": "1.00"}]}, "lines[0].quantity"),
            ({"lines": [{"title": "x", "quantity": 1, "unit_price": "-1"}]}, "lines[0].unit_price"),
            ({"currency": "euro"}, "currency"),
            ({"placed_at": "yesterday"}, "placed_at"),
            ({"number": None}, "number"),
        ],
    )
    def test_bad_fields_are_422_with_their_path(self, api, change, field):
        response = api.put("orders/o-1", ORDER | change)
        assert response.status_code == 422
        assert field in error_of(response)["fields"]
        assert not Order.objects.exists()

    def test_list_by_status_and_time(self, api):
        api.put("orders/o-1", ORDER)
        api.put("orders/o-2", ORDER | {"number": "#1002", "placed_at": "2026-10-01T00:00:00Z"})
        api.post("orders/o-1/events", {"type": "paid"})
        assert [o["number"] for o in api.get("orders", status="paid").json()["results"]] == ["#1001"]
        assert api.get("orders", placed_after="2026-11-01T00:00:00Z").json()["count"] == 1
        response = api.get("orders", status="lost")
        assert (response.status_code, list(error_of(response)["fields"])) == (422, ["status"])
        assert api.get("orders", placed_after="soon").status_code == 422
        # a time without zone is read as UTC
        assert api.get("orders", placed_after="2026-11-01T00:00:00").json()["count"] == 1


class TestOrderEvents:
    def test_the_lifecycle_through_events(self, api):
        api.put("orders/o-1", ORDER)
        assert api.post("orders/o-1/events", {"type": "paid"}).json()["outcome"] == "applied"
        shipped = api.post(
            "orders/o-1/events",
            {
                "type": "shipped",
                "shipment": {"carrier": "DHL", "tracking_number": "0034", "tracking_url": "https://dhl.example/0034"},
            },
        )
        assert shipped.json()["order"]["shipments"][0]["tracking_number"] == "0034"
        api.post("orders/o-1/events", {"type": "out_for_delivery"})
        delivered = api.post("orders/o-1/events", {"type": "delivered"}).json()
        assert delivered["order"]["status"] == "delivered"
        refunded = api.post("orders/o-1/events", {"type": "refunded", "amount": "10.00"}).json()
        assert (refunded["order"]["status"], refunded["order"]["refunded_total"]) == ("partially_refunded", "10.00")
        assert [entry["type"] for entry in refunded["order"]["timeline"]] == [
            "created", "paid", "shipped", "out_for_delivery", "delivered", "partially_refunded",
        ]  # fmt: skip
        assert InboundEvent.objects.filter(source="api", status="processed").count() == 5

    def test_a_repeated_or_backward_event_is_recorded_and_ignored(self, api):
        api.put("orders/o-1", ORDER)
        api.post("orders/o-1/events", {"type": "paid"})
        assert api.post("orders/o-1/events", {"type": "paid"}).json()["outcome"] == "duplicate"
        api.post("orders/o-1/events", {"type": "delivered"})
        backward = api.post("orders/o-1/events", {"type": "paid", "occurred_at": "2030-01-01T00:00:00Z"}).json()
        assert (backward["outcome"], backward["order"]["status"]) == ("not_allowed", "delivered")

    def test_a_refund_above_what_is_left_is_422_and_changes_nothing(self, api):
        api.put("orders/o-1", ORDER)
        api.post("orders/o-1/events", {"type": "paid"})
        response = api.post("orders/o-1/events", {"type": "refunded", "amount": "500.00"})
        assert (response.status_code, error_of(response)["code"]) == (422, "event_refused")
        assert "Only 104.90 EUR" in error_of(response)["message"]
        assert Order.objects.get().status == "paid"
        assert InboundEvent.objects.filter(status="failed").count() == 1  # kept: nothing is lost

    def test_an_event_for_an_unknown_order_is_404(self, api):
        response = api.post("orders/nope/events", {"type": "paid"})
        assert (response.status_code, error_of(response)["code"]) == (404, "not_found")

    def test_an_unknown_event_type_is_422(self, api):
        api.put("orders/o-1", ORDER)
        response = api.post("orders/o-1/events", {"type": "teleported"})
        assert "type" in error_of(response)["fields"]


class TestIdempotency:
    def test_the_same_key_and_body_replays_the_first_answer(self, api):
        api.put("orders/o-1", ORDER)
        first = api.post("orders/o-1/events", {"type": "refunded", "amount": "10.00"}, **{"Idempotency-Key": "r-1"})
        again = api.post("orders/o-1/events", {"type": "refunded", "amount": "10.00"}, **{"Idempotency-Key": "r-1"})
        assert again.status_code == first.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert Order.objects.get().refunded_total == Decimal("0")  # not paid, so recorded and ignored, once
        assert InboundEvent.objects.filter(source="api").count() == 1

    def test_a_double_click_refund_pays_once(self, api):
        api.put("orders/o-1", ORDER)
        api.post("orders/o-1/events", {"type": "paid"})
        for _ in range(2):
            api.post("orders/o-1/events", {"type": "refunded", "amount": "10.00"}, **{"Idempotency-Key": "r-2"})
        assert Order.objects.get().refunded_total == Decimal("10.00")

    def test_the_same_key_with_another_body_is_422(self, api):
        api.put("orders/o-1", ORDER, **{"Idempotency-Key": "k-1"})
        response = api.put("orders/o-1", ORDER | {"number": "#9"}, **{"Idempotency-Key": "k-1"})
        assert (response.status_code, error_of(response)["code"]) == (422, "idempotency_key_reused")
        assert Order.objects.get().number == "#1001"


class TestErrors:
    def test_malformed_json_is_400(self, api):
        response = api.put("customers/c-1", raw='{"first_name": ')
        assert (response.status_code, error_of(response)["code"]) == (400, "malformed_json")

    def test_a_body_that_is_not_json_is_415(self, api):
        response = api.put("customers/c-1", raw="first_name=Ann", content_type="application/x-www-form-urlencoded")
        assert (response.status_code, error_of(response)["code"]) == (415, "unsupported_media_type")

    def test_a_body_over_one_megabyte_is_413(self, api):
        response = api.put("customers/c-1", raw=json.dumps({"first_name": "x" * (1024 * 1024)}))
        assert (response.status_code, error_of(response)["code"]) == (413, "body_too_large")

    def test_a_json_list_instead_of_an_object_is_422(self, api):
        response = api.put("customers/c-1", [1, 2])
        assert response.status_code == 422

    def test_exceeding_the_keys_rate_is_429_with_retry_after(self, api, shop):
        ApiKey.objects.update(rate_limit_per_minute=2)
        statuses = [api.get("orders").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = api.get("orders")
        assert error_of(response)["code"] == "rate_limited"
        assert int(response["Retry-After"]) >= 1


class TestTenancy:
    def test_another_shops_key_never_reads_or_writes_this_shops_data(self, api, client):
        api.put("orders/o-1", ORDER)
        api.put("customers/c-1", {"email": "a@example.com"})
        other = MerchantFactory(slug="beta")
        api.token = api_key_create(shop=other, name="other")[1]
        assert api.get("orders/o-1").status_code == 404
        assert api.get("customers/c-1").status_code == 404
        assert api.post("orders/o-1/events", {"type": "paid"}).status_code == 404
        assert api.get("orders").json()["count"] == 0
        # the same external id in another shop is another order
        assert api.put("orders/o-1", ORDER).status_code == 201
        assert Order.objects.filter(external_id="o-1").count() == 2
        assert Order.objects.get(shop__slug="alpha", external_id="o-1").status == "pending_payment"


class TestDocumentation:
    def test_the_openapi_schema_lists_every_endpoint_with_errors(self, client):
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        schema = json.loads(response.content)
        assert set(schema["paths"]) == {
            "/api/v1/customers", "/api/v1/customers/{external_id}", "/api/v1/orders",
            "/api/v1/orders/{external_id}", "/api/v1/orders/{external_id}/events", "/api/v1/messages",
            "/api/v1/products/{external_id}/reviews", "/api/v1/products/{external_id}/reviews/jsonld",
            "/api/v1/orders/{external_id}/refunds", "/api/v1/refunds/{refund_id}",
            "/api/v1/refunds/{refund_id}/process", "/api/v1/refunds/{refund_id}/cancel",
            "/api/v1/disputes", "/api/v1/disputes/{dispute_id}",
        }  # fmt: skip
        upsert = schema["paths"]["/api/v1/orders/{external_id}"]["put"]
        assert {"201", "401", "404", "413", "415", "422", "429"} <= set(upsert["responses"])
        assert upsert["requestBody"]["content"]["application/json"]["examples"]
        assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"

    def test_the_interactive_docs_load_without_the_internet(self, client):
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert "drf_spectacular_sidecar" in response.content.decode()
