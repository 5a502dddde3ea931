"""Tables of the dashboard: shown as HTML, and each downloadable as CSV with the page's filter."""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
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

    def html_rows(self) -> list[list[tuple[Column, str, str]]]:
        """Per row, per column: (column, the value as shown, the link of the first cell or "")."""
        return [  # a row without a link (or a table without link_key) gets ""
            [
                (column, _shown(column, row.get(column.key)), row.get(self.link_key, "") if index == 0 else "")
                for index, column in enumerate(self.columns)
            ]
            for row in self.rows
        ]


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
