"""What Twilio sends us: how its requests are signed, and what its status callbacks and error codes mean.

Twilio signs every webhook request (status callbacks, inbound texts) with the account's auth
token: `X-Twilio-Signature` is base64 HMAC-SHA1 over the full URL it requested followed by the
POST parameters, as in `twilio/twilio-python:twilio/request_validator.py`.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

# MessageStatus of a status callback -> our Message.Status. Twilio's steps before "sent" all mean
# "Twilio has it"; "read" (WhatsApp) implies delivered. Others (receiving, canceled, ...) are ignored.
CALLBACK_STATUSES: dict[str, str] = {
    "queued": "sent",
    "accepted": "sent",
    "scheduled": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}

CODE_UNSUBSCRIBED = "21610"  # the recipient replied STOP to this sender
# Codes saying the number can never take texts: the customer's number is flagged and not used again.
UNUSABLE_NUMBER_CODES = frozenset({"21211", "21614", "21635", "30005", "30006"})
# What the codes mean, for the outbox when a callback carries no ErrorMessage
# (https://www.twilio.com/docs/api/errors/<code>).
ERROR_MEANINGS: dict[str, str] = {
    "21211": "Invalid 'To' phone number",
    "21610": "The recipient replied STOP (unsubscribed)",
    "21612": "The 'To' number is not currently reachable",
    "21614": "The 'To' number is not a mobile number",
    "21635": "The 'To' number is a landline",
    "30003": "Unreachable handset",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Filtered by the carrier (carrier violation)",
    "30008": "Unknown error",
}


def request_signature(url: str, params: Mapping[str, str | Iterable[str]], auth_token: str) -> str:
    """X-Twilio-Signature of a form POST to `url`: the URL, then each parameter's name and value
    with no separator, names sorted and the values of one name sorted; HMAC-SHA1, base64."""
    parts = [url]
    for name in sorted(params):
        values = params[name]
        for value in sorted([values] if isinstance(values, str) else values):
            parts.append(f"{name}{value}")
    digest = hmac.new(auth_token.encode(), "".join(parts).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def url_port_variants(url: str) -> list[str]:
    """`url`, and the same with its default port added or removed: Twilio's own validator accepts
    both "since signature generation on the back end is inconsistent"."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))]
    if parts.port == default:
        return [url, urlunsplit(parts._replace(netloc=f"{prefix}{host}"))]
    return [url]


def signature_valid(*, urls: Iterable[str], params: Mapping[str, Iterable[str]], token: str, signature: str) -> bool:
    """Whether `signature` is Twilio's for one of `urls` (each with and without its default port).
    Every candidate is compared in constant time; none short-circuits."""
    signature = (signature or "").strip()
    if not signature or not token:
        return False
    candidates = [variant for url in urls for variant in url_port_variants(url)]
    matches = [
        hmac.compare_digest(request_signature(url, params, token).encode(), signature.encode()) for url in candidates
    ]
    return any(matches)
