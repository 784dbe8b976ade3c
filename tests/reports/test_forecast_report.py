"""The forecast report (PRODUCT.md §4) and the forecast in the summary API, against a hand-computed example.

As of May 2026 (January fiscal years), "Loyalty relaunch" has a 60.00 % marketing share from
January and 33.33 % from April (a second agreement). Per §3 *Forecast*, a month before May
counts its actual; May and later count max(plan, actual); marketing's part is rounded per row
with the month's share, IT gets the rest:

    month    plan       actual     share   forecast   marketing                       IT
    2026-01     —          -0.05   60.00     -0.05     -0.03  (-0.030)                  -0.02
    2026-02  1,000.00   1,200.01   60.00   1,200.01    720.01  (720.006)               480.00
    2026-03  1,000.00        —     60.00       0.00      0.00                            0.00
    2026-04    500.00     499.99   33.33     499.99    166.65  (166.646667)            333.34
    2026-05  1,000.00   1,000.05   33.33   1,000.05    333.32  (333.316665)            666.73
    2026-06  1,000.01        —     33.33   1,000.01    333.30  (333.303333)            666.71
    2026-07      —        250.00   33.33     250.00     83.33  (83.325: half up)       166.67
    FY2026   4,500.01   2,950.00           3,950.01  1,636.58                        2,313.43
    2027-01  2,000.00        —     33.33   2,000.00    666.60                        1,333.40

So FY2026: planned 4,500.01, actual to date 2,950.00, forecast 3,950.01 = 1,636.58 + 2,313.43,
variance at completion 4,500.01 − 3,950.01 = 550.00 (rounding the year's total at 33.33 % or
60 % would give neither figure: the rounding is per row). "=cmd" (a core-stack initiative with
no estimate) plans 100.00 in May 2026 at 50 %: forecast 100.00 = 50.00 + 50.00.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from budgets.services.locks import period_lock_create
from initiatives.models import CoFundingAgreement
from reports.choices import ExportFormat
from reports.forecast import FORECAST_CSV_HEADER, forecast_csv_chunks
from reports.forecast_xlsx import write_forecast_xlsx
from reports.models import ExportJob
from reports.selectors import SplitExport
from reports.services import export_file_path, export_job_run
from split import rebuild
from split.selectors import FORECAST_REPORT_COLUMNS, SplitFilters, split_summary
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory
from tests.reports.export_helpers import parse_csv
from tests.reports.test_export_xlsx import read_cells

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = dt.date(2026, 5, 1)
CONTRACT_HEADER = (
    "fiscal_year,initiative_code,initiative_title,lane,status,estimated_cost,planned_total,actual_to_date,"
    "forecast_total,forecast_marketing,forecast_it,variance_at_completion\n"
)
# The report's lines, computed by hand (module docstring), as the CSV writes them.
LOYALTY_FY2026 = ["FY2026", "INI-0001", "Loyalty relaunch", "fast_lane", "in_progress", "10000.00"]
LOYALTY_FY2026 += ["4500.01", "2950.00", "3950.01", "1636.58", "2313.43", "550.00"]
FORMULA_FY2026 = ["FY2026", "INI-0002", "'=cmd|' /C calc'!A0", "core_stack", "approved", ""]
FORMULA_FY2026 += ["100.00", "0.00", "100.00", "50.00", "50.00", "0.00"]
LOYALTY_FY2027 = ["FY2027", "INI-0001", "Loyalty relaunch", "fast_lane", "in_progress", "10000.00"]
LOYALTY_FY2027 += ["2000.00", "0.00", "2000.00", "666.60", "1333.40", "0.00"]


@pytest.fixture
def hand_computed(settings, monkeypatch):
    """The two initiatives of the module docstring, the split recomputed as of May 2026."""
    settings.FISCAL_YEAR_START_MONTH = 1
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: AS_OF)
    loyalty = InitiativeFactory(
        title="Loyalty relaunch",
        status="in_progress",
        marketing_share_pct=D("33.33"),
        estimated_cost=D("10000.00"),
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2027, 6, 30),
    )
    CoFundingAgreement.objects.create(initiative=loyalty, effective_from=dt.date(2026, 1, 1), marketing_share_pct=60)
    CoFundingAgreement.objects.create(
        initiative=loyalty, effective_from=dt.date(2026, 4, 1), marketing_share_pct=D("33.33")
    )
    plans = {2: "1000.00", 3: "1000.00", 4: "500.00", 5: "1000.00", 6: "1000.01"}
    for month, amount in plans.items():
        BudgetLineFactory(initiative=loyalty, month=dt.date(2026, month, 1), amount=D(amount))
    BudgetLineFactory(initiative=loyalty, month=dt.date(2027, 1, 1), amount=D("2000.00"))
    actuals = {1: "-0.05", 2: "1200.01", 4: "499.99", 5: "1000.05", 7: "250.00"}
    for month, amount in actuals.items():
        ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, month, 10), amount=D(amount))
    formula = InitiativeFactory(
        title="=cmd|' /C calc'!A0",
        lane="core_stack",
        status="approved",
        marketing_share_pct=D("50.00"),
        estimated_cost=None,  # no estimate: an empty cell, never 0
    )
    BudgetLineFactory(initiative=formula, month=dt.date(2026, 5, 1), amount=D("100.00"))
    split_recompute(trigger="command")
    return loyalty, formula


def csv_lines(params: dict | None = None, method: str | None = None) -> list[list[str]]:
    data = b"".join(forecast_csv_chunks(SplitFilters.parse(params), method=method))
    return parse_csv(data)


def test_the_header_is_exactly_the_columns_of_the_contract():
    assert FORECAST_CSV_HEADER == CONTRACT_HEADER
    assert ",".join(FORECAST_REPORT_COLUMNS) + "\n" == CONTRACT_HEADER


def test_the_report_equals_the_hand_computed_forecast_to_the_cent(hand_computed):
    header, *lines = csv_lines()

    assert header == CONTRACT_HEADER.strip().split(",")
    assert lines == [LOYALTY_FY2026, FORMULA_FY2026, LOYALTY_FY2027]


def test_the_report_is_the_same_on_the_python_path(hand_computed):
    assert csv_lines(method="python")[1:] == [LOYALTY_FY2026, FORMULA_FY2026, LOYALTY_FY2027]


@pytest.mark.postgres
def test_copy_and_python_paths_write_the_same_bytes(hand_computed, export_portfolio):
    for params in ({}, {"fiscal_year": "FY2027"}, {"quarter": "Q1", "lane": "core_stack"}):
        filters = SplitFilters.parse(params)
        copy = b"".join(forecast_csv_chunks(filters, method="copy"))
        python = b"".join(forecast_csv_chunks(filters, method="python"))
        assert copy == python
    assert connection.vendor == "postgresql"


def test_the_split_reports_filters_select_the_rows_before_they_are_summed(hand_computed):
    # FY2026 Q2 = April, May, June: plan 2,500.01, actual 1,500.04, forecast 2,500.05 = 833.27 + 1,666.78.
    q2 = ["FY2026", "INI-0001", "Loyalty relaunch", "fast_lane", "in_progress", "10000.00"]
    q2 += ["2500.01", "1500.04", "2500.05", "833.27", "1666.78", "-0.04"]
    formula_q2 = FORMULA_FY2026

    assert csv_lines({"fiscal_year": "FY2026", "quarter": "Q2"})[1:] == [q2, formula_q2]
    assert csv_lines({"lane": "core_stack"})[1:] == [FORMULA_FY2026]
    assert csv_lines({"status": "in_progress", "fiscal_year": "2027"})[1:] == [LOYALTY_FY2027]
    assert csv_lines({"initiative": "ini-0002"})[1:] == [FORMULA_FY2026]


def test_its_totals_are_the_forecast_of_the_summary_api_and_the_dashboards_roll_ups(hand_computed, client, finance):
    totals = SplitExport.prepare({"fiscal_year": "FY2026"}).forecast_totals()
    [summary] = split_summary(None, {"fiscal_year": "FY2026"})
    client.force_login(finance)

    body = client.get("/api/split/summary/", {"group_by": "fiscal_year"}).json()

    assert totals == {
        "planned_total": D("4600.01"),
        "actual_to_date": D("2950.00"),
        "forecast_total": D("4050.01"),
        "forecast_marketing": D("1686.58"),
        "forecast_it": D("2363.43"),
        "variance_at_completion": D("550.00"),
        "lines": 2,
    }
    assert (summary["forecast_total"], summary["forecast_marketing"], summary["forecast_it"]) == (
        D("4050.01"),
        D("1686.58"),
        D("2363.43"),
    )
    fy2026, fy2027 = body["results"]
    assert (fy2026["fiscal_year"], fy2026["forecast_total"], fy2026["forecast_marketing"]) == (
        "FY2026",
        "4050.01",
        "1686.58",
    )
    assert fy2026["forecast_it"] == "2363.43"
    assert (fy2027["forecast_total"], fy2027["forecast_marketing"], fy2027["forecast_it"]) == (
        "2000.00",
        "666.60",
        "1333.40",
    )


def test_the_summary_api_gives_the_forecast_of_each_lane_and_initiative(hand_computed, client, finance):
    client.force_login(finance)

    lanes = client.get("/api/split/summary/", {"group_by": "lane", "fiscal_year": "FY2026"}).json()["results"]
    initiatives = client.get("/api/split/summary/", {"group_by": "initiative"}).json()["results"]
    sides = client.get("/api/split/summary/", {"group_by": "side"}).json()["results"]

    assert [(row["lane"], row["forecast_total"], row["forecast_marketing"], row["forecast_it"]) for row in lanes] == [
        ("core_stack", "100.00", "50.00", "50.00"),
        ("fast_lane", "3950.01", "1636.58", "2313.43"),
    ]
    # Both owners are on the marketing side: the whole forecast, 3,950.01 + 100.00 + 2,000.00.
    assert [(row["side"], row["forecast_total"], row["forecast_marketing"], row["forecast_it"]) for row in sides] == [
        ("marketing", "6050.01", "2353.18", "3696.83")
    ]
    # INI-0001's estimate at completion: its whole-life forecast, 3,950.01 + 2,000.00.
    assert [(row["initiative_code"], row["forecast_total"]) for row in initiatives] == [
        ("INI-0001", "5950.01"),
        ("INI-0002", "100.00"),
    ]


def test_a_line_shows_the_words_of_its_latest_month_a_closed_month_keeps_its_own(hand_computed, finance):
    loyalty, _ = hand_computed
    period_lock_create(month=dt.date(2026, 3, 1), reason="March close", by=finance)  # frozen as "Loyalty relaunch"
    loyalty.title = "Loyalty relaunch v2"
    loyalty.save(update_fields=["title"])
    split_recompute(trigger="command")

    lines = csv_lines({"initiative": "INI-0001"})[1:]
    first_quarter = csv_lines({"initiative": "INI-0001", "fiscal_year": "FY2026", "quarter": "Q1"})[1:]

    assert [line[:3] for line in lines] == [
        ["FY2026", "INI-0001", "Loyalty relaunch v2"],  # July, open, is its latest month
        ["FY2027", "INI-0001", "Loyalty relaunch v2"],
    ]
    assert lines[0][6:] == LOYALTY_FY2026[6:]  # the figures did not move
    # January to March: March, closed, is the latest month of the selection and keeps its title.
    assert first_quarter[0][2] == "Loyalty relaunch"
    assert first_quarter[0][6:] == ["2000.00", "1199.96", "1199.96", "719.98", "479.98", "800.04"]


# --- the workbook ---------------------------------------------------------------------------


def forecast_sheet_cells(data: bytes) -> list[list[tuple[str, str]]]:
    """The Forecast sheet (the first) as rows of (kind, value): `s` string, `n` number, `f` formula, `` blank."""
    return read_cells(data, 1)


def test_the_workbook_has_the_same_lines_as_numbers_and_text_as_text(hand_computed):
    target = io.BytesIO()
    rows = write_forecast_xlsx(SplitExport.prepare({}), target, requested_by="Grace Whitfield")
    header, *lines, totals = forecast_sheet_cells(target.getvalue())

    assert rows == 3
    assert [value for _, value in header] == list(FORECAST_REPORT_COLUMNS)
    for cells, expected in zip(lines, (LOYALTY_FY2026, FORMULA_FY2026, LOYALTY_FY2027), strict=True):
        kinds = [kind for kind, _ in cells]
        assert kinds[:5] == ["s"] * 5  # text cells, never formulas
        texts = [value for _, value in cells[:5]]
        assert texts == [expected[0], expected[1], expected[2].removeprefix("'"), expected[3], expected[4]]
        amounts = [D(value).quantize(D("0.01")) if kind == "n" else "" for kind, value in cells[5:]]
        assert amounts == [D(value) if value else "" for value in expected[5:]]
    assert [kind for kind, _ in lines[1]][5] == ""  # no estimate: a blank cell, not 0
    assert totals[0] == ("s", "Total")
    assert [D(value).quantize(D("0.01")) for _, value in totals[6:]] == [
        D("6600.01"),
        D("2950.00"),
        D("6050.01"),
        D("2353.18"),
        D("3696.83"),
        D("550.00"),
    ]
    assert totals[5] == ("", "")  # whole-life estimates are not summed over years


# --- the URLs ---------------------------------------------------------------------------------


def test_finance_downloads_the_csv_and_the_workbook_with_the_filters(hand_computed, client, finance):
    client.force_login(finance)

    csv_response = client.get(reverse("reports:forecast_csv"), {"fiscal_year": "FY2027"})
    xlsx_response = client.get(reverse("reports:forecast_xlsx"), {"lane": "core_stack"})

    assert csv_response.status_code == 200
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="forecast-report_FY2027_as-of-' in csv_response["Content-Disposition"]
    assert parse_csv(b"".join(csv_response.streaming_content)) == [
        CONTRACT_HEADER.strip().split(","),
        LOYALTY_FY2027,
    ]
    assert xlsx_response.status_code == 200
    assert "forecast-report_core-stack_as-of-" in xlsx_response["Content-Disposition"]
    _header, line, _totals = forecast_sheet_cells(b"".join(xlsx_response.streaming_content))
    assert line[1] == ("s", "INI-0002")


def test_bad_filters_are_refused_and_others_than_finance_may_not_download(hand_computed, client, pm, finance):
    client.force_login(finance)
    bad = client.get(reverse("reports:forecast_csv"), {"quarter": "Q9"})
    client.force_login(pm)

    assert bad.status_code == 400 and b"quarter" in bad.content
    assert client.get(reverse("reports:forecast_csv")).status_code == 403
    assert client.get(reverse("reports:forecast_xlsx")).status_code == 403


def test_a_large_forecast_workbook_is_prepared_in_the_background(hand_computed, client, finance, settings, media):
    settings.EXPORT_ASYNC_ROWS = 2
    client.force_login(finance)

    response = client.get(reverse("reports:forecast_xlsx"))
    job = ExportJob.objects.create(requested_by=finance, format=ExportFormat.FORECAST_XLSX, filters={})
    job = export_job_run(job_id=job.pk)
    csv_job = ExportJob.objects.create(
        requested_by=finance, format=ExportFormat.FORECAST_CSV, filters={"fiscal_year": "FY2026"}
    )
    csv_job = export_job_run(job_id=csv_job.pk)

    assert response.status_code == 302 and response["Location"] == reverse("reports:index")
    assert (job.status, job.rows_written, job.file_name.startswith("forecast-report_all_")) == ("succeeded", 3, True)
    assert len(forecast_sheet_cells(export_file_path(job).read_bytes())) == 5  # header, 3 lines, totals
    assert csv_job.rows_written == 2
    assert parse_csv(export_file_path(csv_job).read_bytes())[1:] == [LOYALTY_FY2026, FORMULA_FY2026]


def test_the_reports_lines_add_up_to_the_summary_of_each_fiscal_year_and_marketing_plus_it_is_the_total(
    export_portfolio,
):
    """On the awkward portfolio (July fiscal years, odd shares, credits): the report's lines of each year sum
    to `split_summary`'s forecast of that year (what the dashboard and the API read), to the cent."""
    header, *lines = csv_lines()
    by_year: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        values = dict(zip(header, line, strict=True))
        assert D(values["forecast_marketing"]) + D(values["forecast_it"]) == D(values["forecast_total"])
        assert D(values["planned_total"]) - D(values["forecast_total"]) == D(values["variance_at_completion"])
        sums = by_year.setdefault(values["fiscal_year"], dict.fromkeys(("forecast_total", "forecast_marketing"), D(0)))
        for column in sums:
            sums[column] += D(values[column])

    years = split_summary("fiscal_year")

    assert by_year == {
        f"FY{year['fiscal_year']}": {
            "forecast_total": year["forecast_total"],
            "forecast_marketing": year["forecast_marketing"],
        }
        for year in years
    }
    assert len(lines) == len({(line[0], line[1]) for line in lines})  # one line per initiative and year
