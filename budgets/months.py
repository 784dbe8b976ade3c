"""Calendar-month helpers shared by budgets, actuals, FX rates and locks.

A month is always held as the `date` of its first day.
"""

from __future__ import annotations

import datetime as dt
import re

from portfolio.fiscal import add_months, month_start

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
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_label(month: dt.date) -> str:
    """`March 2026`: how a month is named in every message (locale-independent)."""
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def month_short_label(month: dt.date) -> str:
    """`Mar 2026`, for table headers."""
    return f"{MONTH_NAMES[month.month - 1][:3]} {month.year}"


def parse_year_month(text: str) -> dt.date:
    """`2026-03` → date(2026, 3, 1); ValueError with a plain message otherwise."""
    match = _YEAR_MONTH.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a month like 2026-03 (YYYY-MM)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        raise ValueError(f"'{text}' is not a real month")
    return dt.date(year, month, 1)


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, first day of the next month): a half-open range that index scans love."""
    first = month_start(month)
    return first, add_months(first, 1)
