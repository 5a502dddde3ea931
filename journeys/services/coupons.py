"""Coupon pools and their single-use codes. Handing a code to a message is the dispatcher's job."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from journeys.models import Coupon, CouponPool

CODE_MAX_LENGTH = Coupon._meta.get_field("code").max_length
_LOOKUP_CHUNK = 500  # stays under every database's limit of query parameters


def coupon_pool_save(*, pool: CouponPool) -> CouponPool:
    """Create or rename a pool; a name used by another pool of the shop is refused."""
    pool.full_clean()
    pool.save()
    return pool


def coupon_codes_parse(text: str) -> list[str]:
    """The codes of a pasted text, one per line; empty lines are skipped.

    Raises ValidationError naming each line whose code is too long or holds spaces.
    """
    codes, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.strip()
        if not code:
            continue
        if len(code) > CODE_MAX_LENGTH:
            problems.append(
                _("Line %(line)d: longer than %(max)d characters.") % {"line": number, "max": CODE_MAX_LENGTH}
            )
        elif any(char.isspace() for char in code):
            problems.append(
                _("Line %(line)d: “%(code)s” holds a space; put one code per line.") % {"line": number, "code": code}
            )
        else:
            codes.append(code)
    if problems:
        raise ValidationError(problems)
    return codes


@transaction.atomic
def coupon_codes_add(*, pool: CouponPool, codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """Add codes to a pool. Returns (added, duplicates): codes the pool had already, or that were given
    twice, are reported and skipped; they never fail the rest."""
    codes = coupon_codes_parse("\n".join(codes))
    # One writer per pool at a time, so "added" is exact even when two people paste at once.
    CouponPool.objects.select_for_update().filter(pk=pool.pk).exists()
    existing: set[str] = set()
    for start in range(0, len(codes), _LOOKUP_CHUNK):
        chunk = codes[start : start + _LOOKUP_CHUNK]
        existing.update(Coupon.objects.filter(pool=pool, code__in=chunk).values_list("code", flat=True))
    added, duplicates, seen = [], [], set()
    for code in codes:
        if code in existing or code in seen:
            duplicates.append(code)
        else:
            added.append(code)
        seen.add(code)
    Coupon.objects.bulk_create([Coupon(pool=pool, code=code) for code in added], batch_size=1000)
    return added, duplicates
