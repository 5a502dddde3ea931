"""A local fake Web Push service for tests (a push service as browsers' vendors run them, on 127.0.0.1).

It plays both sides the application never sees: the browser, which subscribes with our VAPID public
key and holds the keys notifications are encrypted for, and the push service, which takes the
notifications. For each POST to a subscription's endpoint it checks, independently of the
application's own code, what a real push service checks (RFC 8030, 8291, 8292):

- `Authorization: vapid t=<JWT>, k=<public key>`: k is the key the browser subscribed with, the
  JWT is signed (ES256) with it, `aud` is this service's origin, `exp` lies within 24 hours, `sub`
  is a mailto: or https: contact. Otherwise 403, as FCM answers.
- `TTL` is present; `Content-Encoding: aes128gcm`; `Urgency`, when sent, is one of RFC 8030's.
- The body decrypts with the browser's private key and auth secret (RFC 8291) to the notification.

It then answers 201 with a Location, or what the test scripted: `fail_next.append((410, {}))` for
the next request, `gone.add(endpoint)` for every request to one subscription (410), or
`(429, {"Retry-After": "120"})`.

    with FakePushService(application_server_key=keys.public_key) as service:
        browser = service.subscribe()          # browser.subscription_json is what toJSON() gives
        ...
        [notification] = service.notifications  # .payload (decrypted JSON), .headers, .claims
"""

import base64
import json
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

URGENCIES = frozenset({"very-low", "low", "normal", "high"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeBrowser:
    """One browser's push subscription: what it gives the page, and the private half it decrypts with."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(public)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    @property
    def subscription_json(self) -> dict:
        """What `PushSubscription.toJSON()` gives the page's script."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class Received:
    """A notification the service took: its endpoint, headers, VAPID claims, and decrypted payload."""

    endpoint: str
    headers: dict[str, str]
    claims: dict
    payload: dict
    at: float = field(default_factory=time.time)


class VapidRefused(Exception):
    pass


def vapid_verify(authorization: str, *, application_server_key: str, audience: str) -> dict:
    """The JWT's claims when `authorization` is a valid RFC 8292 header for this service; else VapidRefused."""
    scheme, _space, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRefused(f"scheme {scheme!r} is not vapid")
    parts = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    token, key = parts.get("t", ""), parts.get("k", "")
    if key.rstrip("=") != application_server_key.rstrip("="):
        raise VapidRefused("k is not the key the browser subscribed with")
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        signature = b64url_decode(signature_b64)
        if len(signature) != 64:
            raise VapidRefused("the signature is not 64 bytes (raw r||s)")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
    except (ValueError, InvalidSignature) as error:
        raise VapidRefused(f"the JWT does not verify: {error!r}") from None
    if header.get("alg") != "ES256":
        raise VapidRefused(f"alg {header.get('alg')!r} is not ES256")
    if claims.get("aud") != audience:
        raise VapidRefused(f"aud {claims.get('aud')!r} is not {audience!r}")
    now = time.time()
    if not now < int(claims.get("exp", 0)) <= now + 24 * 3600:
        raise VapidRefused("exp is not within the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidRefused("sub is not a mailto: or https: contact")
    return claims


class FakePushService:
    def __init__(self, *, application_server_key: str) -> None:
        self.application_server_key = application_server_key
        self.browsers: dict[str, FakeBrowser] = {}
        self.notifications: list[Received] = []
        self.refused: list[tuple[int, str]] = []  # (status, why) of requests the service refused itself
        self.fail_next: deque[tuple[int, dict[str, str]]] = deque()
        self.gone: set[str] = set()
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-push", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakePushService":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def subscribe(self) -> FakeBrowser:
        """A browser subscribes: a fresh P-256 key pair and auth secret, and an endpoint here."""
        browser = FakeBrowser(
            endpoint=f"{self.base_url}/wpush/v2/{uuid.uuid4().hex}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
        )
        self.browsers[browser.endpoint] = browser
        return browser

    def received_by(self, browser: FakeBrowser) -> list[Received]:
        return [received for received in self.notifications if received.endpoint == browser.endpoint]

    def _answer(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        endpoint = self.base_url + handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        with self._lock:
            self.requests += 1
            scripted = self.fail_next.popleft() if self.fail_next else None
        if scripted is not None:
            return scripted[0], scripted[1], b""
        browser = self.browsers.get(endpoint)
        if browser is None or endpoint in self.gone:
            return 410, {}, b"push subscription has unsubscribed or expired."
        headers = {name.lower(): value for name, value in handler.headers.items()}
        try:
            claims = vapid_verify(
                headers.get("authorization", ""),
                application_server_key=self.application_server_key,
                audience=self.base_url,
            )
        except VapidRefused as error:
            self.refused.append((403, str(error)))
            return 403, {}, str(error).encode()
        problems = []
        if not headers.get("ttl", "").isdigit():
            problems.append("TTL missing")
        if headers.get("content-encoding") != "aes128gcm":
            problems.append(f"Content-Encoding {headers.get('content-encoding')!r} is not aes128gcm")
        if "urgency" in headers and headers["urgency"] not in URGENCIES:
            problems.append(f"Urgency {headers['urgency']!r}")
        if problems:
            self.refused.append((400, "; ".join(problems)))
            return 400, {}, "; ".join(problems).encode()
        plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth_secret)
        self.notifications.append(Received(endpoint, headers, claims, json.loads(plain.decode("utf-8"))))
        return 201, {"Location": f"{self.base_url}/m/{uuid.uuid4().hex}"}, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                status, headers, body = service._answer(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
                pass

        return Handler
