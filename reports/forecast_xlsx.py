"""The forecast report as an XLSX workbook (PRODUCT.md §4): Forecast (the CSV's columns) and Cover.

Written like the split workbook (`reports.xlsx`): xlsxwriter in constant_memory mode, its
formats and print set-up, text as string cells (never a formula), amounts as numeric cells
in the reporting currency; the totals row is `forecast_report_totals` of the same selection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from django.conf import settings

from reports.cells import fiscal_year_text
from reports.selectors import SplitExport
from reports.split_csv import ITERATOR_CHUNK_ROWS
from reports.xlsx import XLSX_PROGRESS_ROWS, Formats, money_number, print_setup, write_cover_head, write_header
from split.selectors import FORECAST_REPORT_COLUMNS, FORECAST_REPORT_SUMMED_COLUMNS, forecast_report_rows

FORECAST_SHEET = "Forecast"
COVER_SHEET = "Cover"
FORECAST_AMOUNT_LABELS = {
    "estimated_cost": "Estimated cost (whole life)",
    "planned_total": "Planned total",
    "actual_to_date": "Actual to date",
    "forecast_total": "Forecast total",
    "forecast_marketing": "Forecast marketing",
    "forecast_it": "Forecast IT",
    "variance_at_completion": "Variance at completion",
}
_COLUMN_WIDTHS = {"fiscal_year": 11, "initiative_code": 14, "initiative_title": 52, "lane": 13, "status": 13}
_FIRST_AMOUNT = FORECAST_REPORT_COLUMNS.index("estimated_cost")


def write_forecast_xlsx(
    export: SplitExport,
    target: str | IO[bytes],
    *,
    requested_by: str = "",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the forecast workbook to `target` (a path or a binary file); returns the data rows."""
    import xlsxwriter

    currency = settings.REPORTING_CURRENCY
    workbook = xlsxwriter.Workbook(
        target,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False},
    )
    workbook.set_properties(
        {
            "title": "Forecast report",
            "subject": "Forecast per initiative and fiscal year",
            "author": requested_by or "Right-Speed Portfolio",
            "company": "Right-Speed Portfolio",
        }
    )
    formats = Formats(workbook, currency)
    forecast = workbook.add_worksheet(FORECAST_SHEET)  # first: "the first sheet" has the §4 columns
    cover = workbook.add_worksheet(COVER_SHEET)
    forecast.activate()
    print_setup(forecast, landscape=True)
    print_setup(cover, landscape=False)
    totals = export.forecast_totals()
    rows = _write_forecast_sheet(forecast, export, formats, totals, progress)
    _write_cover(cover, export, totals, formats, currency=currency, requested_by=requested_by)
    workbook.close()
    return rows


def _write_forecast_sheet(sheet, export: SplitExport, formats: Formats, totals: dict, progress) -> int:
    for col, column in enumerate(FORECAST_REPORT_COLUMNS):
        width = _COLUMN_WIDTHS.get(column) or max(len(column) + 3, 19)
        sheet.set_column(col, col, width)
    write_header(sheet, FORECAST_REPORT_COLUMNS, formats, range(_FIRST_AMOUNT, len(FORECAST_REPORT_COLUMNS)))
    write_string, write_number, money = sheet.write_string, sheet.write_number, formats.money
    row = 0
    for values in forecast_report_rows(export.filters).iterator(chunk_size=ITERATOR_CHUNK_ROWS):
        row += 1
        write_string(row, 0, fiscal_year_text(values[0]))
        for col in range(1, _FIRST_AMOUNT):
            if values[col]:
                write_string(row, col, values[col])  # a string cell: never a formula
        for col in range(_FIRST_AMOUNT, len(values)):
            if values[col] is not None:  # no estimate: a blank cell, not 0
                write_number(row, col, float(values[col]), money)
        if progress is not None and row % XLSX_PROGRESS_ROWS == 0:
            progress(row)
    last_data_row = row
    sheet.autofilter(0, 0, max(last_data_row, 1), len(FORECAST_REPORT_COLUMNS) - 1)

    # Totals as values (the same selection summed in the database), not formulas. The estimate is
    # whole-life, repeated on each of an initiative's fiscal years: not summed.
    row += 1
    for col, column in enumerate(FORECAST_REPORT_COLUMNS):
        if column in FORECAST_REPORT_SUMMED_COLUMNS:
            write_number(row, col, money_number(totals[column]), formats.total_money)
        elif column == "fiscal_year":
            write_string(row, col, "Total", formats.total)
        elif column == "initiative_title":
            write_string(row, col, f"{totals['lines']:,} initiative-years", formats.total)
        else:
            sheet.write_blank(row, col, None, formats.total)
    if progress is not None:
        progress(last_data_row)
    return last_data_row


def _write_cover(sheet, export: SplitExport, totals: dict, formats: Formats, *, currency: str, requested_by: str):
    row = write_cover_head(
        sheet,
        export,
        formats,
        title="Forecast report",
        subtitle="Right-Speed Portfolio · forecast per initiative and fiscal year",
        count=("Initiative-years", totals["lines"]),
        currency=currency,
        requested_by=requested_by,
    )
    row += 2
    sheet.write_string(row, 0, f"Totals ({currency})", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    for column in FORECAST_REPORT_SUMMED_COLUMNS:
        row += 1
        sheet.write_string(row, 0, FORECAST_AMOUNT_LABELS[column], formats.label)
        sheet.write_number(row, 1, money_number(totals[column]), formats.value_money)
    notes = [
        "Forecast, per month of the split: a month before the as-of month counts its actual; the as-of month "
        "and later ones the greater of plan and actual. Marketing's part is rounded with the month's share; "
        "IT bears the rest.",
        "variance_at_completion = planned_total − forecast_total. estimated_cost is the initiative's whole-life "
        "estimate, repeated on each of its fiscal years (not summed).",
        "Text that looks like a formula is stored as text.",
    ]
    row += 1
    for note in notes:
        row += 1
        sheet.write_string(row, 0, note, formats.subtitle)
