"""Paths of pages opened by one token (the order status page, tracked links), made without `reverse()` per token.

`reverse()` matches the URL pattern again on every call: about 40 µs, twice for every message
sent. The path around the token depends only on the URL's name, the URLconf and the script
prefix, so it is reversed once for each of those; the token is quoted the way `reverse()` quotes.
"""

import functools
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

_MARKER = "token0in0the0path"
_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted


@functools.lru_cache(maxsize=32)
def _around_token(name: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    head, _marker, tail = reverse(name, args=[_MARKER], urlconf=urlconf).partition(_MARKER)
    return head, tail


def token_path(name: str, token: str) -> str:
    """`reverse(name, args=[token])` for a URL whose one argument is a `<str:token>`."""
    if not token or "/" in token:  # not a `str` path segment: reverse() says so
        return reverse(name, args=[token])
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    head, tail = _around_token(name, urlconf, get_script_prefix())
    return head + quote(token, safe=_SAFE) + tail
