"""The true-up journal's last two columns: the settlement holding the line's month, and whether it is closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.journal import JOURNAL_COLUMNS, journal_csv_chunks
from split.selectors import SplitFilters
from split.settlements import settlement_create, settlement_reverse
from tests.reports.export_helpers import parse_csv
from tests.split.settlement_helpers import AUGUST, JULY, ledger

pytestmark = pytest.mark.django_db


def _journal() -> list[dict[str, str]]:
    header, *lines = parse_csv(b"".join(journal_csv_chunks(SplitFilters())))
    assert header == list(JOURNAL_COLUMNS)
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_the_new_columns_come_last():
    assert JOURNAL_COLUMNS == (
        "date",
        "debit_side",
        "credit_side",
        "amount",
        "currency",
        "initiative_code",
        "memo",
        "settlement",
        "month_closed",
    )


def test_each_line_says_its_settlement_and_whether_its_month_is_closed(pm, finance):
    ledger(pm=pm, finance=finance)
    settlement_create(months=[JULY, AUGUST], reference="JE-2026-0412", by=finance)

    lines = {(line["date"], line["initiative_code"]): line for line in _journal()}
    states = {date: (line["settlement"], line["month_closed"]) for (date, _), line in lines.items()}
    assert states == {
        "2026-07-31": ("JE-2026-0412", "true"),  # settled
        "2026-08-31": ("JE-2026-0412", "true"),
        "2026-09-30": ("", "true"),  # outstanding: closed, not settled
        "2026-10-31": ("", "false"),  # accruing: open
    }


def test_a_reversed_settlement_leaves_the_lines_outstanding_and_a_reference_cannot_be_a_formula(pm, finance):
    ledger(pm=pm, finance=finance)
    reversed_ = settlement_create(months=[JULY], reference="JE-1", by=finance)
    settlement_reverse(settlement=reversed_, by=finance, reason="Wrong period")
    formula = settlement_create(months=[JULY], reference='=HYPERLINK("http://x")', by=finance)

    july = [line for line in _journal() if line["date"] == "2026-07-31"]
    assert july and {line["settlement"] for line in july} == {'\'=HYPERLINK("http://x")'}
    settlement_reverse(settlement=formula, by=finance, reason="Typed a formula")
    assert {line["settlement"] for line in _journal()} == {""}


def test_the_reports_page_says_which_part_of_each_quarter_is_settled(client, pm, finance):
    ledger(pm=pm, finance=finance)
    settlement_create(months=[JULY], reference="JE-1", by=finance)
    client.force_login(finance)

    quarters = client.get("/reports/", {"fiscal_year": "FY2026"}).context["quarters"]

    (q3,) = [quarter for quarter in quarters if quarter["fiscal_quarter"] == 3]
    assert (q3["true_up_settled"], q3["true_up_outstanding"], q3["true_up_accruing"]) == (
        Decimal("300.00"),
        Decimal("199.99"),
        Decimal("0.00"),
    )
