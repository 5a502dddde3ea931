"""Webhook endpoints of the shop platforms. Verify the signature on the raw bytes, store, answer.

Every verified delivery is committed to the database and answered 200 at once; the drainer in
the django-q2 cluster applies it right after. Platforms give up after a few seconds and send
again, so the answer never waits for the work. A failure to apply is recorded on the event.
"""

import base64
import hashlib
import hmac
import html
import json
import re

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from merchant.http_errors import error_response
from merchant.models import InboundEvent, Merchant
from merchant.services.inbound import inbound_event_receive

WOOCOMMERCE_PING = re.compile(rb"^webhook_id=\d+$")
SHOPIFY_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
)
WOOCOMMERCE_HEADERS = (
    "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
)


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(secrets: list[str], body: bytes, signature: str) -> bool:
    """Constant-time comparison against every candidate secret (all are tried, none short-circuits)."""
    signature = (signature or "").strip()
    matches = [hmac.compare_digest(hmac_sha256_base64(secret, body), signature) for secret in secrets if secret]
    return bool(signature) and any(matches)


def _kept_headers(request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.headers[name] for name in names if name in request.headers}


def _answer(event: InboundEvent) -> JsonResponse:
    return JsonResponse({"event": event.pk, "status": event.status}, status=200)


@csrf_exempt
@require_POST
def shopify_webhook(request, shop_slug: str):
    shop = get_object_or_404(Merchant, slug=shop_slug)
    body = request.body
    secrets = [shop.shopify_webhook_secret, shop.webhook_secret]
    if not signature_matches(secrets, body, request.headers.get("X-Shopify-Hmac-Sha256", "")):
        return error_response(401, "bad_signature", "X-Shopify-Hmac-Sha256 is missing or does not match the body.")
    topic = request.headers.get("X-Shopify-Topic", "").strip()
    if not topic:
        return error_response(400, "missing_header", "X-Shopify-Topic is missing.")
    webhook_id = request.headers.get("X-Shopify-Webhook-Id", "").strip()
    event_id = request.headers.get("X-Shopify-Event-Id", "").strip()
    event = inbound_event_receive(
        shop=shop,
        source=InboundEvent.Source.SHOPIFY,
        topic=topic,
        body=body,
        headers=_kept_headers(request, SHOPIFY_HEADERS),
        delivery_id=webhook_id,
        dedupe_keys=(
            f"shopify:event:{event_id}" if event_id else "",
            f"shopify:webhook:{webhook_id}" if webhook_id else "",
        ),
    )
    return _answer(event)


def _woocommerce_state_key(body: bytes) -> str:
    """The same order in the same state: WooCommerce sends a new delivery id with every attempt."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(payload, dict) or "id" not in payload:
        return ""
    return f"woocommerce:order:{payload.get('id')}:{payload.get('date_modified_gmt') or payload.get('date_modified')}"


@csrf_exempt
@require_POST
def woocommerce_webhook(request, shop_slug: str):
    shop = get_object_or_404(Merchant, slug=shop_slug)
    body = request.body
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if not signature and WOOCOMMERCE_PING.match(body.strip()):
        # Saving a webhook in WooCommerce sends this unsigned ping; it must get a 200.
        return JsonResponse({"status": "pong"}, status=200)
    secrets = [shop.webhook_secret, html.unescape(shop.webhook_secret)]
    if not signature_matches(secrets, body, signature):
        return error_response(401, "bad_signature", "X-WC-Webhook-Signature is missing or does not match the body.")
    topic = request.headers.get("X-WC-Webhook-Topic", "").strip()
    if not topic:
        return error_response(400, "missing_header", "X-WC-Webhook-Topic is missing.")
    delivery_id = request.headers.get("X-WC-Webhook-Delivery-ID", "").strip()
    event = inbound_event_receive(
        shop=shop,
        source=InboundEvent.Source.WOOCOMMERCE,
        topic=topic,
        body=body,
        headers=_kept_headers(request, WOOCOMMERCE_HEADERS),
        delivery_id=delivery_id,
        dedupe_keys=(_woocommerce_state_key(body), f"woocommerce:delivery:{delivery_id}" if delivery_id else ""),
    )
    return _answer(event)
