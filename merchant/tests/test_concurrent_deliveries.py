"""Two deliveries of one new order applied at the same moment (orders/create and orders/paid
arrive together): one creates the order, the other updates it; neither fails."""

import json
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from merchant.models import InboundEvent, Order
from merchant.services.inbound import inbound_event_process, inbound_event_receive
from merchant.tests.factories import MerchantFactory

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes the write lock at BEGIN (IMMEDIATE), so its writers never interleave",
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_deliveries_of_the_same_new_order():
    shop = MerchantFactory(slug="alpha")
    order = json.loads((FIXTURES / "shopify/rest_order.json").read_text())["order"]
    bodies = [order, {**order, "financial_status": "paid", "processed_at": order["created_at"]}]
    events = [
        inbound_event_receive(
            shop=shop, source="shopify", topic=topic, body=json.dumps(body).encode(), dedupe_keys=(key,)
        )
        for topic, body, key in zip(("orders/create", "orders/paid"), bodies, ("k-1", "k-2"), strict=True)
    ]
    outcomes: list[str] = []

    def second_worker():
        try:
            outcomes.append(inbound_event_process(event=events[1]).status)
        finally:
            connections.close_all()

    # The first worker has created the customer and the order but not committed yet when the
    # second starts: the second waits on the same rows, then finds them taken.
    with transaction.atomic():
        assert inbound_event_process(event=events[0]).status == "processed"
        second = threading.Thread(target=second_worker)
        second.start()
        time.sleep(0.5)
        assert second.is_alive(), "the second worker should be waiting for the first one's rows"
    second.join(timeout=60)
    assert outcomes == ["processed"], list(InboundEvent.objects.values_list("error", flat=True))
    assert Order.objects.count() == 1
    assert Order.objects.get().status == "paid"
