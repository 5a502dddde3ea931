"""Inbound deliveries, API keys and webhook secrets in the admin."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from merchant.models import ApiKey, InboundEvent, Order
from merchant.services.api_keys import api_key_authenticate, api_key_create
from merchant.services.inbound import inbound_event_process, inbound_event_receive
from merchant.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def failed_fulfillment(shop) -> InboundEvent:
    body = b'{"id": 1, "order_id": 777, "status": "success", "tracking_number": "T1", "line_items": []}'
    event = inbound_event_receive(
        shop=shop, source="shopify", topic="fulfillments/create", body=body, delivery_id="w-1"
    )
    return inbound_event_process(event=event)


class TestInboundEvents:
    def test_failures_are_listed_with_their_reason_and_reprocessed_after_the_fix(self, client, agent, shop):
        event = failed_fulfillment(shop)
        client.force_login(agent)
        listing = client.get(reverse("admin:merchant_inboundevent_changelist"), {"status__exact": "failed"})
        assert "Order 777 is not known yet" in listing.content.decode()
        OrderFactory(shop=shop, external_id="777", status="paid")
        response = client.post(
            reverse("admin:merchant_inboundevent_changelist"), {"action": "reprocess", "_selected_action": [event.pk]}
        )
        assert any("Processed" in text for text in messages_of(response))
        event.refresh_from_db()
        assert event.status == "processed"
        assert Order.objects.get(external_id="777").status == "shipped"

    def test_the_event_page_shows_the_raw_body_and_cannot_be_edited_or_deleted(self, client, owner, shop):
        event = failed_fulfillment(shop)
        client.force_login(owner)
        page = client.get(reverse("admin:merchant_inboundevent_change", args=[event.pk]))
        assert page.status_code == 200
        assert "&quot;tracking_number&quot;: &quot;T1&quot;" in page.content.decode()
        assert client.get(reverse("admin:merchant_inboundevent_delete", args=[event.pk])).status_code == 403

    def test_another_shops_events_are_not_visible(self, client, owner, other_shop):
        event = failed_fulfillment(other_shop)
        client.force_login(owner)
        assert client.get(reverse("admin:merchant_inboundevent_change", args=[event.pk])).status_code == 404
        assert client.get(reverse("admin:merchant_inboundevent_changelist")).context["cl"].result_count == 0


class TestApiKeys:
    def test_owner_creates_a_key_that_is_shown_once_and_works(self, client, owner, shop):
        client.force_login(owner)
        response = client.post(
            reverse("admin:merchant_apikey_add"),
            {"shop": shop.pk, "name": "ERP", "kind": "secret", "rate_limit_per_minute": 120},
            follow=True,
        )
        text = " ".join(messages_of(response))
        raw_key = re.search(r"<code>(sk_[^<]+)</code>", text).group(1)
        api_key = api_key_authenticate(raw_key=raw_key)
        assert (api_key.name, api_key.rate_limit_per_minute, api_key.shop) == ("ERP", 120, shop)
        page = client.get(reverse("admin:merchant_apikey_change", args=[api_key.pk])).content.decode()
        assert raw_key not in page

    def test_owner_revokes_a_key(self, client, owner, shop):
        api_key, raw_key = api_key_create(shop=shop, name="old")
        client.force_login(owner)
        client.post(reverse("admin:merchant_apikey_changelist"), {"action": "revoke", "_selected_action": [api_key.pk]})
        assert api_key_authenticate(raw_key=raw_key) is None

    def test_agents_do_not_see_api_keys(self, client, agent, shop):
        api_key_create(shop=shop, name="erp")
        client.force_login(agent)
        assert client.get(reverse("admin:merchant_apikey_changelist")).status_code == 403


class TestWebhookSecrets:
    FORM = {"name": "Alpha Shoes", "country": "US", "time_zone": "America/New_York", "default_language": "en",
            "currency": "USD", "contact_email": "", "contact_phone": "", "sender_name": ""}  # fmt: skip

    def test_secrets_are_write_only(self, client, owner, shop):
        client.force_login(owner)
        url = reverse("admin:merchant_merchant_change", args=[shop.pk])
        client.post(url, {**self.FORM, "shopify_secret": "shpss_the_client_secret_123"})
        shop.refresh_from_db()
        assert shop.shopify_webhook_secret == "shpss_the_client_secret_123"
        page = client.get(url).content.decode()
        assert "shpss_the_client_secret_123" not in page
        assert shop.webhook_secret not in page
        assert "Shopify client secret: set" in page
        assert "/webhooks/shopify/alpha" in page

    def test_rotating_the_webhook_secret_shows_the_new_one_once(self, client, owner, shop):
        old = shop.webhook_secret
        client.force_login(owner)
        response = client.post(
            reverse("admin:merchant_merchant_change", args=[shop.pk]),
            {**self.FORM, "rotate_webhook_secret": "on"},
            follow=True,
        )
        shop.refresh_from_db()
        assert shop.webhook_secret != old
        assert any(shop.webhook_secret in text for text in messages_of(response))

    def test_an_empty_secret_field_keeps_the_current_secret(self, client, owner, shop):
        shop.shopify_webhook_secret = "kept-secret-0123456789"
        shop.save()
        client.force_login(owner)
        client.post(reverse("admin:merchant_merchant_change", args=[shop.pk]), self.FORM)
        shop.refresh_from_db()
        assert shop.shopify_webhook_secret == "kept-secret-0123456789"

    def test_agents_see_no_secret_fields(self, client, agent, shop):
        client.force_login(agent)
        page = client.get(reverse("admin:merchant_merchant_change", args=[shop.pk])).content.decode()
        assert 'name="shopify_secret"' not in page
        assert ApiKey.objects.count() == 0
