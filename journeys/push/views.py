"""The status page's notification endpoints and service worker, under /o/ (no login; the signed token is the key).

- `POST /o/<token>/push/subscribe`: the JSON of `PushSubscription.toJSON()` ({"endpoint", "expirationTime",
  "keys": {"p256dh", "auth"}}). 201 when the browser is newly subscribed, 200 when it already was.
- `POST /o/<token>/push/unsubscribe`: {"endpoint"}. 200 whether or not it was subscribed.
- `GET /o/sw.js`: the service worker that shows the notifications and opens the status page on a tap.

Errors are JSON (`merchant.http_errors`) naming the field: 400 for a body of the wrong shape, 404 for
a bad, tampered or expired token (or notifications not offered: no VAPID keys), 409 for an endpoint
subscribed to another order, 413 for a body over 4 KB, 415 for a body that is not JSON. Nothing
changes on an error. The endpoints are exempt from CSRF like the unsubscribe page: the token in the
URL is the secret, and a body of `application/json` cannot be posted across sites without CORS.
"""

import datetime as dt
import ipaddress
import json
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from journeys.push.offer import OFFER_BUTTON, OFFER_TEXT, TURN_OFF_BUTTON
from journeys.push.services import (
    PushSubscriptionConflict,
    SubscriptionInput,
    push_subscription_save,
    push_subscription_unsubscribe,
)
from journeys.push.vapid import b64url_decode, vapid_keys
from journeys.status.links import order_status_token_read
from journeys.status.selectors import order_for_push, status_language
from merchant.http_errors import error_response
from merchant.models import Order

MAX_BODY_BYTES = 4096
MAX_ENDPOINT_CHARS = 1000
BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class BadInput(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _order_for(token: str) -> Order | None:
    """The order a genuine, unexpired status token names, with a customer to notify; else None."""
    read = order_status_token_read(token)
    if read is None or read.expires_at <= timezone.now():
        return None
    return order_for_push(order_id=read.order_id, shop_id=read.shop_id)


def _not_found() -> JsonResponse:
    return error_response(404, "not_found", "This link does not lead to an order, or it has expired.")


def _json_body(request: HttpRequest) -> dict | HttpResponse:
    if request.content_type != "application/json":
        return error_response(415, "unsupported_media_type", "Send the subscription as application/json.")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return error_response(413, "body_too_large", f"At most {MAX_BODY_BYTES} bytes are accepted.")
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return error_response(400, "invalid_json", f"The body is not JSON: {error}.")
    if not isinstance(body, dict):
        return error_response(400, "invalid_json", "The body must be a JSON object.")
    return body


def _push_service_allowed(host: str) -> bool:
    for allowed in settings.JOURNEYS_PUSH_SERVICE_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_check(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadInput("endpoint", "Give the subscription's endpoint URL.")
    if len(value) > MAX_ENDPOINT_CHARS:
        raise BadInput("endpoint", f"The endpoint is longer than {MAX_ENDPOINT_CHARS} characters.")
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    # Push services speak https; plain http only to a push service on this machine (a local test server).
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(host)):
        raise BadInput("endpoint", "The endpoint must be an https URL.")
    if not host or not _push_service_allowed(host):
        raise BadInput("endpoint", f"“{host}” is not a push service this shop sends to.")
    return value


def _key_check(keys: dict, name: str, size: int) -> str:
    value = keys.get(name)
    field = f"keys.{name}"
    if not isinstance(value, str) or not value:
        raise BadInput(field, "Missing: give it as base64url, as the browser's subscription has it.")
    if not BASE64URL.fullmatch(value):
        raise BadInput(field, "Not base64url.")
    raw = b64url_decode(value)
    if len(raw) != size:
        raise BadInput(field, f"Must be {size} bytes, not {len(raw)}.")
    return value.rstrip("=")


def _p256dh_check(keys: dict) -> str:
    value = _key_check(keys, "p256dh", 65)
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(value))
    except ValueError:
        raise BadInput("keys.p256dh", "Not a point on the P-256 curve.") from None
    return value


def _expiration_check(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise BadInput("expirationTime", "Give null or the end as milliseconds since 1970.")
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise BadInput("expirationTime", "Out of range.") from None


def subscription_input(body: dict, *, request: HttpRequest, language: str) -> SubscriptionInput:
    """The subscription in `body`, checked for shape; raises BadInput naming the first wrong field."""
    endpoint = endpoint_check(body.get("endpoint"))
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise BadInput("keys", "Give the keys object with p256dh and auth.")
    p256dh = _p256dh_check(keys)
    auth = _key_check(keys, "auth", 16)
    expires_at = _expiration_check(body.get("expirationTime"))
    if expires_at is not None and expires_at <= timezone.now():
        raise BadInput("expirationTime", "The subscription has ended already.")
    return SubscriptionInput(
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        expires_at=expires_at,
        user_agent=request.headers.get("User-Agent", "")[:300],
        language=language,
    )


def _bad(error: BadInput) -> JsonResponse:
    return error_response(400, "validation_failed", error.message, fields={error.field: [error.message]})


@csrf_exempt  # the token in the URL is the secret; see the module's docstring
@never_cache
@require_POST
def push_subscribe(request: HttpRequest, token: str) -> HttpResponse:
    if vapid_keys() is None:
        return error_response(404, "not_offered", "Notifications are not offered here.")
    order = _order_for(token)
    if order is None:
        return _not_found()
    body = _json_body(request)
    if isinstance(body, HttpResponse):
        return body
    language = status_language(order)
    try:
        subscription = subscription_input(body, request=request, language=language)
    except BadInput as error:
        return _bad(error)
    with translation.override(language):
        # The words the customer acted on, in the language the page showed them, kept as consent evidence.
        wording = f"{OFFER_TEXT} [{OFFER_BUTTON}] (order {order.number})"
    try:
        row, consented = push_subscription_save(order=order, subscription=subscription, wording=wording)
    except PushSubscriptionConflict:
        message = "This subscription belongs to another order."
        return error_response(409, "conflict", message, fields={"endpoint": [message]})
    return JsonResponse({"subscribed": True, "order": order.number}, status=201 if consented else 200)


@csrf_exempt  # the token in the URL is the secret; see the module's docstring
@never_cache
@require_POST
def push_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    order = _order_for(token)
    if order is None:
        return _not_found()
    body = _json_body(request)
    if isinstance(body, HttpResponse):
        return body
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        return _bad(BadInput("endpoint", "Give the subscription's endpoint URL."))
    with translation.override(status_language(order)):
        wording = f"[{TURN_OFF_BUTTON}] (order {order.number})"
    push_subscription_unsubscribe(order=order, endpoint=endpoint, wording=wording)
    return JsonResponse({"subscribed": False})


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker every order's notifications share (each order subscribes in a scope of its own)."""
    response = render(
        request,
        "customer/status/sw.js",
        {"default_title": _("Order update")},
        content_type="application/javascript; charset=utf-8",
    )
    # Browsers look for a new version on each registration; a cached old one would linger for a day.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/o/"
    return response
