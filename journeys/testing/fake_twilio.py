"""A local fake of Twilio's Messages API for tests and benchmarks (stdlib only).

It answers `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` like Twilio does: form body,
HTTP basic auth, 201 with Twilio's own sample message JSON (shared fixtures,
`twilio/message_create_response_queued.json`) with sid/to/from/body/status filled in, and
Twilio's error JSON (`{"code", "message", "more_info", "status"}`) for what Twilio refuses.
It serves HTTP/1.1 keep-alive on asyncio streams in a background thread, so many client
threads can send at once; `latency` is an `asyncio.sleep`, so concurrent requests overlap.

    with FakeTwilio(auth=("AC123", "token"), latency=0.01) as fake:
        provider = TwilioSmsProvider(account_sid="AC123", auth_token="token", base_url=fake.base_url, ...)
        fake.fail_next.append((429, error_body(20429, "Too Many Requests", 429) | {"retry_after": 2}))

It also plays Twilio's side of the webhooks: `status_callback_request` and `inbound_request`
build a status callback or an incoming text as Twilio would POST it, signed with the auth token
(`X-Twilio-Signature`, computed here independently of the application's own code); tests post
them with Django's test client, or `post` sends one to a live server. `fail_with(21610, to=...)`
scripts Twilio's documented error answers; `set_status(sid, "undelivered", error_code=30007)`
changes what a message fetch (GET .../Messages/{sid}.json) and the next callback report.
`report_before_answer = "delivered"` makes the fake POST that status callback to the message's
StatusCallback before it answers the send, as Twilio can: the sender has not recorded the sid yet.

Run alone: `python -m journeys.testing.fake_twilio --port 8765 --latency 0.02`.
"""

import argparse
import asyncio
import base64
import binascii
import copy
import email.utils
import hashlib
import hmac
import http
import json
import math
import os
import re
import secrets
import signal
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

FIXTURE_NAME = "twilio/message_create_response_queued.json"
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
MESSAGE_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")
API_VERSION = "2010-04-01"

# Twilio's API answers for the errors tests need: (HTTP status, message).
ERRORS: dict[int, tuple[int, str]] = {
    21211: (400, "The 'To' number is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21635: (400, "'To' number cannot be a landline"),
    20429: (429, "Too Many Requests"),
}
# Errors that are not API answers: they come later, in status callbacks and message fetches
# (30007 as in the shared fixture twilio/message_fetch_response_error_30007.json).
DELIVERY_ERRORS: dict[int, str] = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Carrier violation",
}
E164 = re.compile(r"^(?:whatsapp:)?\+[1-9]\d{1,14}$")

# GSM 03.38: one septet each for the basic set, two for the extension table; anything else is UCS-2.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def fixtures_dir() -> Path:
    """The shared third-party fixtures beside the repository (as the project's tests find them)."""
    override = os.environ.get("MERCHANT_FIXTURES_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "external"


def error_body(code: int, message: str, status: int) -> dict:
    """Twilio's REST error JSON."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def twilio_error(code: int, *, retry_after: float | None = None) -> tuple[int, dict]:
    """(HTTP status, JSON body) Twilio answers for an API error `code` (21211, 21610, 21614, 21635, 20429 or 429)."""
    code = 20429 if code == 429 else code
    if code not in ERRORS:
        raise ValueError(f"{code} is not an API error the fake knows; see ERRORS (30007 is a DELIVERY_ERRORS code)")
    status, message = ERRORS[code]
    body = error_body(code, message, status)
    if retry_after is not None:
        body["retry_after"] = retry_after
    return status, body


def most_in_any_window(times: list[float], *, seconds: float = 1.0) -> int:
    """The largest number of `times` within any `seconds` (a sliding window): a rate limit's test."""
    times = sorted(times)
    most, first = 0, 0
    for last, arrived in enumerate(times):
        while arrived - times[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """X-Twilio-Signature as Twilio computes it: base64 HMAC-SHA1 of the URL and the sorted name+value pairs."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class SignedRequest(NamedTuple):
    """A webhook request as Twilio would send it: POST `params` form-encoded to `url` with the signature."""

    url: str
    params: dict[str, str]
    signature: str


def num_segments(body: str) -> int:
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in body):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


class FakeTwilio:
    """Fake Twilio Messages API. Knobs (`latency`, `fail_next`, `fail_to`, `auth`) may change at runtime."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        fail_next: list[tuple[int, dict]] | None = None,
        fail_to: dict[str, tuple[int, dict]] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        # Scripted answers for the next requests to the Messages endpoint, in order: (status, JSON body).
        # A 429 whose body has "retry_after" gets that as its Retry-After header (the key is not sent).
        self.fail_next: list[tuple[int, dict]] = list(fail_next or [])
        # Scripted answers for every valid message to a given 'To' (deterministic under concurrency).
        self.fail_to: dict[str, tuple[int, dict]] = dict(fail_to or {})
        # (account_sid, auth_token) the Basic auth header must carry; None accepts any.
        self.auth = auth
        # A status ("delivered") to report to the StatusCallback before answering each send; the
        # answers of those callbacks are kept in `early_reports` as (HTTP status, body).
        self.report_before_answer: str | None = None
        self.early_reports: list[tuple[int, bytes]] = []
        self.messages: list[dict] = []
        self.request_count = 0
        self._template = json.loads((fixtures_dir() / FIXTURE_NAME).read_text(encoding="utf-8"))
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[tuple[asyncio.Task, asyncio.StreamWriter]] = set()
        self._date_cache = (0, "")

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("FakeTwilio is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FakeTwilio":
        if self._thread is not None:
            raise RuntimeError("FakeTwilio is already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="fake-twilio", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._thread = None
            self._loop = None
            self._server = None

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
            )
        except OSError as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()

    async def _shutdown(self) -> None:
        self._server.close()
        for task, writer in list(self._connections):
            writer.close()
            task.cancel()
        await asyncio.gather(*(task for task, _ in list(self._connections)), return_exceptions=True)
        await self._server.wait_closed()

    # -- what tests read ---------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.messages)

    def bodies_by_to(self) -> dict[str, list[str]]:
        with self._lock:
            messages = list(self.messages)
        bodies: dict[str, list[str]] = defaultdict(list)
        for message in messages:
            bodies[message["to"]].append(message["body"])
        return dict(bodies)

    def most_in_any_window(self, *, seconds: float = 1.0, account_sid: str | None = None) -> int:
        """The largest number of accepted messages that arrived within any `seconds` (a sliding window)."""
        with self._lock:
            times = [m["received_at"] for m in self.messages if account_sid is None or m["account_sid"] == account_sid]
        return most_in_any_window(times, seconds=seconds)

    def message(self, sid: str) -> dict:
        with self._lock:
            return next(message for message in self.messages if message["sid"] == sid)

    # -- scripting errors and statuses -------------------------------------------------------------

    def fail_with(self, code: int, *, to: str | None = None, retry_after: float | None = None) -> None:
        """Answer Twilio's error `code` for every message to `to`, or else for the next request."""
        answer = twilio_error(code, retry_after=retry_after)
        with self._lock:
            if to is None:
                self.fail_next.append(answer)
            else:
                self.fail_to[to] = answer

    def set_status(self, sid: str, status: str, *, error_code: int | None = None, error_message: str = "") -> dict:
        """What Twilio now says about a message: its fetch and its next status callback report this."""
        if error_code is not None and not error_message:
            error_message = DELIVERY_ERRORS.get(error_code) or ERRORS.get(error_code, (0, ""))[1]
        with self._lock:
            message = next(message for message in self.messages if message["sid"] == sid)
            message.update(status=status, error_code=error_code, error_message=error_message or None)
            return dict(message)

    # -- Twilio's requests to the application --------------------------------------------------------

    def _token(self, auth_token: str | None) -> str:
        token = auth_token or (self.auth[1] if self.auth else "")
        if not token:
            raise ValueError("give auth_token, or start the fake with auth=(account_sid, auth_token)")
        return token

    def status_callback_request(
        self,
        sid: str,
        status: str | None = None,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
        url: str | None = None,
        auth_token: str | None = None,
    ) -> SignedRequest:
        """The status callback Twilio POSTs to the message's StatusCallback (or `url`) for `status`
        (default: the message's current one), signed with the account's auth token."""
        message = self.message(sid)
        status = status or message.get("status") or "sent"
        if error_code is None:
            error_code = message.get("error_code")
        if error_message is None:
            error_message = message.get("error_message") or DELIVERY_ERRORS.get(error_code or 0, "")
        params = {
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": message["to"],
            "MessageSid": sid,
            "AccountSid": message["account_sid"],
            "ApiVersion": API_VERSION,
        }
        if message.get("from"):
            params["From"] = message["from"]
        if message.get("messaging_service_sid"):
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code:
            params["ErrorCode"] = str(error_code)
            if error_message:
                params["ErrorMessage"] = error_message
        target = url or message.get("status_callback")
        if not target:
            raise ValueError(f"message {sid} was sent without a StatusCallback; give url")
        return SignedRequest(target, params, signature(target, params, self._token(auth_token)))

    def inbound_request(
        self,
        url: str,
        *,
        from_: str,
        to: str,
        body: str,
        account_sid: str | None = None,
        auth_token: str | None = None,
        **extra: str,
    ) -> SignedRequest:
        """An incoming text as Twilio POSTs it to the number's webhook `url`; `extra` adds parameters
        such as MessagingServiceSid or OptOutType (Advanced Opt-Out)."""
        account_sid = account_sid or (self.auth[0] if self.auth else "")
        sid = "SM" + uuid.uuid4().hex
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": body,
            "To": to,
            "NumSegments": str(num_segments(body)),
            "MessageSid": sid,
            "AccountSid": account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
            **extra,
        }
        return SignedRequest(url, params, signature(url, params, self._token(auth_token)))

    @staticmethod
    def post(request: SignedRequest, *, timeout: float = 10.0) -> tuple[int, bytes]:
        """Send a signed request over HTTP as Twilio does (to a live server). Returns (status, body)."""
        http_request = Request(  # noqa: S310 - a URL the test chose
            request.url,
            data=urlencode(request.params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": request.signature,
                "User-Agent": "TwilioProxy/1.1",
            },
            method="POST",
        )
        try:
            with urlopen(http_request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read()
        except HTTPError as error:
            return error.code, error.read()

    def _report_early(self, sid: str) -> None:
        answer = self.post(self.status_callback_request(sid, self.report_before_answer))
        with self._lock:
            self.early_reports.append(answer)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.fail_next.clear()
            self.fail_to.clear()
            self.early_reports.clear()
            self.request_count = 0

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        entry = (asyncio.current_task(), writer)
        self._connections.add(entry)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    await self._write(writer, 400, error_body(400, "Bad Request", 400), {}, keep_alive=False)
                    return
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    await self._write(writer, 411, error_body(411, "Length Required", 411), {}, keep_alive=False)
                    return
                try:
                    length = int(headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if length < 0:
                    await self._write(writer, 400, error_body(400, "Bad Content-Length", 400), {}, keep_alive=False)
                    return
                body = await reader.readexactly(length) if length else b""
                arrived_at = time.time()  # before the simulated latency: when the request reached us
                connection = headers.get("connection", "").lower()
                keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
                latency = self.latency
                if latency > 0:
                    await asyncio.sleep(latency)
                status, payload, extra = self._respond(method, target, headers, body, arrived_at)
                if status == 201 and self.report_before_answer and self.message(payload["sid"])["status_callback"]:
                    await asyncio.get_running_loop().run_in_executor(None, self._report_early, payload["sid"])
                await self._write(writer, status, payload, extra, keep_alive)
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # stop(): end quietly (a task left cancelled makes asyncio's stream callback log a traceback).
            return
        finally:
            self._connections.discard(entry)
            writer.close()

    async def _write(
        self, writer: asyncio.StreamWriter, status: int, payload: dict, extra: dict[str, str], keep_alive: bool
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [
            f"HTTP/1.1 {status} {phrase}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(data)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head.extend(f"{name}: {value}" for name, value in extra.items())
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()

    def _respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes, arrived_at: float
    ) -> tuple[int, dict, dict]:
        """(status, JSON body, extra headers) for one request; runs on the loop's thread."""
        path = urlsplit(target).path
        fetch = MESSAGE_PATH.match(path)
        if method == "GET" and fetch:
            return self._fetch(headers, *fetch.groups())
        match = MESSAGES_PATH.match(path)
        if method != "POST" or not match:
            return 404, error_body(20404, f"The requested resource {path} was not found", 404), {}
        account_sid = match.group(1)
        with self._lock:
            self.request_count += 1
            scripted = self.fail_next.pop(0) if self.fail_next else None
        if scripted is not None:
            return self._scripted(*scripted)

        if self.auth is not None and not self._authorized(headers.get("authorization", ""), account_sid):
            return 401, error_body(20003, "Authenticate", 401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}

        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        to = form.get("To", [""])[0]
        from_ = form.get("From", [""])[0]
        service = form.get("MessagingServiceSid", [""])[0]
        text = form.get("Body", [""])[0]
        if not to:
            return 400, error_body(21604, "A 'To' phone number is required.", 400), {}
        if not from_ and not service:
            return 400, error_body(21603, "A 'From' phone number is required.", 400), {}
        if not text:
            return 400, error_body(21602, "Message body is required.", 400), {}
        if not E164.match(to):
            return 400, error_body(21211, f"The 'To' number {to} is not a valid phone number.", 400), {}
        scripted = self.fail_to.get(to)
        if scripted is not None:
            return self._scripted(*scripted)

        sid = "SM" + uuid.uuid4().hex
        callback = form.get("StatusCallback", [""])[0]
        with self._lock:
            self.messages.append(
                {
                    "sid": sid,
                    "account_sid": account_sid,
                    "to": to,
                    "from": from_ or None,
                    "messaging_service_sid": service or None,
                    "body": text,
                    "status_callback": callback or None,
                    "status": "queued" if from_ else "accepted",
                    "error_code": None,
                    "error_message": None,
                    "received_at": arrived_at,
                }
            )
        return 201, self._message_json(account_sid, sid, to, from_, service, text), {}

    def _fetch(self, headers: dict[str, str], account_sid: str, sid: str) -> tuple[int, dict, dict]:
        """GET a message: its JSON with the status and error the fake was told (e.g. 30007)."""
        if self.auth is not None and not self._authorized(headers.get("authorization", ""), account_sid):
            return 401, error_body(20003, "Authenticate", 401), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        with self._lock:
            stored = next((m for m in self.messages if m["sid"] == sid and m["account_sid"] == account_sid), None)
            stored = dict(stored) if stored else None
        if stored is None:
            return 404, error_body(20404, f"The requested resource /Messages/{sid}.json was not found", 404), {}
        message = self._message_json(
            account_sid, sid, stored["to"], stored["from"] or "", stored["messaging_service_sid"] or "", stored["body"]
        )
        message.update(
            status=stored.get("status") or message["status"],
            error_code=stored.get("error_code"),
            error_message=stored.get("error_message"),
        )
        return 200, message, {}

    def _scripted(self, status: int, payload: dict) -> tuple[int, dict, dict]:
        payload = dict(payload)
        retry_after = payload.pop("retry_after", None)
        extra = {"Retry-After": str(retry_after)} if status == 429 and retry_after is not None else {}
        return status, payload, extra

    def _authorized(self, header: str, account_sid: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected_sid, expected_token = self.auth
        return (
            secrets.compare_digest(user.encode(), expected_sid.encode())
            and secrets.compare_digest(password.encode(), expected_token.encode())
            and account_sid == expected_sid
        )

    def _message_json(self, account_sid: str, sid: str, to: str, from_: str, service: str, text: str) -> dict:
        now = int(time.time())
        if self._date_cache[0] != now:
            self._date_cache = (now, email.utils.format_datetime(datetime.fromtimestamp(now, UTC)))
        date = self._date_cache[1]
        message = copy.copy(self._template)
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        message.update(
            {
                "account_sid": account_sid,
                "sid": sid,
                "to": to,
                "from": from_ or None,
                "messaging_service_sid": service or None,
                "body": text,
                # With a Messaging Service Twilio first answers "accepted" (it picks the sender later).
                "status": "queued" if from_ else "accepted",
                "num_segments": str(num_segments(text)),
                "date_created": date,
                "date_updated": date,
                "date_sent": None,
                "uri": uri + ".json",
                "subresource_uris": {"media": uri + "/Media.json"},
                "tags": {},
            }
        )
        return message


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Twilio Messages API until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--account-sid", default="", help="require Basic auth with this account sid...")
    parser.add_argument("--auth-token", default="", help="...and this auth token")
    parser.add_argument("--arrivals", default="", help="on exit, write when each message arrived (JSON) here")
    args = parser.parse_args(argv)
    auth = (args.account_sid, args.auth_token) if args.account_sid else None
    fake = FakeTwilio(host=args.host, port=args.port, latency=args.latency, auth=auth).start()
    # Stop cleanly on SIGTERM too (and on SIGINT when started from a script, which ignores it in background jobs).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.default_int_handler)
    sys.stdout.write(fake.base_url + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        if args.arrivals:
            with open(args.arrivals, "w") as out:
                json.dump(sorted(message["received_at"] for message in fake.messages), out)
        sys.stdout.write(f"{fake.count} messages received\n")


if __name__ == "__main__":
    main()
