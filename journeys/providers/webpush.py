"""Browser notifications through Web Push (RFC 8030), encrypted for the browser (RFC 8291, aes128gcm) and
signed with our VAPID key (RFC 8292), using pywebpush.

`send` POSTs the encrypted notification to the subscription's endpoint at its push service (Google's,
Mozilla's, Apple's...) and classifies the answer; it never raises for an HTTP error, a connection error
or a timeout:
- 201 (or any 2xx): the push service took it.
- 404, 410: the subscription is gone (the browser dropped it, or the customer revoked the permission):
  INVALID_ADDRESS, and the dispatcher removes the subscription and falls back to the rule's channel.
- 429, 5xx, timeouts, connection errors: RETRY, honouring Retry-After.
- other 4xx (a bad request, a payload too large, a VAPID key the subscription was not made with):
  PERMANENT, and the dispatcher falls back to the rule's channel.

The notification is JSON the service worker (`/o/sw.js`) shows: {"title", "body", "url", "tag"}.
"""

import email.utils
import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
from pywebpush import WebPusher, WebPushException

from journeys.providers.base import Envelope, Outcome, Provider, SendResult
from journeys.push.vapid import VapidKeys, vapid_keys

# A VAPID token is valid for at most 24 hours (RFC 8292 §2); ours for 12, renewed an hour before it ends.
TOKEN_SECONDS = 12 * 3600
TOKEN_RENEW_SECONDS = 3600
MAX_ERROR_CHARS = 300


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def notification_payload(envelope: Envelope) -> str:
    """What the service worker receives: the title, the text, where a tap leads, and the tag that replaces."""
    target = envelope.push
    return json.dumps(
        {
            "title": envelope.subject,
            "body": envelope.body,
            "url": envelope.url,
            "tag": target.tag if target else "",
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


class WebPushProvider(Provider):
    name = "webpush"
    # A resend after a crash shows the same notification again, in place of the first (same tag).
    deduplicates = False
    concurrency = 8

    def __init__(self, *, keys: VapidKeys | None = None, timeout: float = 10.0) -> None:
        self._keys = keys
        self.timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        # Signed VAPID headers per push service origin: (valid until, headers).
        self._tokens: dict[str, tuple[float, dict[str, str]]] = {}

    @property
    def keys(self) -> VapidKeys | None:
        return self._keys or vapid_keys()

    def _session(self) -> requests.Session:
        # One keep-alive session per sending thread; a push service is usually one host for all browsers.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def vapid_headers(self, endpoint: str, keys: VapidKeys) -> dict[str, str]:
        """The Authorization header for the endpoint's push service, signed once per origin and reused."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        with self._lock:
            cached = self._tokens.get(audience)
            if cached is not None and cached[0] - TOKEN_RENEW_SECONDS > now:
                return cached[1]
        expires = int(now) + TOKEN_SECONDS
        headers = keys.signer.sign({"aud": audience, "exp": expires, "sub": keys.subject})
        with self._lock:
            self._tokens[audience] = (expires, headers)
        return headers

    def send(self, envelope: Envelope) -> SendResult:
        target = envelope.push
        if target is None:
            return SendResult(Outcome.PERMANENT, error="No push subscription to send to.")
        keys = self.keys
        if keys is None:
            return SendResult(Outcome.PERMANENT, error="No VAPID keys are configured (VAPID_PRIVATE_KEY).")
        subscription = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        headers = {**self.vapid_headers(target.endpoint, keys), "Urgency": target.urgency}
        try:
            pusher = WebPusher(subscription, requests_session=self._session())
            response = pusher.send(notification_payload(envelope), headers, ttl=target.ttl, timeout=self.timeout)
        except WebPushException as error:  # keys the browser gave that cannot be used (checked when subscribing)
            return SendResult(Outcome.PERMANENT, error=str(error.message)[:MAX_ERROR_CHARS])
        except (requests.Timeout, requests.ConnectionError) as error:
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS])
        except requests.RequestException as error:
            return SendResult(Outcome.RETRY, error=f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS])
        return self.classify(response)

    @staticmethod
    def classify(response: requests.Response) -> SendResult:
        code = response.status_code
        if 200 <= code < 300:
            # The push service names the message it keeps (Location: .../<id>); shown in the outbox.
            location = response.headers.get("Location", "")
            return SendResult(Outcome.SENT, provider_message_id=location.rsplit("/", 1)[-1][:100])
        error = f"{code} {response.reason or ''}: {response.text[:200]}".strip()[:MAX_ERROR_CHARS]
        if code in (404, 410):
            return SendResult(Outcome.INVALID_ADDRESS, error_code=str(code), error=error)
        if code == 429 or code >= 500:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return SendResult(Outcome.RETRY, error_code=str(code), error=error, retry_after=retry_after)
        return SendResult(Outcome.PERMANENT, error_code=str(code), error=error)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
