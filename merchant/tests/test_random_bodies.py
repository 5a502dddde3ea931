"""Whatever a client or a platform sends, the answer is never a server error (property-based)."""

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from merchant.models import ApiKey, InboundEvent
from merchant.services.api_keys import api_key_create
from merchant.services.inbound import inbound_events_drain
from merchant.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"
SHOPIFY_ORDER = json.loads((FIXTURES / "shopify/rest_order.json").read_text())["order"]
WOO_ORDER = json.loads((FIXTURES / "woocommerce/order_v3_retrieve.json").read_text())
RUNS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def paths_of(value, prefix=()):
    """Every path into a JSON document, to replace one part of a real payload at a time."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths_of(child, (*prefix, index))


def replaced(document, path, new_value):
    if not path:
        return new_value
    document = copy.deepcopy(document)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new_value
    return document


def mutations(document):
    paths = [path for path in paths_of(document) if path]
    return st.builds(replaced, st.just(document), st.sampled_from(paths), json_values)


@pytest.fixture
def shop(db):
    return MerchantFactory(slug="alpha", webhook_secret="fuzz-secret-0123456789")


def signed_post(client, url, raw: bytes, header: str, topic_header: str, topic: str):
    signature = base64.b64encode(hmac.new(b"fuzz-secret-0123456789", raw, hashlib.sha256).digest()).decode()
    response = client.post(url, data=raw, content_type="application/json", **{header: signature, topic_header: topic})
    inbound_events_drain(max_seconds=0)  # what the cluster's drainer does right after
    return response


@RUNS
@given(
    body=st.one_of(mutations(SHOPIFY_ORDER), json_values, st.binary(max_size=200).map(lambda raw: raw)),
    topic=st.sampled_from(
        ["orders/create", "orders/updated", "fulfillments/update", "refunds/create", "disputes/create"]
    ),
)
def test_signed_shopify_bodies_never_cause_a_server_error(client, shop, body, topic):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = signed_post(
        client, "/webhooks/shopify/alpha", raw, "HTTP_X_SHOPIFY_HMAC_SHA256", "HTTP_X_SHOPIFY_TOPIC", topic
    )
    assert response.status_code == 200
    # stored, and either applied or failed with a reason a person can read
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert event.status in ("processed", "failed", "ignored", "duplicate")
    if event.status == "failed":
        assert event.error


@RUNS
@given(body=st.one_of(mutations(WOO_ORDER), json_values))
def test_signed_woocommerce_bodies_never_cause_a_server_error(client, shop, body):
    raw = json.dumps(body).encode()
    response = signed_post(
        client,
        "/webhooks/woocommerce/alpha",
        raw,
        "HTTP_X_WC_WEBHOOK_SIGNATURE",
        "HTTP_X_WC_WEBHOOK_TOPIC",
        "order.updated",
    )
    assert response.status_code == 200
    assert InboundEvent.objects.get(pk=response.json()["event"]).status != "received"


API_ORDER = {
    "number": "#1",
    "currency": "EUR",
    "placed_at": "2026-11-20T09:30:00Z",
    "customer": {"email": "a@example.com", "phone": "+49 151 23456789", "country": "DE"},
    "lines": [{"title": "Shoes", "quantity": 1, "unit_price": "10.00"}],
}


@RUNS
@given(
    target=st.sampled_from(["customers/c-1", "orders/o-1", "orders/o-1/events"]),
    body=st.one_of(mutations(API_ORDER), json_values, st.text(max_size=50)),
)
def test_api_bodies_never_cause_a_server_error(client, shop, target, body):
    cache.clear()
    if not ApiKey.objects.exists():
        shop.raw_key = api_key_create(shop=shop, name="fuzz")[1]
    raw = body if isinstance(body, str) else json.dumps(body)
    method = client.post if target.endswith("events") else client.put
    response = method(
        f"/api/v1/{target}", data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {shop.raw_key}"
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.json()["error"]["code"]
