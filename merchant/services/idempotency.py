"""Idempotency-Key: the first answer to an API write is kept and replayed for repeats of it."""

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from merchant.models import IdempotencyRecord, Merchant

KEEP_FOR = dt.timedelta(hours=24)


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def idempotency_record_get(*, shop: Merchant, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(shop=shop, key=key).first()


def idempotency_record_save(
    *, shop: Merchant, key: str, fingerprint: str, status: int, body: dict
) -> IdempotencyRecord:
    """Keep the first answer for this key; a concurrent twin that saved first wins."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                shop=shop, key=key, request_fingerprint=fingerprint, response_status=status, response_body=body
            )
    except IntegrityError:
        return IdempotencyRecord.objects.get(shop=shop, key=key)


def idempotency_records_prune() -> int:
    """Forget keys older than 24 hours (the window clients may retry in)."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - KEEP_FOR).delete()
    return deleted
