"""SMS through Twilio Programmable Messaging (REST API 2010-04-01), over keep-alive connections.

`send` POSTs a form to `/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth and
classifies every answer into a `SendResult`; it never raises for an HTTP error, a connection
error or a timeout. Twilio has no idempotency key, so a request that timed out may still have
been accepted: the dispatcher knows from `deduplicates = False` that a resend can duplicate.

The auth token is only ever put in the Authorization header; every error text is scrubbed of it
(and of the encoded header value) before it leaves this module.
"""

import base64
import email.utils
import http.client
import json
import logging
import math
import select
import ssl
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from journeys.providers.base import Envelope, Outcome, Provider, RateLimit, SendResult

logger = logging.getLogger(__name__)

API_PATH = "/2010-04-01/Accounts/{account_sid}/Messages.json"
# Pace keys (journeys.services.pacing) are "twilio:<account sid>:<number or messaging service>".
PACE_KEY_PREFIX = "twilio:"

# Twilio error codes (https://www.twilio.com/docs/api/errors/<code>).
CODE_INVALID_TO = "21211"  # Invalid 'To' Phone Number
CODE_NOT_MOBILE = "21614"  # 'To' is not a valid mobile number
CODE_LANDLINE = "21635"  # 'To' number cannot be a landline
CODE_UNSUBSCRIBED = "21610"  # recipient replied STOP
CODE_TOO_MANY_REQUESTS = "20429"
INVALID_ADDRESS_CODES = frozenset({CODE_INVALID_TO, CODE_NOT_MOBILE, CODE_LANDLINE})
OPTED_OUT_CODES = frozenset({CODE_UNSUBSCRIBED})

MAX_ERROR_CHARS = 300


class TwilioSmsProvider(Provider):
    name = "twilio"
    deduplicates = False  # Twilio offers no idempotency key

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str = "",
        messaging_service_sid: str = "",
        base_url: str = "https://api.twilio.com",
        status_callback_url: str = "",
        rate_limit: RateLimit | None = None,
        concurrency: int = 16,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid:
            raise ValueError("account_sid is required")
        if not auth_token:
            raise ValueError("auth_token is required")
        if bool(from_number) == bool(messaging_service_sid):
            raise ValueError("give exactly one of from_number or messaging_service_sid")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        scheme = urlsplit(base_url).scheme
        if scheme not in ("http", "https") or not urlsplit(base_url).netloc:
            raise ValueError("base_url must be an absolute http(s) URL")

        self.account_sid = account_sid
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.base_url = base_url.rstrip("/")
        self.status_callback_url = status_callback_url
        self.rate_limit = rate_limit
        self.concurrency = concurrency
        self.timeout = timeout

        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        # Kept only to scrub error texts; never logged or returned.
        self._secrets = (auth_token, credentials)
        self._headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "merchant-backoffice-journeys",
        }
        # One keep-alive connection per sending thread (the dispatcher runs at most `concurrency`),
        # on the standard library's client: half the CPU per request of a pooled client, which is
        # what bounds a dispatcher's rate. No hidden retries: the dispatcher retries.
        parts = urlsplit(self.base_url)
        self.url = self.base_url + API_PATH.format(account_sid=quote(account_sid, safe=""))
        self._path = urlsplit(self.url).path
        self._host, self._port, self._https = parts.hostname, parts.port, parts.scheme == "https"
        self._tls = ssl.create_default_context() if self._https else None
        self._callback_prefix, self._callback_suffix = _callback_parts(status_callback_url)
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TwilioSmsProvider {self.pace_key} {self.base_url}>"

    @property
    def pace_key(self) -> str:
        return f"{PACE_KEY_PREFIX}{self.account_sid}:{self.from_number or self.messaging_service_sid}"

    def form_fields(self, envelope: Envelope) -> dict[str, str]:
        fields = {"To": envelope.to}
        if self.from_number:
            fields["From"] = self.from_number
        else:
            fields["MessagingServiceSid"] = self.messaging_service_sid
        fields["Body"] = envelope.body
        if self.status_callback_url:
            fields["StatusCallback"] = f"{self._callback_prefix}{envelope.message_id}{self._callback_suffix}"
        return fields

    def send(self, envelope: Envelope) -> SendResult:
        body = urlencode(self.form_fields(envelope)).encode()
        connection = self._connection()
        try:
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:  # refused/reset, timeouts, TLS, protocol errors
            connection.close()
            return SendResult(Outcome.RETRY, error=self._scrub(f"{type(exc).__name__}: {exc}"))
        if response.will_close:
            connection.close()
        return self._classify(response.status, response.headers, data)

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's connection; a new one when the server closed the idle one (never resend a POST)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=self._tls
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
            with self._connections_lock:
                self._connections.append(connection)
        elif connection.sock is not None and _readable(connection.sock):
            # Readable while idle means the server closed it (or sent junk): reconnect before sending.
            connection.close()
        return connection

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def _classify(self, status: int, headers, data: bytes) -> SendResult:
        payload = _json_object(data)
        code = payload.get("code")
        code = str(code) if code not in (None, "") else ""
        message = payload.get("message")
        if not isinstance(message, str) or not message:
            text = data[:MAX_ERROR_CHARS].decode("utf-8", "replace").strip() if not payload else ""
            message = f"HTTP {status}" + (f": {text}" if text else "")
        error = self._scrub(message[:MAX_ERROR_CHARS])

        if 200 <= status < 300:
            sid = payload.get("sid")
            if isinstance(sid, str) and sid:
                return SendResult(Outcome.SENT, provider_message_id=sid)
            # Accepted but unreadable: resending could duplicate, and callbacks still carry message_id.
            logger.warning("Twilio answered HTTP %s without a message sid", status)
            return SendResult(Outcome.SENT, error=f"HTTP {status} without a message sid")
        if status == 429 or code == CODE_TOO_MANY_REQUESTS:
            return SendResult(
                Outcome.RETRY, error_code=code, error=error, retry_after=_retry_after(headers.get("Retry-After"))
            )
        if status >= 500:
            return SendResult(Outcome.RETRY, error_code=code, error=error)
        if code in OPTED_OUT_CODES:
            return SendResult(Outcome.OPTED_OUT, error_code=code, error=error)
        if code in INVALID_ADDRESS_CODES:
            return SendResult(Outcome.INVALID_ADDRESS, error_code=code, error=error)
        # Other 4xx (bad request, auth 20003, unknown account...) and anything unexpected (3xx).
        return SendResult(Outcome.PERMANENT, error_code=code, error=error)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _readable(sock) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _json_object(data: bytes) -> dict:
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _callback_parts(url: str) -> tuple[str, str]:
    """What comes before and after a message's id in its StatusCallback URL: `url` with `message_id=<id>`
    as its last query parameter (replacing one already there). Split once, so each send only joins."""
    if not url:
        return "", ""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "message_id"])
    prefix = urlunsplit(parts._replace(query=f"{query}&message_id=" if query else "message_id=", fragment=""))
    return prefix, f"#{parts.fragment}" if parts.fragment else ""


def status_callback_url() -> str:
    """Where Twilio reports delivery: TWILIO_STATUS_CALLBACK_URL when set, else our webhook on PUBLIC_BASE_URL."""
    from django.conf import settings
    from django.urls import reverse

    explicit = getattr(settings, "TWILIO_STATUS_CALLBACK_URL", "")
    if explicit:
        return explicit
    base = (getattr(settings, "PUBLIC_BASE_URL", "") or "").rstrip("/")
    return base + reverse("webhook-twilio-status") if base else ""


def _rate_limit(rate: float | None) -> RateLimit | None:
    rate = float(rate or 0)
    return RateLimit(per_second=rate) if rate > 0 else None


def twilio_provider_for_account(account) -> TwilioSmsProvider:
    """The Twilio provider of a shop's own account (a `journeys.models.SmsAccount`)."""
    from django.conf import settings

    provider = TwilioSmsProvider(
        account_sid=account.account_sid,
        auth_token=account.auth_token,
        from_number=account.from_number,
        messaging_service_sid=account.messaging_service_sid,
        base_url=account.base_url or "https://api.twilio.com",
        status_callback_url=status_callback_url(),
        rate_limit=_rate_limit(account.rate_per_second),
        concurrency=int(getattr(settings, "TWILIO_CONCURRENCY", 16) or 16),
    )
    provider.daily_cap = account.daily_cap
    return provider


def twilio_provider_from_settings() -> TwilioSmsProvider:
    """The Twilio provider configured by the TWILIO_* Django settings (for shops without an account of their own)."""
    from django.conf import settings

    rate_limit = _rate_limit(getattr(settings, "TWILIO_RATE_PER_SECOND", 0))
    provider = TwilioSmsProvider(
        account_sid=getattr(settings, "TWILIO_ACCOUNT_SID", ""),
        auth_token=getattr(settings, "TWILIO_AUTH_TOKEN", ""),
        from_number=getattr(settings, "TWILIO_FROM_NUMBER", ""),
        messaging_service_sid=getattr(settings, "TWILIO_MESSAGING_SERVICE_SID", ""),
        base_url=getattr(settings, "TWILIO_BASE_URL", "https://api.twilio.com") or "https://api.twilio.com",
        status_callback_url=status_callback_url(),
        rate_limit=rate_limit,
        concurrency=int(getattr(settings, "TWILIO_CONCURRENCY", 16) or 16),
    )
    provider.daily_cap = getattr(settings, "TWILIO_DAILY_CAP", None) or None
    return provider
