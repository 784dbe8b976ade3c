"""The outcomes report as CSV and XLSX (PRODUCT.md §3b, issue 20): one row per KPI and fiscal year.

`fiscal_year,initiative_code,initiative_title,lane,kpi,owner_side,unit,direction,baseline,target,target_date,
latest_value,measured_on,attainment_pct,on_track,actual_total` — the rows of
`outcomes.selectors.outcomes_report_rows`: the KPIs of each initiative in each fiscal year the split rows
matching the report's filters cover (as the forecast report's lines), with the initiative's actual spend in
that year (or quarter). `on_track` is `true` / `false` today, as the KPI stands
(`outcomes.selectors.outcome_day`, the dashboard's day), and empty before any measurement.
Text is formula-safe (`reports.cells`), numbers plain decimals (CSV) or numeric cells (XLSX).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.conf import settings

from outcomes.selectors import OUTCOMES_REPORT_COLUMNS, OutcomeCounts, outcomes_report_rows, report_counts
from reports.cells import csv_text, fiscal_year_text
from reports.selectors import SplitExport
from reports.split_csv import lines_in_chunks
from reports.xlsx import Formats, print_setup, write_cover_head, write_header
from split.selectors import SplitFilters

OUTCOMES_CSV_HEADER = ",".join(OUTCOMES_REPORT_COLUMNS) + "\n"
TEXT_COLUMNS = frozenset({"initiative_code", "initiative_title", "lane", "kpi", "owner_side", "unit", "direction"})
DATE_COLUMNS = frozenset({"target_date", "measured_on"})
NUMBER_COLUMNS = frozenset({"baseline", "target", "latest_value", "attainment_pct", "actual_total"})
OUTCOMES_SHEET = "Outcomes"
COVER_SHEET = "Cover"
_COLUMN_WIDTHS = {
    "fiscal_year": 11,
    "initiative_code": 14,
    "initiative_title": 44,
    "kpi": 34,
    "unit": 13,
    "target_date": 14,
    "measured_on": 14,
    "on_track": 10,
}


def plain_decimal(value: Decimal | None) -> str:
    """A number as written by the report: its stored places, no exponent or separators ('' when missing)."""
    if value is None:
        return ""
    text = f"{value:f}"
    return text[1:] if text.startswith("-") and not value else text  # never -0


def _cell(column: str, value: Any) -> str:
    if column == "fiscal_year":
        return fiscal_year_text(value)
    if column in TEXT_COLUMNS:
        return csv_text(value)
    if column in DATE_COLUMNS:
        return value.isoformat() if value else ""
    if column == "on_track":
        return "" if value is None else ("true" if value else "false")
    return plain_decimal(value)


def outcomes_csv_line(values: Iterable[Any]) -> str:
    """One CSV line (values in OUTCOMES_REPORT_COLUMNS order), newline included."""
    cells = zip(OUTCOMES_REPORT_COLUMNS, values, strict=True)
    return ",".join(_cell(column, value) for column, value in cells) + "\n"


def outcomes_csv_chunks(filters: SplitFilters, *, today: dt.date | None = None) -> Iterator[bytes]:
    """The outcomes CSV as byte chunks: the exact header, then one line per KPI and fiscal year."""
    yield OUTCOMES_CSV_HEADER.encode()
    yield from lines_in_chunks(outcomes_csv_line(row) for row in outcomes_report_rows(filters, today=today))


def write_outcomes_xlsx(
    export: SplitExport, target: str | IO[bytes], *, requested_by: str = "", today: dt.date | None = None
) -> int:
    """Write the outcomes workbook (Outcomes, then Cover) to `target`; returns the data rows."""
    import xlsxwriter

    currency = settings.REPORTING_CURRENCY
    workbook = xlsxwriter.Workbook(
        target,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    workbook.set_properties(
        {
            "title": "Outcomes report",
            "subject": "Outcome KPIs per initiative and fiscal year",
            "author": requested_by or "Right-Speed Portfolio",
            "company": "Right-Speed Portfolio",
        }
    )
    formats = Formats(workbook, currency)
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    value_format = workbook.add_format({"num_format": "#,##0.####"})
    # A true/false cell shown as its word in every spreadsheet (LibreOffice would show 1 or 0 unformatted).
    boolean_format = workbook.add_format({"num_format": '"true";"true";"false"', "align": "center"})
    sheet = workbook.add_worksheet(OUTCOMES_SHEET)
    cover = workbook.add_worksheet(COVER_SHEET)
    sheet.activate()
    print_setup(sheet, landscape=True)
    print_setup(cover, landscape=False)
    for col, column in enumerate(OUTCOMES_REPORT_COLUMNS):
        sheet.set_column(col, col, _COLUMN_WIDTHS.get(column, max(len(column) + 3, 12)))
    right = NUMBER_COLUMNS | DATE_COLUMNS  # headers aligned with their values
    numeric = [col for col, column in enumerate(OUTCOMES_REPORT_COLUMNS) if column in right]
    write_header(sheet, OUTCOMES_REPORT_COLUMNS, formats, numeric)
    cell_formats = {
        "attainment_pct": formats.percent,
        "actual_total": formats.money,
        "baseline": value_format,
        "target": value_format,
        "latest_value": value_format,
    }
    row = 0
    for values in outcomes_report_rows(export.filters, today=today):
        row += 1
        for col, (column, value) in enumerate(zip(OUTCOMES_REPORT_COLUMNS, values, strict=True)):
            if value is None or value == "":
                continue
            if column == "fiscal_year":
                sheet.write_string(row, col, fiscal_year_text(value))
            elif column in TEXT_COLUMNS:
                sheet.write_string(row, col, value)  # a string cell: never a formula
            elif column in DATE_COLUMNS:
                sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), date_format)
            elif column == "on_track":
                sheet.write_boolean(row, col, value, boolean_format)
            else:
                sheet.write_number(row, col, float(value), cell_formats[column])
    sheet.autofilter(0, 0, max(row, 1), len(OUTCOMES_REPORT_COLUMNS) - 1)
    _write_cover(cover, export, formats, rows=row, counts=report_counts(export.filters, today=today), by=requested_by)
    workbook.close()
    return row


def _write_cover(sheet, export: SplitExport, formats: Formats, *, rows: int, counts: OutcomeCounts, by: str) -> None:
    line = write_cover_head(
        sheet,
        export,
        formats,
        title="Outcomes report",
        subtitle="Right-Speed Portfolio · outcome KPIs per initiative and fiscal year",
        count=("KPI-years", rows),
        currency=settings.REPORTING_CURRENCY,
        requested_by=by,
    )
    line += 2
    sheet.write_string(line, 0, "KPI-years", formats.section)
    sheet.write_blank(line, 1, None, formats.section)
    total = counts.total
    for label, state in (("On track", "on_track"), ("Off track", "off_track"), ("Not measured yet", "not_measured")):
        line += 1
        sheet.write_string(line, 0, label, formats.label)
        sheet.write_number(line, 1, total[state], formats.value_integer)
    notes = [
        "One row per outcome KPI and fiscal year its initiative has split rows in (with a quarter: in that quarter).",
        "on_track: on the last day of the fiscal year (or quarter), or today while it runs; empty before any "
        "measurement. attainment_pct = (latest − baseline) / (target − baseline) × 100.",
        "actual_total: the initiative's actual spend in that fiscal year (or quarter), from the latest recompute.",
        "Text that looks like a formula is stored as text.",
    ]
    line += 1
    for note in notes:
        line += 1
        sheet.write_string(line, 0, note, formats.subtitle)
