"""The split report as an XLSX workbook (PRODUCT.md §4): Split, By lane and month, True-up by quarter, Cover.

Written with xlsxwriter in constant_memory mode (each row goes to disk as soon as the
next begins), so memory stays flat whatever the size; every text cell is a string cell,
so no spreadsheet evaluates it (see `reports.cells`). The columns of the Split sheet are
`SPLIT_COLUMNS`, those of the CSV; totals are the `split_summary` of the same selection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.utils import timezone

from initiatives.choices import Lane
from reports.cells import DECIMAL_COLUMNS, fiscal_year_text, month_text, quarter_months_text
from reports.journal import settlement_label
from reports.selectors import SplitExport
from reports.split_csv import ITERATOR_CHUNK_ROWS
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS, marketing_share_of_actual
from split.selectors import split_rows, split_summary

XLSX_PROGRESS_ROWS = 10_000
AMOUNT_LABELS = {
    "planned_total": "Planned total",
    "planned_marketing": "Planned marketing",
    "planned_it": "Planned IT",
    "actual_total": "Actual total",
    "actual_marketing": "Actual marketing",
    "actual_it": "Actual IT",
    "paid_marketing": "Paid by marketing",
    "paid_it": "Paid by IT",
    "true_up": "True-up",
    "variance": "Variance",
}
SPLIT_SHEET = "Split"
LANE_MONTH_SHEET = "By lane and month"
TRUE_UP_SHEET = "True-up by quarter"
COVER_SHEET = "Cover"
_COLUMN_WIDTHS = {"initiative_title": 52, "initiative_code": 14, "fiscal_year": 11, "month": 9}


class Formats:
    """The workbook's cell formats, made once per workbook."""

    def __init__(self, workbook, currency: str):
        money = f'#,##0.00 "{currency}";[Red]-#,##0.00 "{currency}"'
        header = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#14213D", "valign": "vcenter", "border": 0}
        total = {"bold": True, "top": 2, "bg_color": "#EEF2FF"}
        self.header = workbook.add_format(header)
        self.header_right = workbook.add_format({**header, "align": "right"})
        self.money = workbook.add_format({"num_format": money})
        self.percent = workbook.add_format({"num_format": "0.00"})
        self.integer = workbook.add_format({"num_format": "#,##0"})
        self.total = workbook.add_format(total)
        self.total_money = workbook.add_format({**total, "num_format": money})
        self.total_percent = workbook.add_format({**total, "num_format": "0.00"})
        self.total_integer = workbook.add_format({**total, "num_format": "#,##0"})
        self.title = workbook.add_format({"bold": True, "font_size": 18, "font_color": "#14213D"})
        self.subtitle = workbook.add_format({"font_color": "#6B7280", "italic": True})
        self.section = workbook.add_format({"bold": True, "font_size": 12, "font_color": "#14213D", "bottom": 1})
        self.label = workbook.add_format({"font_color": "#4B5563"})
        self.value = workbook.add_format({"bold": True})
        self.value_money = workbook.add_format({"bold": True, "num_format": money})
        self.value_integer = workbook.add_format({"bold": True, "num_format": "#,##0", "align": "left"})
        self.owes = workbook.add_format({"bold": True, "font_color": "#B45309", "indent": 1})
        self.total_owes = workbook.add_format({**total, "indent": 1})
        self.note = workbook.add_format({"font_color": "#6B7280", "text_wrap": True, "valign": "top"})


def money_number(value: Decimal | None) -> float:
    return float(value or 0)


def write_split_xlsx(
    export: SplitExport,
    target: str | IO[bytes],
    *,
    requested_by: str = "",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the split report workbook to `target` (a path or a binary file); returns the data rows.

    Sheets: Cover (filters, as-of, reporting currency, totals), Split (the export
    columns, one row per initiative and month, totals row), By lane and month, and
    True-up by quarter (who owes whom). Written with xlsxwriter's constant_memory
    mode: each row goes to disk as soon as the next begins, so memory stays flat.
    """
    import xlsxwriter

    currency = settings.REPORTING_CURRENCY
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": "Spend split report",
            "subject": "Marketing versus IT spend split",
            "author": requested_by or "Right-Speed Portfolio",
            "company": "Right-Speed Portfolio",
        }
    )
    formats = Formats(workbook, currency)
    # Tab order is the order of creation; constant_memory lets each sheet be filled later, top to bottom.
    # The split rows come first: a script that reads "the first sheet" gets the §4 columns.
    split_sheet = workbook.add_worksheet(SPLIT_SHEET)
    lane_month = workbook.add_worksheet(LANE_MONTH_SHEET)
    true_up = workbook.add_worksheet(TRUE_UP_SHEET)
    cover = workbook.add_worksheet(COVER_SHEET)
    split_sheet.activate()
    for sheet in (cover, split_sheet, lane_month, true_up):
        print_setup(sheet, landscape=sheet is not cover)

    totals = export.totals()
    rows = _write_split_sheet(split_sheet, export, formats, totals, progress)
    _write_lane_month_sheet(lane_month, split_summary(["month", "lane"], export.filters), formats)
    _write_true_up_sheet(true_up, split_summary("quarter", export.filters), totals, formats)
    _write_cover(cover, export, totals, formats, currency=currency, requested_by=requested_by)
    workbook.close()
    return rows


def print_setup(sheet, *, landscape: bool) -> None:
    """Printable as-is: one page wide, the header row on every page, the sheet name in the footer."""
    if landscape:
        sheet.set_landscape()
        sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer("&L&A&RPage &P of &N")


def write_header(sheet, labels: Iterable[str], formats: Formats, numeric: Iterable[int]) -> None:
    """The bold, frozen header row; the headers of number columns are right-aligned like their numbers."""
    numeric = set(numeric)
    for col, label in enumerate(labels):
        sheet.write_string(0, col, label, formats.header_right if col in numeric else formats.header)
    sheet.set_row(0, 22)
    sheet.freeze_panes(1, 0)


def _write_split_sheet(sheet, export: SplitExport, formats: Formats, totals: dict, progress) -> int:
    kinds = []
    for col, column in enumerate(SPLIT_COLUMNS):
        if column in DECIMAL_COLUMNS:
            money = column != "marketing_share_pct"
            kinds.append("money" if money else "percent")
            sheet.set_column(col, col, max(len(column) + 3, 19 if money else 12))
        else:
            kinds.append(column if column in ("fiscal_year", "month") else "text")
            sheet.set_column(col, col, _COLUMN_WIDTHS.get(column, max(len(column) + 3, 13)))
    first_number = SPLIT_COLUMNS.index("marketing_share_pct")
    write_header(sheet, SPLIT_COLUMNS, formats, range(first_number, len(SPLIT_COLUMNS)))

    write_string, write_number = sheet.write_string, sheet.write_number
    money_format, percent_format = formats.money, formats.percent
    row = 0
    source = split_rows(export.filters).values_list(*SPLIT_COLUMNS).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
    for values in source:
        row += 1
        for col, value in enumerate(values):
            kind = kinds[col]
            if kind == "money":
                write_number(row, col, float(value), money_format)
            elif kind == "text":
                if value:
                    write_string(row, col, value)  # a string cell: never a formula
            elif kind == "percent":
                write_number(row, col, float(value), percent_format)
            elif kind == "fiscal_year":
                write_string(row, col, fiscal_year_text(value))
            else:
                write_string(row, col, month_text(value))
        if progress is not None and row % XLSX_PROGRESS_ROWS == 0:
            progress(row)
    last_data_row = row
    sheet.autofilter(0, 0, max(last_data_row, 1), len(SPLIT_COLUMNS) - 1)

    # Totals: values (the split_summary of the same selection), not formulas, so any
    # reader shows them without recalculating.
    row += 1
    for col, column in enumerate(SPLIT_COLUMNS):
        if column in SPLIT_AMOUNT_COLUMNS:
            write_number(row, col, money_number(totals[column]), formats.total_money)
        elif column == "fiscal_year":
            write_string(row, col, "Total", formats.total)
        elif column == "initiative_title":
            write_string(row, col, f"{totals['rows']:,} rows", formats.total)
        else:
            sheet.write_blank(row, col, None, formats.total)
    if progress is not None:
        progress(last_data_row)
    return last_data_row


def _write_lane_month_sheet(sheet, groups: list[dict], formats: Formats) -> None:
    labels = ["Fiscal year", "Month", "Lane", "Rows", *AMOUNT_LABELS.values(), "Marketing share of actual %"]
    write_header(sheet, labels, formats, range(3, len(labels)))
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 10)
    sheet.set_column(2, 2, 13)
    sheet.set_column(3, 3, 9)
    sheet.set_column(4, 4 + len(AMOUNT_LABELS) - 1, 19)
    sheet.set_column(4 + len(AMOUNT_LABELS), 4 + len(AMOUNT_LABELS), 28)
    sums = dict.fromkeys(SPLIT_AMOUNT_COLUMNS, Decimal("0.00"))
    count = 0
    row = 0
    for group in groups:
        row += 1
        sheet.write_string(row, 0, fiscal_year_text(group["fiscal_year"]))
        sheet.write_string(row, 1, month_text(group["month"]))
        sheet.write_string(row, 2, Lane(group["lane"]).label if group["lane"] in Lane.values else group["lane"])
        sheet.write_number(row, 3, group["rows"], formats.integer)
        for offset, column in enumerate(SPLIT_AMOUNT_COLUMNS):
            sheet.write_number(row, 4 + offset, money_number(group[column]), formats.money)
            sums[column] += group[column]
        share = group["marketing_share_of_actual"]
        if share is not None:
            sheet.write_number(row, 4 + len(SPLIT_AMOUNT_COLUMNS), float(share), formats.percent)
        count += group["rows"]
    if row:
        sheet.autofilter(0, 0, row, len(labels) - 1)
    row += 1
    sheet.write_string(row, 0, "Total", formats.total)
    sheet.write_blank(row, 1, None, formats.total)
    sheet.write_blank(row, 2, None, formats.total)
    sheet.write_number(row, 3, count, formats.total_integer)
    for offset, column in enumerate(SPLIT_AMOUNT_COLUMNS):
        sheet.write_number(row, 4 + offset, money_number(sums[column]), formats.total_money)
    share = marketing_share_of_actual(sums["actual_marketing"], sums["actual_total"])
    if share is not None:
        sheet.write_number(row, 4 + len(SPLIT_AMOUNT_COLUMNS), float(share), formats.total_percent)
    else:
        sheet.write_blank(row, 4 + len(SPLIT_AMOUNT_COLUMNS), None, formats.total)


TRUE_UP_COLUMNS = ("actual_total", "actual_marketing", "paid_marketing", "actual_it", "paid_it", "true_up")


def _write_true_up_sheet(sheet, quarters: list[dict], totals: dict, formats: Formats) -> None:
    labels = ["Fiscal year", "Quarter", "Months", *(AMOUNT_LABELS[c] for c in TRUE_UP_COLUMNS)]
    labels += ["Settlement", "Amount to settle"]
    settlement_col = 3 + len(TRUE_UP_COLUMNS)
    write_header(sheet, labels, formats, [*range(3, settlement_col), settlement_col + 1])
    sheet.set_column(0, 1, 11)
    sheet.set_column(2, 2, 24)
    sheet.set_column(3, settlement_col - 1, 19)
    sheet.set_column(settlement_col, settlement_col, 22)
    sheet.set_column(settlement_col + 1, settlement_col + 1, 19)
    row = 0
    for quarter in quarters:
        row += 1
        year, number = quarter["fiscal_year"], quarter["fiscal_quarter"]
        sheet.write_string(row, 0, fiscal_year_text(year))
        sheet.write_string(row, 1, f"Q{number}")
        sheet.write_string(row, 2, quarter_months_text(year, number))
        _write_settlement(sheet, row, quarter, formats, total=False)
    row += 1
    sheet.write_string(row, 0, "Total", formats.total)
    sheet.write_blank(row, 1, None, formats.total)
    sheet.write_string(row, 2, "Net over the selection", formats.total)
    _write_settlement(sheet, row, totals, formats, total=True)


def _write_settlement(sheet, row: int, amounts: dict, formats: Formats, *, total: bool) -> None:
    money = formats.total_money if total else formats.money
    for offset, column in enumerate(TRUE_UP_COLUMNS):
        sheet.write_number(row, 3 + offset, money_number(amounts[column]), money)
    col = 3 + len(TRUE_UP_COLUMNS)
    sheet.write_string(row, col, settlement_label(amounts["true_up"]), formats.total_owes if total else formats.owes)
    sheet.write_number(row, col + 1, money_number(abs(amounts["true_up"])), money)


def write_cover_head(
    sheet,
    export: SplitExport,
    formats: Formats,
    *,
    title: str,
    subtitle: str,
    count: tuple[str, int],
    currency: str,
    requested_by: str,
) -> int:
    """The head every report's cover sheet shares: title, the facts (as of, currency, fiscal year,
    generated when and by whom), the line count `(label, n)` and the filters; returns its last row."""
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 34)
    sheet.hide_gridlines(2)
    sheet.write_string(0, 0, title, formats.title)
    sheet.set_row(0, 28)
    sheet.write_string(1, 0, subtitle, formats.subtitle)

    as_of = export.as_of_local
    generated = timezone.localtime()
    facts = [
        ("Figures as of", f"{as_of:%d %b %Y, %H:%M} ({settings.TIME_ZONE})" if as_of else "Not computed yet"),
        ("Reporting currency", currency),
        ("Fiscal year starts", dt.date(2000, settings.FISCAL_YEAR_START_MONTH, 1).strftime("%B")),
        ("Generated", f"{generated:%d %b %Y, %H:%M} ({settings.TIME_ZONE})"),
        ("Generated by", requested_by or "—"),
    ]
    row = 3
    for label, value in facts:
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.value)
        row += 1
    sheet.write_string(row, 0, count[0], formats.label)
    sheet.write_number(row, 1, count[1], formats.value_integer)

    row += 2
    sheet.write_string(row, 0, "Filters", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    for label, value in export.filter_labels():
        row += 1
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.value)
    return row


def _write_cover(sheet, export: SplitExport, totals: dict, formats: Formats, *, currency: str, requested_by: str):
    sheet.set_column(2, 2, 60)
    subtitle = "Right-Speed Portfolio · marketing versus IT spend, per initiative and month"
    row = write_cover_head(
        sheet,
        export,
        formats,
        title="Spend split report",
        subtitle=subtitle,
        count=("Rows", totals["rows"]),
        currency=currency,
        requested_by=requested_by,
    )

    row += 2
    sheet.write_string(row, 0, f"Totals ({currency})", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    for column in SPLIT_AMOUNT_COLUMNS:
        row += 1
        sheet.write_string(row, 0, AMOUNT_LABELS[column], formats.label)
        sheet.write_number(row, 1, money_number(totals[column]), formats.value_money)
    row += 1
    sheet.write_string(row, 0, "Settlement", formats.label)
    sheet.write_string(
        row, 1, f"{settlement_label(totals['true_up'])} {abs(totals['true_up']):,.2f} {currency}", formats.value
    )

    row += 2
    sheet.write_string(row, 0, "Sheets", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    notes = [
        (SPLIT_SHEET, "One row per initiative and month: the columns of the CSV export, with a totals row."),
        (LANE_MONTH_SHEET, "The rows summed per fiscal month and lane."),
        (TRUE_UP_SHEET, "Per fiscal quarter, who owes whom: true-up = actual marketing − paid by marketing."),
    ]
    for name, note in notes:
        row += 1
        sheet.write_string(row, 0, name, formats.value)
        sheet.write_string(row, 1, note, formats.label)
    row += 2
    sheet.write_string(
        row,
        0,
        "Marketing + IT equals the total in every row and every roll-up. Text that looks like a formula "
        "is stored as text.",
        formats.subtitle,
    )
