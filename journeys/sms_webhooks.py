"""Twilio's webhooks: delivery status callbacks and texts customers send. Verify, store, apply, answer.

Configure in Twilio (see docs/channels.md):
    status callback   {PUBLIC_BASE_URL}/webhooks/twilio/status   (sent by us with every message)
    incoming message  {PUBLIC_BASE_URL}/webhooks/twilio/inbound  (the number's or service's webhook)

Every request must carry a valid `X-Twilio-Signature` made with the auth token of the account in
its `AccountSid`: an `SmsAccount` of a shop, or the TWILIO_* settings account. Anything else is
answered 403 and nothing is stored. A verified request is stored as a `merchant.InboundEvent`
(committed first, so nothing is lost) and applied at once: an opt-out takes effect before the
answer goes back. A verified status callback about no message of ours is stored too: with the
signing account's shop, or without a shop when the settings account signed it.
"""

from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from journeys.models import Message, SmsAccount
from journeys.providers.twilio_webhooks import signature_valid
from journeys.selectors import sms_accounts_for_sid, twilio_text_shops
from journeys.services.callbacks import SIGNED_URL_HEADER, TOPIC_STATUS
from journeys.services.inbound_sms import TOPIC_INBOUND, phone_from_twilio
from merchant.http_errors import error_response
from merchant.models import InboundEvent, Merchant
from merchant.services.inbound import inbound_event_process, inbound_event_receive

KEPT_HEADERS = ("X-Twilio-Signature", "I-Twilio-Idempotency-Token", "User-Agent")


@dataclass(frozen=True)
class Verified:
    """Who signed a request: shop accounts whose token matched, and/or the settings account."""

    accounts: list[SmsAccount]
    via_settings: bool

    def __bool__(self) -> bool:
        return bool(self.accounts) or self.via_settings

    def allows_shop(self, shop_id: int) -> bool:
        # The settings account sends for every shop without an account of its own (and, until the
        # dispatcher picks shop accounts, for all of them).
        return self.via_settings or any(account.shop_id == shop_id for account in self.accounts)


def signed_urls(request) -> list[str]:
    """The URL Twilio requested, as this request shows it (scheme from SECURE_PROXY_SSL_HEADER behind
    a TLS proxy) and as PUBLIC_BASE_URL says it is; either may be what was configured in Twilio."""
    urls = [request.build_absolute_uri()]
    base = (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    if base:
        urls.append(base + request.get_full_path())
    return list(dict.fromkeys(urls))


def _verify(request) -> tuple[Verified, str]:
    """Whose auth token signed the request, and the URL it was signed for."""
    params = dict(request.POST.lists())
    signature = request.headers.get("X-Twilio-Signature", "")
    account_sid = request.POST.get("AccountSid", "")
    candidates = [(account, account.auth_token) for account in sms_accounts_for_sid(account_sid=account_sid)]
    if account_sid and account_sid == settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        candidates.append((None, settings.TWILIO_AUTH_TOKEN))
    # Every candidate is checked (no early exit), each comparison in constant time.
    matches = [
        (account, url)
        for account, token in candidates
        for url in signed_urls(request)
        if signature_valid(urls=[url], params=params, token=token, signature=signature)
    ]
    accounts = list({account.pk: account for account, _ in matches if account is not None}.values())
    via_settings = any(account is None for account, _ in matches)
    return Verified(accounts, via_settings), matches[0][1] if matches else ""


def _refused():
    return error_response(
        403, "bad_signature", "X-Twilio-Signature is missing or does not match the request for this account."
    )


def _headers(request, signed_url: str) -> dict[str, str]:
    kept = {name: request.headers[name] for name in KEPT_HEADERS if name in request.headers}
    return {**kept, SIGNED_URL_HEADER: signed_url}


def _receive_and_apply(
    *, shop: Merchant | None, topic: str, request, signed_url: str, sid: str, key: str
) -> InboundEvent:
    token = request.headers.get("I-Twilio-Idempotency-Token", "").strip()
    event = inbound_event_receive(
        shop=shop,
        source=InboundEvent.Source.TWILIO,
        topic=topic,
        body=request.body,
        headers=_headers(request, signed_url),
        delivery_id=sid,
        dedupe_keys=(key, f"twilio:idempotency:{token}" if token else ""),
    )
    if event.status == InboundEvent.Status.RECEIVED:
        event = inbound_event_process(event=event)
    return event


def _status_shop(request, verified: Verified, sid: str) -> Merchant | None:
    """The shop of the message a status callback is about, if the signer may speak for it."""
    message_id = request.GET.get("message_id", "")
    lookup = Q(pk=int(message_id)) if message_id.isdigit() else Q(pk__in=[])
    if sid:
        lookup |= Q(provider_message_id=sid)
    message = Message.objects.filter(lookup).select_related("shop").order_by("-id").first()
    if message is not None and verified.allows_shop(message.shop_id):
        return message.shop
    # An unknown or foreign message: kept with the signer's own shop, where it is ignored visibly,
    # or without a shop (superusers see it) when only the settings account signed it.
    return verified.accounts[0].shop if verified.accounts else None


@csrf_exempt
@require_POST
def twilio_status(request):
    verified, signed_url = _verify(request)
    if not verified:
        return _refused()
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    shop = _status_shop(request, verified, sid)
    twilio_status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or ""
    code = request.POST.get("ErrorCode", "")
    event = _receive_and_apply(
        shop=shop,
        topic=TOPIC_STATUS,
        request=request,
        signed_url=signed_url,
        sid=sid,
        key=f"twilio:status:{sid}:{twilio_status}:{code}" if sid else "",
    )
    return JsonResponse({"event": event.pk, "status": event.status}, status=200)


def twiml(reply: str) -> HttpResponse:
    body = f"<Response><Message>{escape(reply)}</Message></Response>" if reply else "<Response/>"
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?>' + body, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def twilio_inbound(request):
    verified, signed_url = _verify(request)
    if not verified:
        return _refused()
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    shops = twilio_text_shops(
        accounts=verified.accounts,
        via_settings=verified.via_settings,
        to_number=phone_from_twilio(request.POST.get("To", "")),
        messaging_service_sid=request.POST.get("MessagingServiceSid", ""),
        sender=phone_from_twilio(request.POST.get("From", "")),
    )
    replies = []
    for shop in shops:
        event = _receive_and_apply(
            shop=shop,
            topic=TOPIC_INBOUND,
            request=request,
            signed_url=signed_url,
            sid=sid,
            key=f"twilio:sms:{sid}" if sid else "",
        )
        # A repeated delivery gets the answer the first one got.
        answered = event.duplicate_of if event.status == InboundEvent.Status.DUPLICATE else event
        replies.append(((answered.result or {}) if answered else {}).get("reply", ""))
    # One answer per text, from the first shop that has one.
    return twiml(next((reply for reply in replies if reply), ""))


urlpatterns = [
    path("status", twilio_status, name="webhook-twilio-status"),
    path("inbound", twilio_inbound, name="webhook-twilio-inbound"),
]
