"""Our date formats: corrections of Django's per language (`<locale>/formats.py`, found through
FORMAT_MODULE_PATH), and formats Django has no name for, looked up in the same modules.

Django names formats of a date or of a time; a page that shows a day with its time wrote "<day>, <time>",
which reads "12月6日, 14:02" in Chinese where "12月6日 14:02" is natural. `date_named(value, name)` formats
with one of the names below, in the active language: a language's module may define it, else the default
here applies (written as English and German read it).
"""

import datetime as dt
from collections.abc import Callable

from django.utils import dateformat, formats, translation

EXTRA_FORMATS: dict[str, Callable[[], str]] = {
    # A day of the month with its time: "December 6, 2:02 p.m.", "6. Dezember, 14:02", "6 декабря, 14:02".
    "MONTH_DAY_TIME_FORMAT": lambda: f"{formats.get_format('MONTH_DAY_FORMAT')}, {formats.get_format('TIME_FORMAT')}",
    # A day in a chart's label or a short line: "6 Dec", "6 Dez.".
    "SHORT_MONTH_DAY_FORMAT": lambda: "j M",
    # A month in a chart's label: "Dec 2026".
    "SHORT_YEAR_MONTH_FORMAT": lambda: "M Y",
    # A day of a period on the dashboard: "6 Dec 2026".
    "SHORT_DAY_FORMAT": lambda: "j M Y",
}


def extra_format(name: str, *, language: str | None = None) -> str:
    """The format called `name` (one of EXTRA_FORMATS) in `language` (default: the active one)."""
    if name not in EXTRA_FORMATS:
        raise ValueError(f"“{name}” is not one of {sorted(EXTRA_FORMATS)}.")
    language = language or translation.get_language() or "en"
    for module in formats.get_format_modules(language):
        found = getattr(module, name, None)
        if found:
            return found
    with translation.override(language):
        return EXTRA_FORMATS[name]()


def date_named(value: dt.date | dt.datetime, name: str) -> str:
    """`value` written with the format called `name` in the active language, e.g. "12月6日 14:02". An aware
    datetime is written as it is: convert it to the reader's zone first (the template filter does)."""
    return dateformat.format(value, extra_format(name))
