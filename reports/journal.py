"""The true-up journal for the ERP (PRODUCT.md §4): per month, one line per initiative whose true-up is not zero,
with the settlement that holds its month (empty while outstanding or accruing) and whether the month is closed.

Also the words of a settlement ("Marketing owes IT"), which the workbook and the
reports page show. Read from the split rows (`split_rows`), streamed like the split CSV.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal

from django.conf import settings

from portfolio import fiscal
from reports.cells import csv_text, decimal_text, fiscal_year_text, month_text
from reports.split_csv import ITERATOR_CHUNK_ROWS, lines_in_chunks
from split.selectors import SplitFilters, split_rows
from split.settlements import settled_month_references

JOURNAL_COLUMNS: tuple[str, ...] = (
    "date",
    "debit_side",
    "credit_side",
    "amount",
    "currency",
    "initiative_code",
    "memo",
    "settlement",  # the ERP reference of the active settlement holding the month; empty while outstanding or accruing
    "month_closed",  # true: the month is locked and its split frozen (its figures never move); false: still open
)
JOURNAL_HEADER = ",".join(JOURNAL_COLUMNS) + "\n"
_JOURNAL_FIELDS = ("fiscal_year", "month", "initiative_code", "initiative_title", "marketing_share_pct")
_JOURNAL_FIELDS += ("actual_total", "actual_marketing", "paid_marketing", "true_up", "closed")
MEMO_TITLE_CHARS = 60


def month_end(month: dt.date) -> dt.date:
    return fiscal.add_months(month, 1) - dt.timedelta(days=1)


def settlement(true_up: Decimal) -> tuple[str, str, Decimal]:
    """(debit side, credit side, positive amount) of a true-up.

    Positive: marketing owes IT, so marketing's cost centre is charged (debit) and
    IT's relieved (credit); negative: the other way round.
    """
    if true_up >= 0:
        return "marketing", "it", true_up
    return "it", "marketing", -true_up


def settlement_label(true_up: Decimal) -> str:
    """ "Marketing owes IT", "IT owes Marketing" or "Square" (nothing owed; "settled" is what a settlement does)."""
    if true_up > 0:
        return "Marketing owes IT"
    if true_up < 0:
        return "IT owes Marketing"
    return "Square"


def journal_line(values: tuple, currency: str, references: Mapping[dt.date, str] | None = None) -> str:
    """One journal line; `references` maps each settled month to its settlement's ERP reference."""
    year, month, code, title, share, actual_total, actual_marketing, paid_marketing, true_up, closed = values
    debit, credit, amount = settlement(true_up)
    short_title = title if len(title) <= MEMO_TITLE_CHARS else title[: MEMO_TITLE_CHARS - 1] + "…"
    memo = (
        f"Spend split true-up {fiscal_year_text(year)} {month_text(month)} {code} {short_title}: "
        f"marketing share {decimal_text(share)}% of actual {decimal_text(actual_total)} = "
        f"{decimal_text(actual_marketing)}, paid by marketing {decimal_text(paid_marketing)}"
    )
    cells = (
        month_end(month).isoformat(),
        debit,
        credit,
        decimal_text(amount),
        currency,
        csv_text(code),
        csv_text(memo),
        csv_text((references or {}).get(month, "") if closed else ""),
        "true" if closed else "false",
    )
    return ",".join(cells) + "\n"


def journal_rows(filters: SplitFilters):
    """The split rows with a non-zero true-up, in export order (month, then initiative)."""
    return split_rows(filters).exclude(true_up=0).values_list(*_JOURNAL_FIELDS)


def journal_csv_chunks(filters: SplitFilters, *, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The true-up journal for the ERP: per month, one line per initiative whose true-up is not zero."""
    currency = settings.REPORTING_CURRENCY
    references = settled_month_references()  # a few dozen months at most: one query, not one per line
    yield JOURNAL_HEADER.encode()
    rows = journal_rows(filters).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
    yield from lines_in_chunks((journal_line(values, currency, references) for values in rows), progress)
