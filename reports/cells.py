"""How a value is written in a cell of a finance export: spreadsheet safety and the text of each kind.

Shared by the split CSV (`reports.split_csv`, whose SQL twin for COPY writes the same
text), the true-up journal (`reports.journal`) and the workbook (`reports.xlsx`).

Safe for spreadsheets: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading apostrophe in CSV and is written as a string cell
(`write_string`) in XLSX, so no spreadsheet ever evaluates it; numbers stay numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from portfolio import fiscal

# Formula safety is one rule for every file a spreadsheet may open (reports, import error files).
from portfolio.text import FORMULA_TRIGGERS as FORMULA_TRIGGERS
from portfolio.text import spreadsheet_safe as spreadsheet_safe
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS

# How each export column is written. Keyed by name so the column ORDER stays that of
# SPLIT_COLUMNS; a column added there without a kind here fails at import time.
TEXT_COLUMNS = frozenset({"initiative_code", "initiative_title", "lane", "status"})
DECIMAL_COLUMNS = frozenset({"marketing_share_pct", *SPLIT_AMOUNT_COLUMNS})
_UNTYPED = set(SPLIT_COLUMNS) - TEXT_COLUMNS - DECIMAL_COLUMNS - {"fiscal_year", "month"}
if _UNTYPED:  # pragma: no cover - guards the one list of columns
    raise ImportError(f"reports.cells does not know how to write {sorted(_UNTYPED)}")

_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def csv_text(text: str | None) -> str:
    """A CSV field for text, quoted like PostgreSQL's COPY … CSV does (only when needed)."""
    if not text:
        return ""
    text = spreadsheet_safe(text)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def decimal_text(value: Decimal) -> str:
    """Two places, no thousands separators, never `-0.00`."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def month_text(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def fiscal_year_text(year: int) -> str:
    return fiscal.fiscal_year_label(year)


def quarter_months_text(year: int, quarter: int) -> str:
    """E.g. "Jan–Mar 2026" (or "Nov 2026–Jan 2027" across a calendar year)."""
    months = fiscal.fiscal_quarter_months(year, quarter)
    first, last = months[0], months[-1]
    if first.year == last.year:
        return f"{first:%b}–{last:%b} {last.year}"
    return f"{first:%b %Y}–{last:%b %Y}"
