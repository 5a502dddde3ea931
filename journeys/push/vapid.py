"""The application server's VAPID key pair (RFC 8292), which signs every browser notification we send.

A browser subscribes with our public key (`applicationServerKey`); push services then take only
notifications signed with the matching private key. The pair comes from VAPID_PRIVATE_KEY (and
VAPID_PUBLIC_KEY, checked against it). Without one, a development checkout (DEBUG) generates a pair
once and keeps it in `VAR_DIR/dev-vapid-private-key`, so `make run` offers notifications without any
configuration and subscriptions survive restarts; production without keys offers none.
"""

import base64
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid

DEV_KEY_FILE = "dev-vapid-private-key"


@dataclass(frozen=True)
class VapidKeys:
    signer: Vapid
    # The uncompressed P-256 point, base64url without padding: what `applicationServerKey` takes.
    public_key: str
    subject: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_of(private_key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(
        private_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def private_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The raw 32-byte private value as base64url: the form VAPID_PRIVATE_KEY takes."""
    return b64url(private_key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_signer_from_text(text: str) -> Vapid:
    """A signer from VAPID_PRIVATE_KEY's text: PEM, or base64url of the raw 32 bytes or of DER."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            signer = Vapid(serialization.load_pem_private_key(text.encode(), password=None))
        else:
            signer = Vapid.from_string(text)
        key = signer.private_key
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("not a P-256 key")
        return signer
    except Exception as error:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY is not a P-256 private key (base64url of the raw 32 bytes, DER, or PEM)."
        ) from error


def _subject() -> str:
    subject = settings.VAPID_SUBJECT or f"mailto:{settings.DEFAULT_FROM_EMAIL}"
    if not subject.startswith(("mailto:", "https://")):
        raise ImproperlyConfigured(f"VAPID_SUBJECT must start with mailto: or https://, not {subject!r}.")
    return subject


def _dev_private_key_text() -> str:
    """The development pair's private key, generated on first use and kept under VAR_DIR."""
    path = Path(settings.VAR_DIR) / DEV_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = private_key_text(ec.generate_private_key(ec.SECP256R1()))
    path.write_text(text + "\n")
    path.chmod(0o600)
    return text


_cache: dict[tuple, VapidKeys | None] = {}
_lock = threading.Lock()


def vapid_keys() -> VapidKeys | None:
    """The configured (or development) key pair; None when notifications are not offered (production, no keys).

    Raises ImproperlyConfigured for a key that does not parse, a public key that does not match the
    private one, or a subject that is neither mailto: nor https:.
    """
    configured = (
        settings.VAPID_PRIVATE_KEY,
        settings.VAPID_PUBLIC_KEY,
        settings.VAPID_SUBJECT,
        settings.DEBUG,
        str(settings.VAR_DIR),
        settings.DEFAULT_FROM_EMAIL,
    )
    with _lock:
        if configured not in _cache:
            _cache.clear()
            _cache[configured] = _vapid_keys_load()
        return _cache[configured]


def _vapid_keys_load() -> VapidKeys | None:
    text = settings.VAPID_PRIVATE_KEY
    if not text:
        if not settings.DEBUG:
            return None
        text = _dev_private_key_text()
    signer = vapid_signer_from_text(text)
    public_key = public_key_of(signer.private_key)
    if settings.VAPID_PUBLIC_KEY and settings.VAPID_PUBLIC_KEY.rstrip("=") != public_key:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY.")
    return VapidKeys(signer=signer, public_key=public_key, subject=_subject())
