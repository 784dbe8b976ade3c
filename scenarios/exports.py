"""The comparison's exports (issue 19 point 2): CSV and XLSX from one definition of the columns.

Two tables: the figures (one row per section — overall, lane, owner's side — group and column of the
comparison) and the initiatives that differ (one row per initiative and scenario where it differs).
Formula-safe like the other reports: every text cell (scenario names, titles are typed by people)
goes through `portfolio.text.spreadsheet_safe` in CSV and is written as a string cell in XLSX, so no
spreadsheet evaluates it; money stays numbers with two places.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import IO

from portfolio.text import spreadsheet_safe

from .comparison import FIGURES, Comparison, Figures

# The figures table: its text columns, then the figures in comparison order.
FIGURE_TEXT_COLUMNS = ("section", "group", "column")
FIGURE_COLUMNS = (*FIGURE_TEXT_COLUMNS, *FIGURES)
# The differences table: scenario − live per initiative and scenario; `lane` is the scenario's lane when it moved.
DIFFERENCE_TEXT_COLUMNS = ("initiative_code", "initiative_title", "scenario", "live_lane", "lane")
DIFFERENCE_COLUMNS = (
    "initiative_code",
    "initiative_title",
    "scenario",
    "live_lane",
    "planned_total",
    "planned_marketing",
    "forecast_marketing",
    "forecast_it",
    "lane",
)
FIGURES_SHEET, DIFFERENCES_SHEET = "Comparison", "Differences"


def figure_rows(comparison: Comparison) -> Iterator[dict]:
    """The figures table's rows: overall, then each lane, then each owner's side ('' reads "no side")."""
    sections = [("overall", "all", lambda column: column.overall)]
    sections += [("lane", lane, lambda column, lane=lane: column.by_lane.get(lane)) for lane in comparison.lanes]
    sections += [
        ("side", side or "no side", lambda column, side=side: column.by_side.get(side)) for side in comparison.sides
    ]
    for section, group, pick in sections:
        for column in comparison.columns:
            figures = pick(column) or Figures()
            yield {"section": section, "group": group, "column": column.label, **figures.as_dict()}


def difference_rows(comparison: Comparison) -> Iterator[dict]:
    """One row per initiative that differs and scenario it differs in, by code then scenario."""
    for difference in comparison.differences:
        for column, deltas in zip(comparison.scenarios, difference.deltas, strict=True):
            if deltas is not None:
                yield {
                    "initiative_code": difference.code,
                    "initiative_title": difference.title,
                    "scenario": column.label,
                    "live_lane": difference.live_lane,
                    **deltas,
                }


def _csv_value(name: str, value, text_columns: tuple[str, ...]) -> str:
    if value is None:
        return ""
    if name in text_columns:
        return spreadsheet_safe(str(value))
    return f"{value:.2f}" if isinstance(value, Decimal) else str(value)


def write_csv(comparison: Comparison, out: IO[str], *, differences: bool = False) -> None:
    """The figures table (or, with `differences`, the differences table) as CSV with a header."""
    columns, texts, rows = (
        (DIFFERENCE_COLUMNS, DIFFERENCE_TEXT_COLUMNS, difference_rows(comparison))
        if differences
        else (FIGURE_COLUMNS, FIGURE_TEXT_COLUMNS, figure_rows(comparison))
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(name, row[name], texts) for name in columns])


def write_xlsx(comparison: Comparison, out: IO[bytes]) -> None:
    """A workbook with the figures sheet and the differences sheet (text as string cells, money as numbers).

    xlsxwriter in constant_memory mode like the reports' workbooks: rows go out in order.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    header = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    for title, columns, texts, rows in (
        (FIGURES_SHEET, FIGURE_COLUMNS, FIGURE_TEXT_COLUMNS, figure_rows(comparison)),
        (DIFFERENCES_SHEET, DIFFERENCE_COLUMNS, DIFFERENCE_TEXT_COLUMNS, difference_rows(comparison)),
    ):
        sheet = workbook.add_worksheet(title)
        for n, name in enumerate(columns):
            sheet.write_string(0, n, name, header)
        for r, row in enumerate(rows, start=1):
            for n, name in enumerate(columns):
                value = row[name]
                if value is None:
                    continue
                if name in texts:
                    sheet.write_string(r, n, str(value))
                else:
                    sheet.write_number(r, n, float(value), money)
    workbook.close()
