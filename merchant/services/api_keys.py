"""API keys: created and shown once, stored as a hash, revocable."""

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from merchant.models import ApiKey, Merchant
from merchant.services.field_updates import row_update

# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def api_key_hash(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *, shop: Merchant, name: str, kind: str = ApiKey.Kind.SECRET, rate_limit_per_minute: int = 600
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is never stored and never shown again."""
    if kind not in ApiKey.Kind.values:
        raise ValidationError({"kind": f"Kind must be one of {', '.join(ApiKey.Kind.values)}."})
    raw_key = f"{ApiKey.PREFIXES[kind]}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        shop=shop,
        name=(name or "").strip(),
        kind=kind,
        prefix=raw_key[:10],
        key_hash=api_key_hash(raw_key),
        rate_limit_per_minute=rate_limit_per_minute,
    )
    api_key.full_clean()
    api_key.save()
    return api_key, raw_key


def api_key_update(*, api_key: ApiKey, **fields: Any) -> ApiKey:
    """Rename a key or change its rate limit; the key itself never changes (create a new one)."""
    return row_update(api_key, fields=fields, allowed=("name", "rate_limit_per_minute"))


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once; requests with it answer 401 from now on. Revoking twice changes nothing."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, with its shop, or None. Records when it was last used."""
    if not raw_key or len(raw_key) > 200:
        return None
    api_key = ApiKey.objects.select_related("shop").filter(key_hash=api_key_hash(raw_key), revoked_at=None).first()
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def merchant_webhook_secret_set(*, shop: Merchant, platform: str, secret: str | None = None) -> str:
    """Set a shop's webhook signing secret (generated when not given) and return it.

    platform "generic" is the secret this back-office generates (WooCommerce uses it);
    "shopify" is the Shopify app's client secret, which Shopify signs with.
    """
    fields: dict[str, Any] = {"generic": "webhook_secret", "shopify": "shopify_webhook_secret"}
    if platform not in fields:
        raise ValidationError({"platform": "Platform must be generic or shopify."})
    secret = (secret or "").strip() or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise ValidationError({"secret": "A webhook secret must be at least 16 characters long."})
    setattr(shop, fields[platform], secret)
    shop.save(update_fields=[fields[platform], "updated_at"])
    return secret
