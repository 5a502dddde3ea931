"""A platform's locale text ("de-DE", "zh_CN", "zh-Hans", "en-US") as one of our language codes."""

import re

from django.conf import settings

# Chinese is told apart by script; regions stand in for the script when none is given.
_SIMPLIFIED_REGIONS = frozenset({"cn", "sg", "my"})
_TRADITIONAL_REGIONS = frozenset({"tw", "hk", "mo"})


def _supported() -> frozenset[str]:
    return frozenset(code.lower() for code, _name in settings.LANGUAGES)


def _chinese(subtags: list[str]) -> str:
    if "hans" in subtags:
        return "zh-hans"
    if "hant" in subtags or _TRADITIONAL_REGIONS.intersection(subtags):
        return "zh-hant"
    # "zh", "zh-CN", "zh-SG": mainland usage, written in simplified characters.
    return "zh-hans"


def language_from_locale(text: object) -> str:
    """One of the settings.LANGUAGES codes, or "" when the locale is absent, unknown or unsupported.

    >>> language_from_locale("de-DE"), language_from_locale("zh-CN"), language_from_locale("zh-TW")
    ('de', 'zh-hans', '')
    """
    if not isinstance(text, str):
        return ""
    # "de_DE.UTF-8@euro" -> "de-de"; WordPress and POSIX write "_", BCP 47 writes "-".
    tag = re.split(r"[.@]", text.strip().lower().replace("_", "-"), maxsplit=1)[0]
    parts = [part for part in tag.split("-") if part]
    if not parts:
        return ""
    candidates = []
    if parts[0] == "zh":
        candidates.append(_chinese(parts[1:]))
    else:
        if len(parts) > 1:
            candidates.append(f"{parts[0]}-{parts[1]}")  # a regional code we might list, e.g. "pt-br"
        candidates.append(parts[0])
    supported = _supported()
    for candidate in candidates:
        if candidate in supported:
            return candidate
    return ""
