"""Readers for the fields of a webhook body, shared by the platform mappers.

Each reader takes a value and its path in the body (e.g. ``line_items[2].quantity``) and returns
the typed value, or raises `PayloadError` whose message starts with that path. Optional values
that are absent (missing key, ``null``, ``""``) come back as the stated default instead.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from .snapshots import PayloadError

ZERO = Decimal("0")
# Larger amounts are a broken body, not an order: no money column holds them.
MONEY_LIMIT = Decimal("1e15")
_DIGITS = re.compile(r"[0-9]+")


def shown(value: object) -> str:
    """A short rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def path_of(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def is_absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_digits(text: str) -> bool:
    return bool(_DIGITS.fullmatch(text))


def body_object(body: object) -> dict:
    if not isinstance(body, dict):
        raise PayloadError(f"body: not a JSON object (got {type(body).__name__})")
    return body


def optional_object(value: object, path: str) -> dict:
    """A nested object that may be absent: {} for null, and for PHP's ``[]`` (an empty array)."""
    if value is None or value == []:
        return {}
    if isinstance(value, dict):
        return value
    raise PayloadError(f"{path}: not an object")


def object_list(value: object, path: str) -> list[tuple[str, dict]]:
    """A list of objects that may be absent, each with its own path: [("line_items[0]", {...}), ...]."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{path}: not a list")
    result = []
    for index, element in enumerate(value):
        element_path = f"{path}[{index}]"
        if not isinstance(element, dict):
            raise PayloadError(f"{element_path}: not an object")
        result.append((element_path, element))
    return result


def discount_codes(value: object, path: str) -> tuple[str, ...]:
    """The `code` of each object of a list (Shopify `discount_codes`, WooCommerce `coupon_lines`), in order,
    without blanks and repeats."""
    if value in ({}, ""):  # PHP's empty array as an object
        return ()
    codes: list[str] = []
    for element_path, element in object_list(value, path):
        code = text(element.get("code"))
        if len(code) > 100:
            raise PayloadError(f"{element_path}.code: longer than 100 characters")
        if code and code not in codes:
            codes.append(code)
    return tuple(codes)


def text(value: object) -> str:
    """Free text as received (outer spaces trimmed); "" for null, booleans (PHP's false) and objects."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal):
        return str(value)
    return ""


def first_text(*values: object) -> str:
    for value in values:
        found = text(value)
        if found:
            return found
    return ""


def first_text_in(value: object) -> str:
    """The first non-empty text of a list such as ``tracking_numbers``; "" when there is none."""
    if not isinstance(value, list):
        return ""
    return first_text(*value)


def external_id(value: object, path: str, *, required: bool = False) -> str | None:
    """An id as text. Ids are 64-bit integers: a float has already lost digits, so it is refused."""
    if is_absent(value):
        if required:
            raise PayloadError(f"{path}: missing")
        return None
    if isinstance(value, bool | float):
        raise PayloadError(f"{path}: not an integer id ({shown(value)})")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    raise PayloadError(f"{path}: not an id ({shown(value)})")


def money(value: object, path: str, *, default: Decimal | None = None) -> Decimal:
    """A decimal string ("409.94") or a JSON number (3, 12.5) as Decimal; `default` when absent."""
    if is_absent(value):
        if default is None:
            raise PayloadError(f"{path}: missing")
        return default
    if isinstance(value, bool):
        raise PayloadError(f"{path}: not a decimal amount ({shown(value)})")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float):
        amount = Decimal(str(value))  # str() gives the short form a float was written as in JSON
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise PayloadError(f"{path}: not a decimal amount ({shown(value)})") from None
    else:
        raise PayloadError(f"{path}: not a decimal amount ({shown(value)})")
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise PayloadError(f"{path}: not a usable amount ({shown(value)})")
    return amount


def whole_number(value: object, path: str) -> int:
    """A count such as a quantity: an int, an integral float (2.0) or a digit string ("2"); never negative."""
    if is_absent(value):
        raise PayloadError(f"{path}: missing")
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and is_digits(value.strip()):
        number = int(value.strip())
    if number is None:
        raise PayloadError(f"{path}: not a whole number ({shown(value)})")
    if number < 0:
        raise PayloadError(f"{path}: negative ({shown(value)})")
    return number


def timestamp(value: object, path: str, *, required: bool = False) -> dt.datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime; one without a zone is taken as UTC.

    A required one that is absent or unreadable raises; an optional one comes back as None.
    """
    if is_absent(value):
        if required:
            raise PayloadError(f"{path}: missing")
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:  # well-formed but impossible, e.g. month 13 or WordPress's 0000-00-00
            parsed = None
    if parsed is None:
        if required:
            raise PayloadError(f"{path}: not an ISO 8601 date-time ({shown(value)})")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
