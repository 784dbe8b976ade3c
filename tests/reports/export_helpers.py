"""Helpers of the export tests: the portfolio they export, and how to read a CSV back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from reports.cells import FORMULA_TRIGGERS
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

D = Decimal
HYPERLINK = '=HYPERLINK("http://x","y")'
# Titles a spreadsheet would evaluate, or that need CSV quoting, or both.
AWKWARD_TITLES = [
    HYPERLINK,
    "+44 hotline, relaunch",
    "-minus first",
    "@SUM(A1:A2)",
    "\tTabbed start",
    "\rCarriage start",
    'Quotes "inside", and a comma',
    "Line one\nline two",
    "Ünïcödé café – naïve résumé",
    "Plain title",
]


def build_export_portfolio(settings):
    """Initiatives with awkward titles across a July fiscal-year boundary; the split recomputed.

    Amounts are chosen so that rounding matters (shares of odd cents, a negative
    credit), one row has a zero true-up and one initiative has actuals only.
    """
    settings.FISCAL_YEAR_START_MONTH = 7
    initiatives = []
    shares = [D("60.00"), D("25.00"), D("33.33"), D("100.00"), D("0.00"), D("12.50"), D("50.00"), D("66.67")]
    for number, title in enumerate(AWKWARD_TITLES):
        initiative = InitiativeFactory(
            title=title,
            lane="fast_lane" if number % 2 else "core_stack",
            status=("in_progress", "approved", "done")[number % 3],
            marketing_share_pct=shares[number % len(shares)],
        )
        initiatives.append(initiative)
        for month in (dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)):
            if number != 3:  # one initiative without any budget: actuals only
                BudgetLineFactory(initiative=initiative, month=month, amount=D("1000.01") + number)
            ExpenseFactory(
                initiative=initiative,
                incurred_on=month + dt.timedelta(days=4),
                amount=D("333.35") + number,
                paid_by="marketing" if number % 2 else "it",
            )
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 7, 20), amount=D("-0.05"), paid_by="it")
    # A month whose true-up is exactly zero: marketing paid exactly its share.
    balanced = InitiativeFactory(title="Balanced", marketing_share_pct=D("50.00"), status="approved")
    ExpenseFactory(initiative=balanced, incurred_on=dt.date(2026, 8, 3), amount=D("100.00"), paid_by="marketing")
    ExpenseFactory(initiative=balanced, incurred_on=dt.date(2026, 8, 9), amount=D("100.00"), paid_by="it")
    initiatives.append(balanced)
    split_recompute(trigger="command")
    return initiatives


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def unescape(text: str) -> str:
    """The text a formula-escaped CSV cell stands for."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS) else text
