"""Calendar-month helpers shared by budgets, actuals, FX rates and locks.

A month is always held as the `date` of its first day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from portfolio.fiscal import MONTH_NAMES, add_months, month_start
from portfolio.fiscal import month_label as month_label  # its home is portfolio.fiscal; budgets' callers import it here

_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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


MONTH_CHOICES_LIMIT = 120  # ten years of months in a select are plenty; older ones can still be typed in the URL


def month_choices(
    first: dt.date | None, last: dt.date | None, *, selected: str = "", empty_label: str = "Any month"
) -> list:
    """Choices of a month select: the empty one, then the months from `last` back to `first`, grouped by year.

    Values are `2026-03` (what filters and the API take), labels `March 2026`. A
    `selected` month outside the range is offered too, so the select shows what a
    list is filtered by. At most MONTH_CHOICES_LIMIT months back from `last`.
    """
    months: set[dt.date] = set()
    if first is not None and last is not None:
        month, stop = month_start(last), max(month_start(first), add_months(month_start(last), 1 - MONTH_CHOICES_LIMIT))
        while month >= stop:
            months.add(month)
            month = add_months(month, -1)
    with contextlib.suppress(TypeError, ValueError):  # no month chosen, or text that is not one
        months.add(parse_year_month(selected))
    by_year: dict[int, list[tuple[str, str]]] = {}
    for month in sorted(months, reverse=True):
        by_year.setdefault(month.year, []).append((f"{month:%Y-%m}", month_label(month)))
    return [("", empty_label), *((str(year), options) for year, options in by_year.items())]


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """(first day, first day of the next month): a half-open range that index scans love."""
    first = month_start(month)
    return first, add_months(first, 1)
