"""Finance exports (PRODUCT.md §4): the split CSV, the true-up journal, spreadsheet safety.

The figures are checked against the split selectors (`split_rows`, `split_summary`:
what the API and the dashboard read) and against an independent computation from
the raw budget lines and expenses. The portfolio they export is `export_portfolio`
(tests/reports/conftest.py), shared by every test_export*.py module.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection

from budgets.models import BudgetLine, Expense
from reports import split_csv
from reports.cells import FORMULA_TRIGGERS, spreadsheet_safe
from reports.journal import JOURNAL_COLUMNS, journal_csv_chunks
from reports.selectors import SplitExport
from reports.split_csv import CSV_HEADER, split_csv_chunks
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS
from split.selectors import SplitFilters, split_rows, split_summary
from split.services import split_recompute
from tests.factories import BudgetLineFactory, InitiativeFactory
from tests.reports.export_helpers import HYPERLINK, parse_csv, unescape

pytestmark = pytest.mark.django_db
D = Decimal


def body(chunks) -> bytes:
    return b"".join(chunks)


def expected_rows_from_raw_records(start_month: int = 7) -> dict[tuple[str, str], dict[str, Decimal]]:
    """§3 computed again from the budget lines and expenses, independently of the engine."""
    sums: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: D("0.00")))
    for line in BudgetLine.objects.select_related("initiative"):
        sums[(line.initiative, line.month)]["planned_total"] += line.amount
    for expense in Expense.objects.select_related("initiative"):
        key = (expense.initiative, expense.incurred_on.replace(day=1))
        sums[key]["actual_total"] += expense.amount_reporting
        sums[key][f"paid_{expense.paid_by}"] += expense.amount_reporting
    cent = D("0.01")
    expected = {}
    for (initiative, month), row in sums.items():
        share = initiative.marketing_share_pct / 100
        planned, actual = row["planned_total"], row["actual_total"]
        planned_marketing = (planned * share).quantize(cent, rounding=ROUND_HALF_UP)
        actual_marketing = (actual * share).quantize(cent, rounding=ROUND_HALF_UP)
        year = month.year + (1 if month.month >= start_month and start_month > 1 else 0)
        expected[(initiative.code, f"{month:%Y-%m}")] = {
            "fiscal_year": f"FY{year}",
            "initiative_title": initiative.title,
            "marketing_share_pct": initiative.marketing_share_pct,
            "planned_total": planned,
            "planned_marketing": planned_marketing,
            "planned_it": planned - planned_marketing,
            "actual_total": actual,
            "actual_marketing": actual_marketing,
            "actual_it": actual - actual_marketing,
            "paid_marketing": row["paid_marketing"],
            "paid_it": row["paid_it"],
            "true_up": actual_marketing - row["paid_marketing"],
            "variance": planned - actual,
        }
    return expected


# --- spreadsheet safety ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+1 555", "'+1 555"),
        ("-5", "'-5"),
        ("@user", "'@user"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Plain", "Plain"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_text_that_a_spreadsheet_would_evaluate_gets_a_leading_apostrophe(text, safe):
    assert spreadsheet_safe(text) == safe


# --- the split CSV ---------------------------------------------------------------------


def test_csv_header_is_exactly_the_columns_of_the_contract():
    data = body(split_csv_chunks(SplitFilters()))

    assert data.decode() == CSV_HEADER
    assert CSV_HEADER == (
        "fiscal_year,month,initiative_code,initiative_title,lane,status,marketing_share_pct,planned_total,"
        "planned_marketing,planned_it,actual_total,actual_marketing,actual_it,paid_marketing,paid_it,true_up,"
        "variance\n"
    )


def test_csv_rows_equal_an_independent_computation_from_the_raw_records(export_portfolio):
    header, *rows = parse_csv(body(split_csv_chunks(SplitFilters())))
    expected = expected_rows_from_raw_records()

    assert header == list(SPLIT_COLUMNS)
    assert len(rows) == len(expected) == split_rows().count()
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        want = expected[(cells["initiative_code"], cells["month"])]
        assert cells["fiscal_year"] == want["fiscal_year"]
        assert unescape(cells["initiative_title"]) == want["initiative_title"]
        for column in ("marketing_share_pct", *SPLIT_AMOUNT_COLUMNS):
            assert D(cells[column]) == want[column], (cells["initiative_code"], cells["month"], column)


def test_csv_ties_out_to_the_cent_with_split_rows_and_split_summary(export_portfolio):
    filters = SplitFilters.parse({"fiscal_year": "FY2027"})
    header, *rows = parse_csv(body(split_csv_chunks(filters)))
    selected = list(split_rows(filters).values_list(*SPLIT_COLUMNS))
    [summary] = split_summary(None, filters)

    assert [(r[0], r[1], r[2]) for r in rows] == [(f"FY{s[0]}", f"{s[1]:%Y-%m}", s[2]) for s in selected]
    assert len(rows) == summary["rows"]
    for column in SPLIT_AMOUNT_COLUMNS:
        index = header.index(column)
        assert sum(D(row[index]) for row in rows) == summary[column], column


def test_csv_amounts_are_plain_two_place_decimals_and_months_are_year_month(export_portfolio):
    header, *rows = parse_csv(body(split_csv_chunks(SplitFilters())))

    for row in rows:
        cells = dict(zip(header, row, strict=True))
        assert cells["fiscal_year"] in ("FY2026", "FY2027")
        assert len(cells["month"]) == 7 and cells["month"][4] == "-"
        for column in ("marketing_share_pct", *SPLIT_AMOUNT_COLUMNS):
            whole, _, cents = cells[column].lstrip("-").partition(".")
            assert whole.isdigit() and len(cents) == 2, cells[column]
            assert cells[column] != "-0.00"
    assert any(D(dict(zip(header, row, strict=True))["planned_total"]) >= 1000 for row in rows)  # no separators


def test_csv_never_lets_a_title_be_a_formula(export_portfolio):
    header, *rows = parse_csv(body(split_csv_chunks(SplitFilters())))
    titles = {row[header.index("initiative_title")] for row in rows}

    assert "'" + HYPERLINK in titles
    assert HYPERLINK not in titles
    assert {"'+44 hotline, relaunch", "'-minus first", "'@SUM(A1:A2)", "'\tTabbed start", "'\rCarriage start"} <= titles
    assert 'Quotes "inside", and a comma' in titles and "Line one\nline two" in titles
    assert not [title for title in titles if title.startswith(FORMULA_TRIGGERS)]


def test_csv_filters_select_the_same_rows_as_the_split_selectors(export_portfolio):
    fast = export_portfolio[1]
    for params in (
        {"fiscal_year": "FY2026"},
        {"fiscal_year": "2027", "quarter": "Q2"},
        {"lane": "fast_lane", "status": "approved"},
        {"initiative": fast.code.lower()},
    ):
        filters = SplitFilters.parse(params)
        _, *rows = parse_csv(body(split_csv_chunks(filters)))
        assert [(row[2], row[1]) for row in rows] == [
            (code, f"{month:%Y-%m}") for code, month in split_rows(filters).values_list("initiative_code", "month")
        ], params
        assert rows, params


def test_csv_comes_in_chunks_of_bounded_size(export_portfolio, monkeypatch):
    monkeypatch.setattr(split_csv, "CHUNK_BYTES", 512)
    chunks = list(split_csv_chunks(SplitFilters(), method="python"))

    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks[1:]) < 512 + 400  # a chunk is cut after the row that fills it


def test_python_path_reports_progress_in_rows(export_portfolio, monkeypatch):
    monkeypatch.setattr(split_csv, "CHUNK_BYTES", 512)
    seen = []

    body(split_csv_chunks(SplitFilters(), method="python", progress=seen.append))

    assert seen == sorted(seen) and seen[-1] == split_rows().count()


@pytest.mark.postgres
def test_copy_and_python_paths_write_the_same_bytes(export_portfolio):
    for params in ({}, {"fiscal_year": "FY2027"}, {"lane": "fast_lane"}, {"initiative": "INI-9999"}):
        filters = SplitFilters.parse(params)
        copied = body(split_csv_chunks(filters, method="copy"))
        written = body(split_csv_chunks(filters, method="python"))
        assert copied == written, params
    assert copied == CSV_HEADER.encode()  # no such initiative: the header alone


@pytest.mark.postgres
def test_copy_path_is_chunked(export_portfolio, monkeypatch):
    monkeypatch.setattr(split_csv, "CHUNK_BYTES", 512)

    chunks = list(split_csv_chunks(SplitFilters(), method="copy"))

    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks[1:]) < 512 + 400
    assert b"".join(chunks) == body(split_csv_chunks(SplitFilters(), method="python"))


def test_asking_for_progress_takes_the_python_path_which_leaves_the_connection_free(export_portfolio):
    with pytest.raises(ValueError, match="cannot report progress"):
        body(split_csv_chunks(SplitFilters(), method="copy", progress=print))
    seen = []
    body(split_csv_chunks(SplitFilters(), progress=seen.append))  # chooses python by itself
    assert seen[-1] == split_rows().count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_client_that_goes_away_cancels_the_copy_and_leaves_the_connection_usable(monkeypatch):
    monkeypatch.setattr(split_csv, "CHUNK_BYTES", 64)
    monkeypatch.setattr(split_csv, "QUEUE_CHUNKS", 1)
    initiative = InitiativeFactory()
    for month in range(1, 13):
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, month, 1))
    split_recompute(trigger="command")
    sql, params = split_csv.split_csv_select(SplitFilters())
    # Many rows, so the producer is still running when the consumer stops.
    big = sql.replace("FROM (", "FROM generate_series(1, 200000) AS n, (", 1)

    stream = split_csv.copy_csv_chunks(big, params)
    first = next(stream)
    stream.close()

    assert first
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert not [thread for thread in threading.enumerate() if thread.name == "split-csv-copy"]


# --- the true-up journal -------------------------------------------------------------------


def test_journal_has_one_line_per_initiative_and_month_with_a_true_up(export_portfolio):
    header, *lines = parse_csv(body(journal_csv_chunks(SplitFilters())))
    nonzero = list(split_rows().exclude(true_up=0).values_list("initiative_code", "month", "true_up"))

    assert header == list(JOURNAL_COLUMNS)
    assert len(lines) == len(nonzero) < split_rows().count()
    balanced = export_portfolio[-1]
    assert balanced.code not in {line[header.index("initiative_code")] for line in lines}  # its true-up is zero
    by_key = {(code, month): true_up for code, month, true_up in nonzero}
    for line in lines:
        cells = dict(zip(header, line, strict=True))
        date = dt.date.fromisoformat(cells["date"])
        true_up = by_key[(cells["initiative_code"], date.replace(day=1))]
        assert (date + dt.timedelta(days=1)).day == 1  # the last day of the month
        assert D(cells["amount"]) == abs(true_up) > 0
        if true_up > 0:  # marketing owes IT: marketing is charged
            assert (cells["debit_side"], cells["credit_side"]) == ("marketing", "it")
        else:
            assert (cells["debit_side"], cells["credit_side"]) == ("it", "marketing")
        assert cells["currency"] == "USD"
        assert cells["initiative_code"] in cells["memo"]


def test_journal_nets_to_the_true_up_of_each_month(export_portfolio):
    header, *lines = parse_csv(body(journal_csv_chunks(SplitFilters())))
    net: dict[str, Decimal] = defaultdict(lambda: D("0.00"))
    for line in lines:
        cells = dict(zip(header, line, strict=True))
        sign = 1 if cells["debit_side"] == "marketing" else -1
        net[cells["date"][:7]] += sign * D(cells["amount"])

    for month in split_summary("month"):
        assert net[f"{month['month']:%Y-%m}"] == month["true_up"]


def test_journal_memo_cannot_become_a_formula(export_portfolio):
    header, *lines = parse_csv(body(journal_csv_chunks(SplitFilters())))
    memos = [dict(zip(header, line, strict=True))["memo"] for line in lines]

    assert any(HYPERLINK in memo for memo in memos)
    assert not [memo for memo in memos if memo.startswith(FORMULA_TRIGGERS)]


# --- names ----------------------------------------------------------------------------------


def test_the_filename_names_the_filters_and_the_as_of_date(export_portfolio):
    everything = SplitExport.prepare({})
    narrowed = SplitExport.prepare(
        {"fiscal_year": "2027", "quarter": "2", "lane": "fast_lane", "initiative": "ini-0003"}
    )
    as_of = f"{everything.as_of_local:%Y-%m-%d}"

    assert everything.filename("split-report", "csv") == f"split-report_all_as-of-{as_of}.csv"
    assert narrowed.filename("split-report", "xlsx") == f"split-report_FY2027_Q2_fast-lane_INI-0003_as-of-{as_of}.xlsx"


def test_the_filename_says_when_nothing_was_computed_yet():
    assert SplitExport.prepare({}).filename("true-up-journal", "csv") == "true-up-journal_all_not-computed.csv"
