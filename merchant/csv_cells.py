"""Cells of the CSV files the admin exports: text a spreadsheet shows, never a formula it runs."""

import datetime as dt
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """A CSV cell a spreadsheet shows as text, never runs (OWASP CSV injection): customers write names,
    reviews and emails, and a leading `=` or `@` must not become a formula on a staff member's machine."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)  # a number, even a negative one (a lift of -3.2 points), is never a formula
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
