"""Signed ids in customer links (review page, return portal, satisfaction survey): made and read one way.

A token is `django.core.signing` over a pair of ids (the thing the link opens and its shop) with a
salt of its own per kind of link, and the moment it was made. Nobody can make one for other ids, a
token of one kind opens nothing of another, and each page decides itself how long its links work
from `issued_at`.
"""

import datetime as dt
from dataclasses import dataclass

from django.core import signing


@dataclass(frozen=True)
class SignedIds:
    object_id: int
    shop_id: int
    issued_at: dt.datetime  # when the link was made (when the message carrying it was sent)


def signed_ids_make(*, object_id: int, shop_id: int, salt: str) -> str:
    return signing.dumps([object_id, shop_id], salt=salt)


def signed_ids_read(token: str, *, salt: str) -> SignedIds | None:
    """What a genuine token names and when it was made, whatever its age; None for anything tampered or made up."""
    try:
        value = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(part) is int for part in value)):
        return None
    # The signature covers "payload:timestamp", so the timestamp of a genuine token is genuine too.
    issued = dt.datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), tz=dt.UTC)
    return SignedIds(object_id=value[0], shop_id=value[1], issued_at=issued)
