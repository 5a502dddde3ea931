"""Rate limits per provider account, shared by every dispatcher through one database row.

A token bucket: `rate_per_second` tokens flow in, at most `burst` are kept. Taking tokens is one
short locked transaction, so dispatchers on several machines never exceed the provider's limit
together.
"""

import datetime as dt

from django.db import transaction
from django.db.models import F

from journeys.models import ProviderBucket
from journeys.providers.base import RateLimit


@transaction.atomic
def bucket_take(*, key: str, limit: RateLimit, wanted: int, now: dt.datetime) -> int:
    """Take up to `wanted` tokens now; returns how many were granted (0 when the bucket is empty)."""
    bucket, _created = ProviderBucket.objects.select_for_update().get_or_create(
        key=key,
        defaults={"rate_per_second": limit.per_second, "burst": limit.burst, "tokens": limit.burst, "refilled_at": now},
    )
    elapsed = max((now - bucket.refilled_at).total_seconds(), 0.0)
    tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
    granted = max(0, min(wanted, int(tokens)))
    bucket.tokens = tokens - granted
    bucket.refilled_at = max(now, bucket.refilled_at)
    bucket.rate_per_second, bucket.burst = limit.per_second, limit.burst
    bucket.save(update_fields=["tokens", "refilled_at", "rate_per_second", "burst"])
    return granted


def bucket_give_back(*, key: str, tokens: int) -> None:
    """Return tokens taken but not used (fewer messages were due than were granted)."""
    if tokens > 0:
        ProviderBucket.objects.filter(key=key).update(tokens=F("tokens") + tokens)


def bucket_wait_seconds(*, limit: RateLimit) -> float:
    """How long until one token flows in."""
    return 1.0 / limit.per_second if limit.per_second > 0 else 1.0
