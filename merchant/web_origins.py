"""Web origins ("https://shop.example.com"): the one place a shop's storefront is named for CORS."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def origin_normalize(value: str) -> str:
    """`value` as a browser sends it in `Origin`: scheme and host in lower case, no path, no trailing slash.

    Returns the input unchanged (stripped) when it cannot be read as an origin; `origin_validate` says why.
    """
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if not parts.scheme or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        return value
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def origin_validate(value: str) -> None:
    """Refuse anything that is not exactly an origin: https (http only for localhost), a host, no path."""
    if not value:
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValidationError(_("“%s” is not a web address.") % value) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError(_("Give the address with https://, e.g. https://shop.example.com."))
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValidationError(_("Use https:// (plain http:// only for localhost)."))
    if parts.username or parts.password or parts.path or parts.query or parts.fragment:
        raise ValidationError(_("Give only the address of the shop, e.g. https://shop.example.com, without a path."))
    if origin_normalize(value) != value:
        raise ValidationError(_("Write it as %s.") % origin_normalize(value))
