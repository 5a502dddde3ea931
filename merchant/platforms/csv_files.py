"""CSV files of customers and orders, read into the same snapshots the webhooks produce.

Every problem is reported with its line number (the header is line 1) and column, and a file with
any problem imports nothing. The columns are documented in `docs/integrations.md`.
"""

import csv
import datetime as dt
import io
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date, parse_datetime
from django_countries import countries

from merchant.phones import phone_check_usable
from merchant.platforms.snapshots import CustomerSnapshot, LineSnapshot, OrderSnapshot, ShipmentSnapshot
from merchant.timezones import validate_time_zone

MAX_ROWS = 50_000
CUSTOMER_COLUMNS = (
    "external_id", "first_name", "last_name", "email", "phone", "country", "language", "time_zone", "tags",
    "email_marketing_consent_at", "sms_marketing_consent_at",
)  # fmt: skip
ORDER_COLUMNS = (
    "order_id", "number", "currency", "placed_at", "customer_id", "customer_email", "customer_phone",
    "customer_first_name", "customer_last_name", "customer_country", "customer_language",
    "line_id", "line_title", "line_sku", "line_quantity", "line_unit_price", "product_id",
    "shipping_total", "tax_total", "discount_total", "total",
    "paid_at", "shipped_at", "carrier", "tracking_number", "tracking_url", "delivered_at", "cancelled_at",
)  # fmt: skip
REQUIRED = {
    "customers": ("external_id",),
    "orders": ("order_id", "number", "currency", "placed_at", "line_title", "line_quantity", "line_unit_price"),
}
LANGUAGES = {code for code, _name in settings.LANGUAGES}


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return (
            f"Line {self.line}, {self.column}: {self.message}" if self.column else f"Line {self.line}: {self.message}"
        )


@dataclass
class ParsedFile:
    kind: str
    items: list  # CustomerSnapshot or OrderSnapshot, in file order
    problems: list[RowProblem]
    rows: int

    @property
    def ok(self) -> bool:
        return not self.problems


class _Row:
    """One CSV row with readers that note a problem and return None instead of raising."""

    def __init__(self, line: int, values: dict[str, str], problems: list[RowProblem]):
        self.line, self.values, self.problems = line, values, problems

    def text(self, column: str, *, required: bool = False) -> str:
        value = (self.values.get(column) or "").strip()
        if required and not value:
            self.problem(column, "is required")
        return value

    def problem(self, column: str, message: str) -> None:
        self.problems.append(RowProblem(self.line, column, message))

    def time(self, column: str, *, required: bool = False) -> dt.datetime | None:
        value = self.text(column, required=required)
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = dt.datetime.combine(day, dt.time())
        if parsed is None:
            self.problem(column, f"“{value}” is not a date and time; use e.g. 2026-11-20T09:30:00Z or 2026-11-20")
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    def money(self, column: str, *, required: bool = False) -> Decimal | None:
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            amount = Decimal(value)
        except InvalidOperation:
            self.problem(column, f"“{value}” is not an amount; use a dot for decimals, e.g. 19.90")
            return None
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**12:
            self.problem(column, f"“{value}” must be zero or more with at most two decimals")
            return None
        return amount

    def whole(self, column: str, *, required: bool = False) -> int | None:
        value = self.text(column, required=required)
        if not value:
            return None
        if not value.isdigit() or int(value) < 1 or int(value) > 100_000:
            self.problem(column, f"“{value}” must be a whole number from 1 to 100000")
            return None
        return int(value)

    def country(self, column: str) -> str:
        value = self.text(column).upper()
        if value and value not in countries:
            self.problem(column, f"“{value}” is not an ISO 3166 country code such as US, DE or KR")
            return ""
        return value

    def language(self, column: str) -> str:
        value = self.text(column).lower()
        if value and value not in LANGUAGES:
            self.problem(column, f"“{value}” is not one of {', '.join(sorted(LANGUAGES))}")
            return ""
        return value

    def email(self, column: str) -> str:
        value = self.text(column)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                self.problem(column, f"“{value}” is not an email address")
                return ""
        return value

    def phone(self, column: str, region: str) -> str:
        value = self.text(column)
        if value:
            try:
                phone_check_usable(value, region=region)
            except ValidationError as error:
                self.problem(column, " ".join(error.messages))
                return ""
        return value


def _read(text: str, kind: str, known: tuple[str, ...]) -> tuple[list[_Row], list[RowProblem]]:
    problems: list[RowProblem] = []
    text = text.lstrip("\ufeff")  # a byte order mark from spreadsheet exports
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        return [], [RowProblem(1, "", "The file is empty; the first line must name the columns.")]
    reader.fieldnames = header
    unknown = [name for name in header if name not in known]
    if unknown:
        problems.append(RowProblem(1, "", f"Unknown columns: {', '.join(unknown)}. Known: {', '.join(known)}."))
    missing = [name for name in REQUIRED[kind] if name not in header]
    if missing:
        problems.append(RowProblem(1, "", f"Missing required columns: {', '.join(missing)}."))
        return [], problems
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                problems.append(RowProblem(number, "", f"More than {MAX_ROWS} rows; split the file."))
                break
            if None in values:
                problems.append(RowProblem(number, "", "has more values than the header has columns"))
                continue
            if not any((value or "").strip() for value in values.values()):
                continue  # blank line
            rows.append(_Row(number, values, problems))
    except csv.Error as error:
        problems.append(RowProblem(reader.line_num, "", f"cannot be read as CSV ({error})"))
    return rows, problems


def customers_from_csv(text: str, *, default_country: str) -> ParsedFile:
    rows, problems = _read(text, "customers", CUSTOMER_COLUMNS)
    items, seen = [], {}
    for row in rows:
        external_id = row.text("external_id", required=True)
        if external_id in seen:
            row.problem("external_id", f"“{external_id}” is also on line {seen[external_id]}")
        seen[external_id] = row.line
        country = row.country("country")
        time_zone = row.text("time_zone")
        if time_zone:
            try:
                validate_time_zone(time_zone)
            except ValidationError as error:
                row.problem("time_zone", " ".join(error.messages))
        email_consent, sms_consent = row.time("email_marketing_consent_at"), row.time("sms_marketing_consent_at")
        items.append(
            CustomerSnapshot(
                external_id=external_id,
                first_name=row.text("first_name")[:150],
                last_name=row.text("last_name")[:150],
                email=row.email("email"),
                phone_text=row.phone("phone", country or default_country),
                country=country,
                language=row.language("language"),
                time_zone=time_zone,
                tags=tuple(tag.strip() for tag in row.text("tags").split(";") if tag.strip()),
                email_marketing_consent_at=email_consent,
                sms_marketing_consent_at=sms_consent,
                consent_source="CSV import" if email_consent or sms_consent else "",
            )
        )
    return ParsedFile(kind="customers", items=items, problems=sorted(problems, key=lambda p: p.line), rows=len(rows))


def orders_from_csv(text: str, *, default_country: str) -> ParsedFile:
    """One row per order line; rows with the same order_id make one order (order columns repeat)."""
    rows, problems = _read(text, "orders", ORDER_COLUMNS)
    groups: OrderedDict[str, list[_Row]] = OrderedDict()
    for row in rows:
        groups.setdefault(row.text("order_id", required=True), []).append(row)
    items = []
    for order_id, order_rows in groups.items():
        first = order_rows[0]
        for row in order_rows[1:]:
            for column in ("number", "currency", "placed_at", "customer_id", "customer_email"):
                if row.text(column) and row.text(column) != first.text(column):
                    row.problem(column, f"differs from line {first.line} of the same order {order_id}")
        currency = first.text("currency", required=True).upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            first.problem("currency", f"“{currency}” is not a three-letter ISO 4217 code")
        lines = []
        for row in order_rows:
            quantity = row.whole("line_quantity", required=True)
            unit_price = row.money("line_unit_price", required=True)
            title = row.text("line_title", required=True)
            lines.append(
                LineSnapshot(
                    external_id=row.text("line_id") or None,
                    title=title[:255],
                    quantity=quantity or 1,
                    unit_price=unit_price or Decimal("0"),
                    sku=row.text("line_sku")[:100],
                    product_external_id=row.text("product_id") or None,
                )
            )
        country = first.country("customer_country")
        customer = None
        if any(first.text(column) for column in ("customer_id", "customer_email", "customer_phone")):
            customer = CustomerSnapshot(
                external_id=first.text("customer_id") or None,
                first_name=first.text("customer_first_name"),
                last_name=first.text("customer_last_name"),
                email=first.email("customer_email"),
                phone_text=first.phone("customer_phone", country or default_country),
                country=country,
                language=first.language("customer_language"),
            )
        amounts = {
            name: first.money(name) or Decimal("0") for name in ("shipping_total", "tax_total", "discount_total")
        }
        subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
        total = first.money("total")
        if total is None:
            total = subtotal + amounts["shipping_total"] + amounts["tax_total"] - amounts["discount_total"]
        shipped_at, delivered_at = first.time("shipped_at"), first.time("delivered_at")
        if delivered_at and not shipped_at:
            shipped_at = delivered_at
        parcels = ()
        if shipped_at:
            parcels = (
                ShipmentSnapshot(
                    external_id=f"csv-{order_id}",
                    carrier=first.text("carrier"),
                    tracking_number=first.text("tracking_number"),
                    tracking_url=first.text("tracking_url"),
                    status="delivered" if delivered_at else None,
                    shipped_at=shipped_at,
                    updated_at=delivered_at or shipped_at,
                ),
            )
        placed_at = first.time("placed_at", required=True)
        items.append(
            OrderSnapshot(
                external_id=order_id,
                number=first.text("number", required=True)[:64],
                currency=currency,
                placed_at=placed_at or dt.datetime.now(dt.UTC),
                updated_at=None,
                customer=customer,
                lines=tuple(lines),
                total=max(total, Decimal("0")),
                language=first.language("customer_language"),
                paid_at=first.time("paid_at"),
                cancelled_at=first.time("cancelled_at"),
                fulfillment="full" if parcels else "none",
                shipments=parcels,
                **amounts,
            )
        )
    return ParsedFile(kind="orders", items=items, problems=sorted(problems, key=lambda p: p.line), rows=len(rows))
