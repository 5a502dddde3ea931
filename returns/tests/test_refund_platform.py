"""A refund made here and also recorded in Shopify counts once on the order, whichever webhook comes first.

Shopify's REST fixture is used as it is (the webhook body is its inner object): order 450789469 of
409.94 USD, then refund 509562969 of 209.00 USD for two of its lines.
"""

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from journeys.models import CareRule, Message
from journeys.services.rules import care_rules_default_create
from merchant.actors import Actor
from merchant.models import InboundEvent, Order
from merchant.services.inbound import inbound_events_drain
from returns.models import Refund
from returns.selectors.refunds import refundable_get
from returns.services.refunds import RefundLineInput, refund_create, refund_process

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external" / "shopify"
SECRET = "shpss_test_secret_of_alpha_0123456789"
D = Decimal


def fixture(name: str) -> dict:
    return next(iter(json.loads((FIXTURES / name).read_text()).values()))


@pytest.fixture
def shopify_shop(shop):
    shop.webhook_secret = SECRET
    shop.shopify_webhook_secret = ""
    shop.save()
    care_rules_default_create(shop)
    CareRule.objects.filter(shop=shop, trigger="refund_processed").update(is_active=True)
    return shop


def post(client, body: dict, *, topic: str, webhook_id: str):
    raw = json.dumps(body).encode()
    response = client.post(
        reverse("webhook-shopify", args=["alpha"]),
        data=raw,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode(),
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_SHOP_DOMAIN="alpha.myshopify.com",
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
    )
    assert response.status_code == 200
    inbound_events_drain(max_seconds=0)
    event = InboundEvent.objects.order_by("-id").first()
    assert event.status in ("processed", "ignored"), event.error
    return event


def paid_order(**changes) -> dict:
    order = fixture("rest_order.json")
    order.update({"financial_status": "paid", "processed_at": "2008-01-10T11:00:00-05:00", **changes})
    return order


@pytest.fixture
def order(client, shopify_shop):
    post(client, paid_order(), topic="orders/paid", webhook_id="w-order")
    return Order.objects.get(shop=shopify_shop, external_id="450789469")


def refund_here(order, user, *, process: bool = True) -> Refund:
    refund = refund_create(
        order=order, amount="209.00", idempotency_key="admin-1", actor=Actor.staff(user), reason="Broke in transit"
    )
    if process:
        refund = refund_process(refund=refund, actor=Actor.staff(user), reference="Refunded in Shopify admin")
    return refund


def counted_once(order, *, messages: int = 1) -> None:
    order.refresh_from_db()
    assert (order.status, order.refunded_total) == ("partially_refunded", D("209.00"))
    assert order.events.filter(type="partially_refunded", outcome="applied").count() == 1
    assert Message.objects.filter(order=order, trigger="refund_processed").count() == messages


def test_a_refund_made_here_then_in_shopify_counts_once(client, order, agent):
    # Given a refund made here and paid (by hand, in Shopify's admin)
    mine = refund_here(order, agent)
    # When Shopify tells us of its refund, twice, and lists it on the order afterwards
    post(client, fixture("rest_refund.json"), topic="refunds/create", webhook_id="w-r1")
    post(client, fixture("rest_refund.json"), topic="refunds/create", webhook_id="w-r2")
    post(client, paid_order(refunds=[fixture("rest_refund.json")]), topic="orders/updated", webhook_id="w-u1")
    # Then the order counts the money once, and the refund made here is that Shopify refund
    counted_once(order)
    assert list(Refund.objects.values_list("pk", flat=True)) == [mine.pk]
    mine.refresh_from_db()
    assert (mine.status, mine.platform_refund_id) == ("succeeded", "509562969")
    assert mine.events.filter(action="reconciled").count() == 1


def test_a_shopify_refund_listed_on_the_order_before_its_own_webhook_counts_once(client, order, agent):
    mine = refund_here(order, agent)
    post(client, paid_order(refunds=[fixture("rest_refund.json")]), topic="orders/updated", webhook_id="w-u1")
    post(client, fixture("rest_refund.json"), topic="refunds/create", webhook_id="w-r1")
    counted_once(order)
    mine.refresh_from_db()
    assert mine.platform_refund_id == "509562969"


def test_shopify_confirming_a_refund_still_waiting_for_its_reference_completes_it(client, order, agent):
    # Given a refund approved here; the agent went to Shopify to make it and has not come back yet
    mine = refund_here(order, agent, process=False)
    assert mine.status == "approved"
    # When Shopify's webhook comes first
    post(client, fixture("rest_refund.json"), topic="refunds/create", webhook_id="w-r1")
    # Then that is the refund: succeeded with Shopify's id, once on the order; processing it later pays nothing
    mine.refresh_from_db()
    assert (mine.status, mine.reference) == ("succeeded", "509562969")
    assert refund_process(refund=mine, actor=Actor.staff(agent), reference="late").status == "succeeded"
    counted_once(order)
    assert Refund.objects.count() == 1


def test_a_refund_made_only_in_shopify_is_recorded_with_its_lines_and_limits_what_is_left(client, order, agent):
    post(client, fixture("rest_refund.json"), topic="refunds/create", webhook_id="w-r1")
    counted_once(order, messages=0)  # refunded in 2016: far too late to tell the customer now
    shopify_refund = Refund.objects.get()
    assert (shopify_refund.gateway, shopify_refund.idempotency_key, shopify_refund.status) == (
        "shopify",
        "shopify:509562969",
        "succeeded",
    )
    assert sorted(shopify_refund.lines.values_list("order_line__external_id", "quantity")) == [
        ("466157049", 1),
        ("703073504", 1),
    ]
    assert refundable_get(order=order).amount_left == D("200.94")
    with pytest.raises(ValidationError, match="Only 200.94 USD of order"):
        refund_create(order=order, amount="209.00", idempotency_key="k", actor=Actor.staff(agent))
    refunded_line = order.lines.get(external_id="703073504")
    with pytest.raises(ValidationError) as refused:
        refund_create(
            order=order,
            amount=None,
            lines=[RefundLineInput(order_line=refunded_line, quantity=1)],
            idempotency_key="k",
            actor=Actor.staff(agent),
        )
    assert "lines[0].quantity" in refused.value.message_dict
