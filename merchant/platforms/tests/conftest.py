"""Third-party example payloads (see shared/fixtures/external/README.md beside the repository), fresh for each test."""

import copy
import functools
import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "external"


@functools.cache
def _load(relative: str) -> dict:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def fixture_body(relative: str, root_key: str | None = None) -> dict:
    """A deep copy of a fixture file, unwrapped from its REST root key (a webhook body has none)."""
    body = copy.deepcopy(_load(relative))
    return body[root_key] if root_key else body


@pytest.fixture
def shopify_order() -> dict:
    return fixture_body("shopify/rest_order.json", "order")


@pytest.fixture
def shopify_fulfillment() -> dict:
    return fixture_body("shopify/rest_fulfillment.json", "fulfillment")


@pytest.fixture
def shopify_refund() -> dict:
    return fixture_body("shopify/rest_refund.json", "refund")


@pytest.fixture
def shopify_dispute() -> dict:
    return fixture_body("shopify/rest_dispute.json", "dispute")


@pytest.fixture
def woo_order() -> dict:
    return fixture_body("woocommerce/order_v3_retrieve.json")
