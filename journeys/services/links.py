"""Tracked links: the web links in a message become short `/l/<token>` links that count clicks.

`links_shorten` rewrites a rendered body: every http(s) URL of a text body (SMS, plain-text
email), and the `href` targets and visible URLs of an HTML body (never `src`: an image is not a
click). A URL gets one random token per message, kept in `TrackedLink`, so rendering the same
message again (a retry) gives the same short links. `tracked_link_click` counts a click and
marks the message clicked; the redirect it serves tells nobody anything about the customer, so
a forwarded message keeps working for whoever has it.
"""

import html
import json
import re
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from journeys.models import Message, TrackedLink
from journeys.prepared_statements import prepared_cursor
from journeys.token_urls import token_path

# ASCII URL characters only: a URL written straight before CJK text ("https://x.cn/a查看") ends there.
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"(<[^>]*>)")
_TRAILING = ".,;:!?'*"
_PAIRS = {")": "(", "]": "["}
MAX_URL_LENGTH = 2000  # longer ones are left as they are
TOKEN_BYTES = 8  # 11 URL-safe characters, 64 random bits


def _trim(url: str) -> str:
    """Drop sentence punctuation that follows a URL: "see https://x.example/a." or "(https://x.example)"."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def _own_link(url: str) -> bool:
    # Already short, or our unsubscribe page (kept direct: no redirect in front of an opt-out).
    base = settings.PUBLIC_BASE_URL
    return url.startswith((f"{base}/l/", f"{base}/u/"))


def _trackable(url: str) -> bool:
    return len(url) <= MAX_URL_LENGTH and not _own_link(url)


def _text_urls(text: str) -> Iterable[tuple[int, int, str]]:
    for match in _URL.finditer(text):
        url = _trim(match.group())
        if url.count("/") >= 2 and len(url) > len("https://"):
            yield match.start(), match.start() + len(url), url


def _html_chunks(text: str) -> Iterable[tuple[str, bool | None]]:
    """Tags (True) and text between them (False); None for the insides of <style> and <script>."""
    raw = None
    for chunk in _TAG.split(text):
        if chunk.startswith("<"):
            name = chunk[1:].split(None, 1)[0].rstrip(">").lower() if len(chunk) > 2 else ""
            if raw and name == f"/{raw}":
                raw = None
            elif raw is None and name in ("style", "script"):
                raw = name
            yield chunk, True
        elif chunk:
            yield chunk, None if raw else False


def links_find(text: str, *, is_html: bool = False) -> list[str]:
    """The distinct URLs `links_shorten` would replace, in order of appearance (unescaped)."""
    found: list[str] = []
    if not is_html:
        found = [url for _start, _end, url in _text_urls(text)]
    else:
        for chunk, is_tag in _html_chunks(text):
            if is_tag:
                found += [html.unescape(match.group(3)).strip() for match in _HREF.finditer(chunk)]
            elif is_tag is False:
                found += [html.unescape(url) for _start, _end, url in _text_urls(chunk)]
    return [url for url in dict.fromkeys(found) if _URL.fullmatch(url) and _trackable(url)]


def links_replace(text: str, short: dict[str, str], *, is_html: bool = False) -> str:
    """`text` with each URL found in `short` replaced by its short link."""
    if not short:
        return text

    def in_text(chunk: str, unescape: bool) -> str:
        parts, position = [], 0
        for start, end, url in _text_urls(chunk):
            target = short.get(html.unescape(url) if unescape else url)
            if target:
                parts += [chunk[position:start], target]
                position = end
        return "".join(parts) + chunk[position:]

    if not is_html:
        return in_text(text, unescape=False)

    def in_href(match: re.Match) -> str:
        target = short.get(html.unescape(match.group(3)).strip())
        return f"{match.group(1)}{match.group(2)}{target}{match.group(2)}" if target else match.group()

    return "".join(
        _HREF.sub(in_href, chunk) if is_tag else in_text(chunk, unescape=True) if is_tag is False else chunk
        for chunk, is_tag in _html_chunks(text)
    )


def tracked_link_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL + token_path("tracked-link", token)


def tracked_links_for(*, message: Message, urls: Iterable[str]) -> dict[str, str]:
    """Short links for `urls` of `message`: url -> absolute short URL (see `tracked_links_for_many`)."""
    return tracked_links_for_many({message: list(urls)}).get(message.pk, {})


_LINKS_INSERT = {
    "postgresql": (
        "INSERT INTO journeys_trackedlink (message_id, url, token, clicks, created_at) "
        "SELECT v.message_id, v.url, v.token, 0, %s FROM unnest(%s::bigint[], %s::text[], %s::text[]) "
        "AS v(message_id, url, token) ON CONFLICT DO NOTHING RETURNING message_id, url, token"
    ),
    # SQLite: the rows arrive as one JSON array of [message id, url, token]; "WHERE true" keeps the parser
    # from reading ON CONFLICT as part of the SELECT.
    "sqlite": (
        "INSERT INTO journeys_trackedlink (message_id, url, token, clicks, created_at) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), 0, %s "
        "FROM json_each(%s) WHERE true ON CONFLICT DO NOTHING RETURNING message_id, url, token"
    ),
}


def _links_insert(rows: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Insert (message id, url, token) rows, skipping any that clash with an existing one; the rows inserted."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, urls, tokens = (list(column) for column in zip(*rows, strict=True))
            cursor.execute(_LINKS_INSERT["postgresql"], [now, ids, urls, tokens])
        else:
            cursor.execute(_LINKS_INSERT["sqlite"], [now, json.dumps(rows)])
        return [(int(pk), url, token) for pk, url, token in cursor.fetchall()]


def tracked_links_for_many(urls_by_message: dict[Message, list[str]]) -> dict[int, dict[str, str]]:
    """Short links for many messages at once: message id -> {url: absolute short URL}.

    One statement for a batch of first sends, whose links are all new; one more when some message
    already has links (a retry). Guarantees: the same message and URL always get the same token (a
    retry sends the same links); tokens are random and unique across all messages.
    """
    wanted = {
        message.pk: [url for url in dict.fromkeys(urls) if _trackable(url)] for message, urls in urls_by_message.items()
    }
    wanted = {pk: urls for pk, urls in wanted.items() if urls}
    tokens: dict[int, dict[str, str]] = {}
    missing = wanted
    for attempt in range(3):  # a token collision (one in 2**64) leaves a URL out: draw again
        if not missing:
            break
        inserted = _links_insert(
            [(pk, url, secrets.token_urlsafe(TOKEN_BYTES)) for pk, urls in missing.items() for url in urls]
        )
        for pk, url, token in inserted:
            tokens.setdefault(pk, {})[url] = token
        missing = _links_missing(wanted, tokens)
        if missing and attempt == 0:  # links made by an earlier send of the same messages
            rows = TrackedLink.objects.filter(message_id__in=list(missing)).values_list("message_id", "url", "token")
            for pk, url, token in rows:
                tokens.setdefault(pk, {})[url] = token
            missing = _links_missing(wanted, tokens)
    return {
        pk: {url: tracked_link_url(token) for url, token in by_url.items() if url in wanted.get(pk, ())}
        for pk, by_url in tokens.items()
    }


def _links_missing(wanted: dict[int, list[str]], tokens: dict[int, dict[str, str]]) -> dict[int, list[str]]:
    return {
        pk: [url for url in urls if url not in tokens.get(pk, {})]
        for pk, urls in wanted.items()
        if any(url not in tokens.get(pk, {}) for url in urls)
    }


def links_shorten(*, message: Message, text: str, is_html: bool = False) -> str:
    """`text` (a rendered body of `message`) with its web links replaced by tracked short links."""
    short = tracked_links_for(message=message, urls=links_find(text, is_html=is_html))
    return links_replace(text, short, is_html=is_html)


def tracked_link_click(*, token: str) -> TrackedLink | None:
    """Count one click on the link `token` names, and mark its message clicked (the first time).

    Returns the link to redirect to, or None when no link has that token. Anyone holding the
    link counts (a forward too): a click says the message worked, not who clicked.
    """
    link = TrackedLink.objects.filter(token=token).only("pk", "url", "message_id").first()
    if link is None:
        return None
    now = timezone.now()
    with transaction.atomic():
        TrackedLink.objects.filter(pk=link.pk).update(
            clicks=F("clicks") + 1, last_clicked_at=now, first_clicked_at=Coalesce("first_clicked_at", Value(now))
        )
        Message.objects.filter(pk=link.message_id, clicked_at__isnull=True).update(clicked_at=now, updated_at=now)
    return link
