"""Reviews as CSV: the export of the admin's filtered list (streamed), and the import of reviews from a file.

Export: one row per review, the columns of `EXPORT_COLUMNS`; cells a spreadsheet would run as a formula
(starting with = + - @) are prefixed with an apostrophe, because customers write the words.

Import: the first line names the columns, in any order (`IMPORT_COLUMNS`; others, such as the extra
columns of an export, are ignored and listed). Each row needs `rating` and the product, by `product_id`
(the shop's external id) or `sku`. Every problem is reported with its line (the header is line 1) and
column, and a file with any problem imports nothing (`reviews.services.imports`).
"""

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from merchant.csv_cells import cell
from merchant.models import Merchant, Product
from merchant.platforms.csv_files import RowProblem
from reviews.models import Review
from reviews.selectors.storefront import review_author

EXPORT_COLUMNS = (
    "id", "shop", "submitted_at", "status", "source", "product_id", "sku", "product_title", "rating", "title",
    "text", "author", "customer_email", "order_number", "language", "incentivized", "incentive", "media",
    "reply", "replied_at", "hidden_reason",
)  # fmt: skip
IMPORT_COLUMNS = ("product_id", "sku", "rating", "title", "text", "author", "submitted_at", "language")
MAX_ROWS = 20_000
LIMITS = {"title": 150, "text": 5000, "author": 100}
LANGUAGES = {code for code, _name in settings.LANGUAGES}


# --- export ----------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def reviews_csv_lines(reviews: Iterable[Review]) -> Iterator[str]:
    """The CSV text of `reviews`, line by line (for a streaming response); starts with a UTF-8 BOM for Excel.

    Expects each review with its shop, product, customer and order loaded and `media_count` annotated.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    for review in reviews:
        product = review.product
        yield writer.writerow(
            [
                cell(value)
                for value in (
                    review.pk,
                    review.shop.slug,
                    review.submitted_at,
                    review.status,
                    review.source,
                    product.external_id if product else "",
                    product.sku if product else "",
                    review.product_title,
                    review.rating,
                    review.title,
                    review.text,
                    review_author(review),
                    review.customer.email if review.customer else "",
                    review.order.number if review.order else "",
                    review.language,
                    review.incentivized,
                    review.incentive_note,
                    getattr(review, "media_count", ""),
                    review.reply_text,
                    review.replied_at,
                    review.hidden_reason,
                )
            ]
        )


# --- import ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    line: int
    product: Product
    rating: int
    title: str
    text: str
    author: str
    submitted_at: dt.datetime
    language: str

    @property
    def import_key(self) -> str:
        """The row's content hashed: the same review imported twice is stored once."""
        parts = [str(self.product.pk), str(self.rating), self.title, self.text, self.author]
        parts.append(self.submitted_at.isoformat())
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass
class ParsedImport:
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    lines: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


class _Line:
    def __init__(self, number: int, values: dict[str, str], problems: list[RowProblem]):
        self.number, self.values, self.problems = number, values, problems

    def text(self, column: str) -> str:
        value = (self.values.get(column) or "").strip()
        limit = LIMITS.get(column)
        if limit and len(value) > limit:
            self.problem(column, f"has {len(value)} characters; at most {limit}")
        return value

    def problem(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.number, column, message))


def _products(shop: Merchant, lines: list[_Line]) -> tuple[dict[str, Product], dict[str, list[Product]]]:
    """The shop's products named in the file: by external id, and by SKU (a SKU may name several). 1 query."""
    ids = {line.values.get("product_id", "").strip() for line in lines} - {""}
    skus = {line.values.get("sku", "").strip() for line in lines} - {""}
    by_id: dict[str, Product] = {}
    by_sku: dict[str, list[Product]] = {}
    if not ids and not skus:
        return by_id, by_sku
    named = (Q(external_id__in=ids) if ids else Q(pk__in=[])) | (Q(sku__in=skus) if skus else Q(pk__in=[]))
    for product in Product.objects.filter(named, shop=shop):
        if product.external_id in ids:
            by_id[product.external_id] = product
        if product.sku in skus:
            by_sku.setdefault(product.sku, []).append(product)
    return by_id, by_sku


def reviews_from_csv(text: str, *, shop: Merchant, now: dt.datetime | None = None) -> ParsedImport:
    """Read and check every row of a reviews file for `shop`; nothing is written."""
    now = now or timezone.now()
    parsed = ParsedImport()
    text = text.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not any(header):
        parsed.problems.append(RowProblem(1, "", "The file is empty; the first line must name the columns."))
        return parsed
    reader.fieldnames = header
    parsed.ignored_columns = [name for name in header if name not in IMPORT_COLUMNS]
    missing = [name for name in ("rating",) if name not in header]
    if "product_id" not in header and "sku" not in header:
        missing.append("product_id or sku")
    if missing:
        parsed.problems.append(RowProblem(1, "", f"Missing columns: {', '.join(missing)}."))
        return parsed
    lines: list[_Line] = []
    try:
        for number, values in enumerate(reader, start=2):
            if len(lines) >= MAX_ROWS:
                parsed.problems.append(RowProblem(number, "", f"More than {MAX_ROWS} rows; split the file."))
                break
            if None in values:
                parsed.problems.append(RowProblem(number, "", "has more values than the header has columns"))
                continue
            if not any((value or "").strip() for value in values.values()):
                continue
            lines.append(_Line(number, values, parsed.problems))
    except csv.Error as error:
        parsed.problems.append(RowProblem(reader.line_num, "", f"cannot be read as CSV ({error})"))
    parsed.lines = len(lines)
    by_id, by_sku = _products(shop, lines)
    seen: dict[str, int] = {}
    for line in lines:
        row = _row(line, shop=shop, by_id=by_id, by_sku=by_sku, now=now)
        if row is None:
            continue
        key = row.import_key
        if key in seen:
            line.problem("", f"the same review as line {seen[key]}")
            continue
        seen[key] = line.number
        parsed.rows.append(row)
    if not lines and not parsed.problems:
        parsed.problems.append(RowProblem(2, "", "The file has no reviews below its header."))
    parsed.problems.sort(key=lambda problem: problem.line)
    return parsed


def _row(line: _Line, *, shop, by_id, by_sku, now: dt.datetime) -> ImportRow | None:
    before = len(line.problems)
    product = _product(line, shop=shop, by_id=by_id, by_sku=by_sku)
    rating_text = line.text("rating")
    rating = int(rating_text) if rating_text in {"1", "2", "3", "4", "5"} else None
    if rating is None:
        line.problem("rating", f"“{rating_text}” must be a whole number from 1 to 5" if rating_text else "is required")
    title, words, author = line.text("title"), line.text("text"), line.text("author")
    language = line.text("language").lower()
    if language and language not in LANGUAGES:
        line.problem("language", f"“{language}” is not one of {', '.join(sorted(LANGUAGES))}")
    submitted_at = _time(line, now=now)
    if len(line.problems) > before or product is None or rating is None or submitted_at is None:
        return None
    return ImportRow(line.number, product, rating, title, words, author, submitted_at, language)


def _product(line: _Line, *, shop, by_id, by_sku) -> Product | None:
    external_id, sku = line.text("product_id"), line.text("sku")
    if external_id:
        product = by_id.get(external_id)
        if product is None:
            line.problem("product_id", f"no product “{external_id}” in {shop}")
        return product
    if sku:
        found = by_sku.get(sku, [])
        if len(found) == 1:
            return found[0]
        if found:
            line.problem("sku", f"“{sku}” is the SKU of {len(found)} products; give product_id instead")
        else:
            line.problem("sku", f"no product with SKU “{sku}” in {shop}")
        return None
    line.problem("product_id", "give the product's id or its SKU")
    return None


def _time(line: _Line, *, now: dt.datetime) -> dt.datetime | None:
    value = line.text("submitted_at")
    if not value:
        return now
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = dt.datetime.combine(day, dt.time())
    if parsed is None:
        line.problem("submitted_at", f"“{value}” is not a date; use e.g. 2026-05-20 or 2026-05-20T09:30:00Z")
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if parsed > now:
        line.problem("submitted_at", f"“{value}” is in the future")
        return None
    return parsed
