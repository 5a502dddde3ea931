"""Tables of the dashboard: shown as HTML, and each downloadable as CSV with the page's filter."""

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from merchant.csv_cells import cell


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    # How the HTML shows a value, e.g. "{:.1f}%"; the CSV always carries the raw value.
    format: str = ""


@dataclass(frozen=True)
class Table:
    name: str  # unique on its page, used in ?csv=<name> and the file name
    title: str
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]
    # A row's link in the HTML (key of the row holding the URL), e.g. a stage's list of orders.
    link_key: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # The key of a row holding its CSS class (e.g. "variant"), for tables whose rows differ in kind.
    row_class_key: str = ""

    def body_html(self) -> SafeString:
        """The table's body rows as HTML, every value escaped, the first cell linked when the row has a link.

        Built in one pass: a template loop costs some 10 µs a cell, and a rule table of a busy shop has
        thousands of cells."""
        lines = []
        for row in self.rows:
            cells = []
            for index, column in enumerate(self.columns):
                shown = escape(_shown(column, row.get(column.key)))
                href = row.get(self.link_key, "") if index == 0 and self.link_key else ""
                if href:
                    shown = f'<a href="{escape(href)}">{shown}</a>'
                cells.append(f'<td class="num">{shown}</td>' if column.numeric else f"<td>{shown}</td>")
            css = row.get(self.row_class_key, "") if self.row_class_key else ""
            lines.append((f'<tr class="{escape(css)}">' if css else "<tr>") + "".join(cells) + "</tr>")
        return mark_safe("".join(lines))  # noqa: S308 - every value above went through escape()


@dataclass(frozen=True)
class LazyTable:
    """A table named before it is built: a page's `?csv=<name>` builds only the table asked for, not the page's
    other tables and charts (`build` runs the queries of that table alone)."""

    name: str
    build: Callable[[], "Table | None"]  # None: nothing to show under this name after all


def table_built(table: "Table | LazyTable") -> "Table | None":
    return table.build() if isinstance(table, LazyTable) else table


def _shown(column: Column, value: Any) -> str:
    if value is None:
        return "—"
    if column.format:
        try:
            return column.format.format(value)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


def table_csv_lines(table: Table) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow([cell(row.get(column.key)) for column in table.columns])
    yield buffer.getvalue()


def table_csv_response(table: Table, *, scope) -> HttpResponse:
    """The table as a CSV download named after it and the period, e.g. rules-2026-11-01-2026-11-30.csv."""
    response = HttpResponse("".join(table_csv_lines(table)), content_type="text/csv; charset=utf-8")
    filename = f"{slugify(table.name)}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
