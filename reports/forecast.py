"""The forecast report as CSV (PRODUCT.md §4): one line per initiative and fiscal year.

`fiscal_year,initiative_code,initiative_title,lane,status,estimated_cost,planned_total,actual_to_date,
forecast_total,forecast_marketing,forecast_it,variance_at_completion` — the columns of
`split.selectors.FORECAST_REPORT_COLUMNS`, read through `forecast_report_rows` (sums of the
split rows of the latest recompute, so its figures are the dashboard's and the summary API's
to the cent). Written like the split CSV (`reports.split_csv`): the same cells
(`reports.cells`: formula-safe text, two places, `FY2027`), streamed in chunks, formatted by
PostgreSQL's COPY there and by the Python formatter elsewhere, byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from reports.cells import csv_text, decimal_text, fiscal_year_text
from reports.split_csv import ITERATOR_CHUNK_ROWS, report_csv_chunks, sql_text_cell
from split.selectors import FORECAST_REPORT_COLUMNS, FORECAST_REPORT_SELECT_NAMES, SplitFilters, forecast_report_rows

FORECAST_CSV_HEADER = ",".join(FORECAST_REPORT_COLUMNS) + "\n"
FORECAST_TEXT_COLUMNS = frozenset({"initiative_code", "initiative_title", "lane", "status"})


def _optional_decimal_text(value) -> str:
    """An amount that may be missing (an initiative without an estimate): empty, as COPY writes NULL."""
    return "" if value is None else decimal_text(value)


def _csv_formatter(column: str) -> Callable[[Any], str]:
    if column == "fiscal_year":
        return fiscal_year_text
    if column in FORECAST_TEXT_COLUMNS:
        return csv_text
    if column == "estimated_cost":
        return _optional_decimal_text
    return decimal_text


FORECAST_CSV_FORMATTERS: tuple[Callable[[Any], str], ...] = tuple(
    _csv_formatter(column) for column in FORECAST_REPORT_COLUMNS
)


def forecast_csv_line(values: Iterable[Any]) -> str:
    """One CSV line of the forecast report (`values` in FORECAST_REPORT_COLUMNS order), newline included."""
    cells = zip(FORECAST_CSV_FORMATTERS, values, strict=True)
    return ",".join([format_cell(value) for format_cell, value in cells]) + "\n"


def _sql_cell(column: str, name: str) -> str:
    if column == "fiscal_year":
        return f"'FY' || {name}"
    if column in FORECAST_TEXT_COLUMNS:
        return sql_text_cell(name)
    return f"{name}::text"  # numeric(…, 2): two places; NULL (no estimate) is written empty


def forecast_csv_select(filters: SplitFilters) -> tuple[str, list[Any]]:
    """The SELECT whose COPY … CSV output is the forecast CSV's body: `forecast_report_rows`, formatted.

    The inner query is the selector's own SQL (the one the Python path iterates); the
    outer one only formats its columns and keeps its order.
    """
    rows = forecast_report_rows(filters)
    inner_sql, params = rows.query.sql_with_params()
    by_column = dict(zip(FORECAST_REPORT_COLUMNS, FORECAST_REPORT_SELECT_NAMES, strict=True))
    cells = ", ".join(_sql_cell(column, f"r.{by_column[column]}") for column in FORECAST_REPORT_COLUMNS)
    order = f"r.{by_column['fiscal_year']}, r.{by_column['initiative_code']}"
    return f"SELECT {cells} FROM ({inner_sql}) AS r ORDER BY {order}", list(params)  # noqa: S608 # nosec B608


def forecast_csv_chunks(
    filters: SplitFilters,
    *,
    method: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The forecast CSV as byte chunks: the exact header, then one line per initiative and fiscal year.

    `method` is `copy` (PostgreSQL formats the lines; the default there) or `python` (the
    default elsewhere, and whenever `progress` is given, as for the split CSV).
    """
    yield from report_csv_chunks(
        FORECAST_CSV_HEADER,
        copy_select=lambda: forecast_csv_select(filters),
        python_lines=lambda: (
            forecast_csv_line(values)
            for values in forecast_report_rows(filters).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
        ),
        method=method,
        progress=progress,
    )
