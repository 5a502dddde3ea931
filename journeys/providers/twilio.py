"""SMS through Twilio Programmable Messaging (REST API 2010-04-01), over keep-alive connections (libcurl).

`send` POSTs a form to `/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth and
classifies every answer into a `SendResult`; it never raises for an HTTP error, a connection
error or a timeout. Twilio has no idempotency key, so a request that timed out may still have
been accepted: the dispatcher knows from `deduplicates = False` that a resend can duplicate.

The auth token is only ever put in the Authorization header; every error text is scrubbed of it
(and of the encoded header value) before it leaves this module.
"""

import base64
import email.utils
import json
import logging
import math
import os
import ssl
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pycurl

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
        self._headers = [
            f"Authorization: Basic {credentials}",
            "Content-Type: application/x-www-form-urlencoded",
            "Accept: application/json",
            "User-Agent: merchant-backoffice-journeys",
            "Expect:",  # no "100 Continue" round trip before the form
        ]
        # One libcurl handle, and so one keep-alive connection, per sending thread (the dispatcher runs at
        # most `concurrency`). libcurl does the request and reads the answer without the interpreter lock,
        # which the standard library's client held for about two thirds of a send's CPU: what bounds how
        # fast one dispatcher process can send. No retries of ours: the dispatcher retries. libcurl itself
        # sends a request again only when a kept-alive connection turns out closed before a single byte
        # of answer came back (the server's idle close crossing the send), as browsers do.
        self.url = self.base_url + API_PATH.format(account_sid=quote(account_sid, safe=""))
        self._callback_prefix, self._callback_suffix = _callback_parts(status_callback_url)
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._handles_lock = threading.Lock()

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
        handle = self._handle()
        received: list[bytes] = []
        header_lines: list[bytes] = []
        handle.setopt(pycurl.POSTFIELDS, urlencode(self.form_fields(envelope)))
        handle.setopt(pycurl.WRITEFUNCTION, received.append)
        handle.setopt(pycurl.HEADERFUNCTION, header_lines.append)
        try:
            handle.perform()
        except pycurl.error as exc:  # refused/reset, timeouts, TLS, protocol errors
            code, text = exc.args
            return SendResult(
                Outcome.RETRY, error=self._scrub(f"{_CURL_ERRORS.get(code, 'curl error')} ({code}): {text}")
            )
        status = handle.getinfo(pycurl.RESPONSE_CODE)
        return self._classify(status, _response_headers(header_lines), b"".join(received))

    def _handle(self) -> pycurl.Curl:
        """This thread's handle: its connection stays open between sends, made again once the server closed it."""
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = pycurl.Curl()
            handle.setopt(pycurl.URL, self.url)
            handle.setopt(pycurl.HTTPHEADER, self._headers)
            handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            handle.setopt(pycurl.TIMEOUT_MS, round(self.timeout * 1000))
            handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: the handle lives in a sending thread
            handle.setopt(pycurl.TCP_NODELAY, 1)
            ca_file, ca_path = _trusted_certificates()
            if ca_file:
                handle.setopt(pycurl.CAINFO, ca_file)
            if ca_path:
                handle.setopt(pycurl.CAPATH, ca_path)
            self._local.handle = handle
            with self._handles_lock:
                self._handles.append(handle)
        return handle

    def close(self) -> None:
        with self._handles_lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()
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
                Outcome.RETRY, error_code=code, error=error, retry_after=_retry_after(headers.get("retry-after"))
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


_CURL_ERRORS = {
    pycurl.E_COULDNT_CONNECT: "connection refused",
    pycurl.E_COULDNT_RESOLVE_HOST: "host not found",
    pycurl.E_OPERATION_TIMEDOUT: "timed out",
    pycurl.E_GOT_NOTHING: "connection closed without an answer",
    pycurl.E_RECV_ERROR: "connection broken while reading",
    pycurl.E_SEND_ERROR: "connection broken while sending",
    pycurl.E_SSL_CONNECT_ERROR: "TLS handshake failed",
    pycurl.E_PEER_FAILED_VERIFICATION: "TLS certificate not trusted",
}


def _trusted_certificates() -> tuple[str, str]:
    """The system's trusted CA certificates (file, directory), as Python's own TLS finds them."""
    paths = ssl.get_default_verify_paths()
    ca_file = os.environ.get(paths.openssl_cafile_env) or paths.cafile or ""
    ca_path = os.environ.get(paths.openssl_capath_env) or paths.capath or ""
    return (ca_file if os.path.isfile(ca_file) else ""), (ca_path if os.path.isdir(ca_path) else "")


def _response_headers(lines: list[bytes]) -> dict[str, str]:
    """The final answer's headers, names in lower case (an interim "100 Continue" block is dropped)."""
    headers: dict[str, str] = {}
    for line in lines:
        if line.startswith(b"HTTP/"):
            headers.clear()
            continue
        name, colon, value = line.decode("latin-1").partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


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
