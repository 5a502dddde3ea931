"""The inbound email webhook: a Mailgun route posts each customer email for one shop. Verify, store, apply.

Configure in Mailgun (see docs/support.md, "Customer messages and auto-replies"):
    route  match_recipient("support@shop.example")  ->  forward("{PUBLIC_BASE_URL}/webhooks/email/inbound/<shop slug>")

Mailgun signs each post: `signature` is the HMAC-SHA256 of `timestamp` + `token` with the webhook signing
key. The key is the shop's own (`EmailInbox.signing_key`, for a shop with its own Mailgun account), else
the deployment's (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY). A post without a valid signature is answered 401
and nothing is stored; a signed post missing a field is answered 400 naming it. A verified post is stored
as a `merchant.InboundEvent` (committed first: nothing is lost) and applied at once; a repeat of the same
email (the same Message-Id, or Mailgun's retry with the same token) is stored as a duplicate and not filed.
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from merchant.http_errors import error_response
from merchant.models import InboundEvent, Merchant
from merchant.services.inbound import inbound_event_process, inbound_event_receive
from returns.models import EmailInbox
from returns.services.inbound_email import REQUIRED_FIELDS, SOURCE, TOPIC

KEPT_HEADERS = ("User-Agent", "Content-Type")


def deployment_signing_key() -> str:
    return str((getattr(settings, "ANYMAIL", None) or {}).get("MAILGUN_WEBHOOK_SIGNING_KEY", "") or "")


def mailgun_signature_valid(*, key: str, timestamp: str, token: str, signature: str) -> bool:
    """Whether `signature` is Mailgun's HMAC-SHA256 of timestamp + token under `key` (compared in constant time)."""
    if not (key and timestamp and token and signature):
        return False
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _fields(request) -> dict:
    """The post's form fields (the last value of a repeated name) and what its attachments were."""
    fields = {name: request.POST.get(name) for name in request.POST}
    fields["attachments"] = [
        {"name": upload.name, "size": upload.size, "content_type": upload.content_type}
        for upload in request.FILES.values()
    ]
    return fields


@csrf_exempt
@require_POST
def email_inbound(request, shop_slug: str):
    shop = Merchant.objects.filter(slug=shop_slug).first()
    if shop is None:
        return error_response(404, "not_found", f"No shop “{shop_slug}”.")
    inbox = EmailInbox.objects.filter(shop=shop).first()
    if inbox is not None and not inbox.is_active:
        return error_response(403, "not_configured", "This shop's email inbox is turned off.")
    key = (inbox.signing_key if inbox else "") or deployment_signing_key()
    if not key:
        return error_response(
            403, "not_configured", "Inbound email is off until a Mailgun webhook signing key is set for this shop."
        )
    timestamp, token = request.POST.get("timestamp", ""), request.POST.get("token", "")
    if not mailgun_signature_valid(
        key=key, timestamp=timestamp, token=token, signature=request.POST.get("signature", "")
    ):
        return error_response(
            401, "bad_signature", "signature is missing or is not the HMAC of timestamp and token with this key."
        )
    missing = [name for name in REQUIRED_FIELDS if not request.POST.get(name, "").strip()]
    if missing:
        return error_response(
            400,
            "validation_failed",
            f"Missing: {', '.join(missing)}.",
            fields={name: ["This field is required."] for name in missing},
        )
    fields = _fields(request)
    message_id = (request.POST.get("Message-Id") or request.POST.get("message-id") or "").strip()
    event = inbound_event_receive(
        shop=shop,
        source=SOURCE,
        topic=TOPIC,
        body=json.dumps(fields, ensure_ascii=False).encode(),
        headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
        delivery_id=message_id or token,
        dedupe_keys=(f"email:{message_id}" if message_id else "", f"mailgun:token:{token}"),
    )
    if event.status == InboundEvent.Status.RECEIVED:
        event = inbound_event_process(event=event)
    # 200 whatever applying did: the email is kept, and a failure shows in the admin for a retry.
    return JsonResponse({"event": event.pk, "status": event.status}, status=200)
