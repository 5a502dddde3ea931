"""The copy-paste examples of docs/integrations.md, run with bash and curl against a live server."""

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from merchant.models import Customer, InboundEvent, Order
from merchant.services.api_keys import api_key_create
from merchant.services.inbound import inbound_events_drain
from merchant.services.shops import merchant_create

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def shell_blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return [block for block in blocks if not block.startswith("export BASE=")]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
@pytest.mark.django_db(transaction=True)
def test_every_documented_example_works(live_server):
    shop = merchant_create(name="Demo", slug="demo", country="US", time_zone="America/New_York")
    raw_key = api_key_create(shop=shop, name="docs")[1]
    env = {
        **os.environ,
        "BASE": live_server.url,
        "SHOP": "demo",
        "API_KEY": raw_key,
        "WEBHOOK_SECRET": shop.webhook_secret,
    }
    blocks = shell_blocks()
    assert len(blocks) == 3
    for block in blocks:
        done = subprocess.run(  # noqa: S603
            [shutil.which("bash"), "-euo", "pipefail", "-c", block],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # noqa: S607
        )
        assert done.returncode == 0, done.stderr
        assert '"error"' not in done.stdout, done.stdout
    assert inbound_events_drain(max_seconds=0) == 2  # what the cluster's drainer does
    # Shopify: paid order with its customer
    shopify = Order.objects.get(external_id="9001")
    assert (shopify.status, shopify.customer.email, shopify.total) == ("paid", "jon@example.com", Decimal("54.90"))
    # WooCommerce: processing means paid
    assert Order.objects.get(external_id="727").status == "paid"
    # REST API: customer, order, paid then shipped
    assert Customer.objects.get(external_id="c-42").phone.as_e164 == "+4915123456789"
    order = Order.objects.get(external_id="o-1001")
    assert (order.status, order.shipments.get().carrier) == ("shipped", "DHL")
    assert not InboundEvent.objects.filter(status="failed").exists()
