"""The fiscal calendar (PRODUCT.md §2).

A fiscal year starts on the first day of `FISCAL_YEAR_START_MONTH` and is named
after the calendar year in which it ends: with start month 7, July 2026 – June
2027 is FY2027. Quarters are fiscal quarters (Q1 holds the start month).
Every function takes the start month explicitly, defaulting to the setting, so
the rule is testable for all twelve start months.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings

_LABEL = re.compile(r"^FY(\d{4})$")


def _start(start_month: int | None) -> int:
    month = settings.FISCAL_YEAR_START_MONTH if start_month is None else start_month
    if not 1 <= month <= 12:
        raise ValueError(f"FISCAL_YEAR_START_MONTH must be 1–12, not {month}")
    return month


def month_start(day: dt.date) -> dt.date:
    """The first day of the calendar month holding `day`."""
    return day.replace(day=1)


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_label(month: dt.date) -> str:
    """`March 2026`: how a month is named in every message (locale-independent)."""
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def add_months(month: dt.date, count: int) -> dt.date:
    """The first day of the month `count` months after `month` (count may be negative)."""
    index = month.year * 12 + (month.month - 1) + count
    return dt.date(index // 12, index % 12 + 1, 1)


def fiscal_year(day: dt.date, start_month: int | None = None) -> int:
    """The fiscal year (as the calendar year it ends in) that holds `day`."""
    start = _start(start_month)
    if start == 1:
        return day.year
    return day.year + 1 if day.month >= start else day.year


def fiscal_year_label(year: int) -> str:
    return f"FY{year}"


def parse_fiscal_year(label: str | int) -> int:
    """Accept `FY2027` or `2027`; raise ValueError otherwise."""
    if isinstance(label, int):
        return label
    text = label.strip().upper()
    match = _LABEL.match(text)
    if match:
        return int(match.group(1))
    if text.isdigit() and len(text) == 4:
        return int(text)
    raise ValueError(f"'{label}' is not a fiscal year like FY2027")


def fiscal_quarter(day: dt.date, start_month: int | None = None) -> int:
    """1–4: the fiscal quarter that holds `day`."""
    start = _start(start_month)
    offset = (day.month - start) % 12
    return offset // 3 + 1


def fiscal_year_start(year: int, start_month: int | None = None) -> dt.date:
    start = _start(start_month)
    return dt.date(year if start == 1 else year - 1, start, 1)


def fiscal_year_months(year: int, start_month: int | None = None) -> list[dt.date]:
    """The twelve month-starts of fiscal year `year`, in order."""
    first = fiscal_year_start(year, start_month)
    return [add_months(first, i) for i in range(12)]


def fiscal_year_bounds(year: int, start_month: int | None = None) -> tuple[dt.date, dt.date]:
    """(first day, last day) of fiscal year `year`."""
    first = fiscal_year_start(year, start_month)
    return first, add_months(first, 12) - dt.timedelta(days=1)


def fiscal_quarter_months(year: int, quarter: int, start_month: int | None = None) -> list[dt.date]:
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1–4, not {quarter}")
    return fiscal_year_months(year, start_month)[(quarter - 1) * 3 : quarter * 3]
