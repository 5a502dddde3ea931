"""The refunds API as a shop's own system uses it: keyed creates, field-named refusals, tenancy, the schema."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from merchant.services.api_keys import api_key_create
from returns.models import Refund
from returns.tests.factories import DisputeFactory, RefundFactory, delivered_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, shop):
    cache.clear()
    token = api_key_create(shop=shop, name="erp")[1]

    class Api:
        def post(self, path, body, key=None):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if key:
                headers["HTTP_IDEMPOTENCY_KEY"] = key
            return client.post(f"/api/v1/{path}", body, content_type="application/json", **headers)

        def get(self, path):
            return client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")

    return Api()


@pytest.fixture
def order(shop):
    order = delivered_order(shop=shop, external_id="o-1")
    for index, line in enumerate(order.lines.order_by("id")):
        line.external_id = f"l-{index + 1}"
        line.save()
    return order


def test_a_refund_of_one_line_is_created_and_read_back(api, order):
    response = api.post(
        "orders/o-1/refunds", {"lines": [{"line_id": "l-1", "quantity": 1}], "reason": "Too small"}, key="r-1"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["amount"], body["currency"], body["order_id"]) == ("approved", "40.00", "USD", "o-1")
    assert body["lines"] == [{"line_id": "l-1", "title": "Item 1", "quantity": 1, "amount": "40.00"}]
    assert api.get(f"refunds/{body['id']}").json() == body


def test_two_identical_posts_with_the_same_key_make_one_refund(api, order):
    first = api.post("orders/o-1/refunds", {"amount": "30.00"}, key="double")
    second = api.post("orders/o-1/refunds", {"amount": "30.00"}, key="double")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert Refund.objects.count() == 1


def test_a_refund_without_a_key_is_refused_naming_the_header(api, order):
    response = api.post("orders/o-1/refunds", {"amount": "30.00"})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Refund.objects.exists()


def test_more_than_is_left_is_refused_naming_the_field_and_the_amount_left(api, order):
    api.post("orders/o-1/refunds", {"amount": "70.00"}, key="r-1")
    response = api.post("orders/o-1/refunds", {"amount": "25.00"}, key="r-2")
    assert response.status_code == 422
    assert response.json()["error"]["fields"]["amount"] == [
        f"Only 10.00 USD of order {order.number} is left to refund (80.00 paid, 70.00 refunded, on the way or charged back), "
        "not 25.00."
    ]


def test_an_unknown_line_and_an_open_dispute_are_refused(api, order):
    response = api.post("orders/o-1/refunds", {"lines": [{"line_id": "nope", "quantity": 1}]}, key="r-1")
    assert response.json()["error"]["fields"] == {"lines[0].line_id": [f"Order {order.number} has no line “nope”."]}
    DisputeFactory(order=order, status="needs_response")
    response = api.post("orders/o-1/refunds", {"amount": "5.00"}, key="r-2")
    assert response.status_code == 422
    assert "open payment dispute" in str(response.json())


def test_processing_a_manual_refund_needs_its_reference_and_pays_once(api, order):
    refund_id = api.post("orders/o-1/refunds", {"amount": "30.00"}, key="r-1").json()["id"]
    refused = api.post(f"refunds/{refund_id}/process", {})
    assert refused.status_code == 422
    assert "reference" in refused.json()["error"]["fields"]
    done = api.post(f"refunds/{refund_id}/process", {"reference": "SEPA-1"})
    again = api.post(f"refunds/{refund_id}/process", {"reference": "SEPA-1"})
    assert (done.json()["status"], again.json()["status"]) == ("succeeded", "succeeded")
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")


def test_a_refund_is_cancelled(api, order):
    refund_id = api.post("orders/o-1/refunds", {"amount": "30.00"}, key="r-1").json()["id"]
    assert api.post(f"refunds/{refund_id}/cancel", {"reason": "Kept it"}).json()["status"] == "cancelled"


def test_another_shops_order_and_refund_are_not_found(api, order, other_shop):
    theirs = delivered_order(shop=other_shop, external_id="o-9")
    their_refund = RefundFactory(order=theirs)
    assert api.post("orders/o-9/refunds", {"amount": "5.00"}, key="r-1").status_code == 404
    assert api.get(f"refunds/{their_refund.pk}").status_code == 404
    assert api.post(f"refunds/{their_refund.pk}/process", {"reference": "x"}).status_code == 404
    assert api.get("orders/o-9/refunds").status_code == 404


def test_listing_an_orders_refunds_costs_the_same_queries_for_many(api, order, django_assert_max_num_queries):
    for index in range(5):
        RefundFactory(order=order, amount=Decimal("1.00"), status="succeeded", idempotency_key=f"k-{index}")
    with django_assert_max_num_queries(8):
        response = api.get("orders/o-1/refunds")
    assert len(response.json()) == 5


def test_the_schema_documents_the_refund_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/orders/{external_id}/refunds", "/api/v1/refunds/{refund_id}/process"):
        assert path in schema
