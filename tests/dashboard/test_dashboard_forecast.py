"""The dashboard's year-end forecast (per side and per lane) and "spent of plan" against the plan to date.

A hand-computed portfolio, as of November 2026 (the split's as-of month; today 20 November 2026):

fast lane, marketing 60 %, owned by a marketing PM, in progress
  month     plan      actual    forecast  (marketing / IT)
  2025-12   999.00     50.00    (FY2025: not in FY2026)
  2026-09   400.00      0.00       0.00   past: its actual, although 400.00 was planned
  2026-10  1000.00   1200.00    1200.00   past: its actual            720.00 / 480.00
  2026-11   500.00    100.00     500.00   current: max(plan, actual)  300.00 / 200.00
  2026-12   300.00      0.00     300.00   later: max(plan, actual)    180.00 / 120.00
  FY2026   2200.00   1300.00    2000.00                              1200.00 / 800.00

core stack, marketing 33.33 %, owned by an IT PM, approved
  2026-10     0.00     10.01      10.01   past            3.34 / 6.67  (10.01 × 0.3333 = 3.336…)
  2026-11    10.01      5.00      10.01   current         3.34 / 6.67
  2026-12    10.01      0.00      10.01   later           3.34 / 6.67
  FY2026     20.02     15.01      30.03                  10.02 / 20.01
  (rounded per row: 30.03 × 0.3333 = 10.009 would give 10.01 on the total — the rule rounds each row)

Whole FY2026: forecast 2030.03 = marketing 1210.02 + IT 820.01; plan 2220.02 (marketing 1326.68, IT
893.34); variance at completion (plan − forecast) 189.99, marketing 116.66, IT 73.33, fast lane 200.00,
core stack −10.01 (over). Plan to date (January – November): 400.00 + 1000.00 + 500.00 + 10.01 = 1910.01,
actual to date 1315.01: 68.8 % spent of plan to date (the whole year's plan would say 59.2 %).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from dashboard.figures import PlanToDate, split_rollup
from dashboard.filters import DashboardFilters
from dashboard.selectors import dashboard
from split.models import SplitHistory, SplitRow, SplitRun
from split.selectors import latest_successful_run
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/dashboard/"
FY = 2026
AS_OF_MONTH = dt.date(2026, 11, 1)
TODAY = dt.date(2026, 11, 20)
NBSP = "\u00a0"


@pytest.fixture
def as_of_november(monkeypatch):
    """The split is written as of November 2026, and the dashboard's today is 20 November 2026."""
    monkeypatch.setattr("split.rebuild.as_of_month_now", lambda: AS_OF_MONTH)
    real_localdate = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, timezone=None: real_localdate(value, timezone) if value else TODAY
    )


@pytest.fixture
def forecast_portfolio(as_of_november, pm, executive_marketing, executive_it):
    people = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    dates = {"start_date": dt.date(2025, 12, 1), "end_date": dt.date(2026, 12, 31)}
    fast = InitiativeFactory(
        lane="fast_lane", status="in_progress", marketing_share_pct=D("60.00"), owner=pm, **people, **dates
    )
    it_pm = UserFactory(username="pm.it.forecast", role="pm", side="it")
    core = InitiativeFactory(
        lane="core_stack", status="approved", marketing_share_pct=D("33.33"), owner=it_pm, **people, **dates
    )
    for initiative, month, plan, actual in (
        (fast, dt.date(2025, 12, 1), "999.00", "50.00"),
        (fast, dt.date(2026, 9, 1), "400.00", None),
        (fast, dt.date(2026, 10, 1), "1000.00", "1200.00"),
        (fast, dt.date(2026, 11, 1), "500.00", "100.00"),
        (fast, dt.date(2026, 12, 1), "300.00", None),
        (core, dt.date(2026, 10, 1), None, "10.01"),
        (core, dt.date(2026, 11, 1), "10.01", "5.00"),
        (core, dt.date(2026, 12, 1), "10.01", None),
    ):
        if plan:
            BudgetLineFactory(initiative=initiative, month=month, amount=D(plan))
        if actual:
            ExpenseFactory(initiative=initiative, incurred_on=month.replace(day=9), amount=D(actual))
    run = split_recompute(trigger="command")
    # The figures are as of the run: 20 November 2026 (its month is the forecast's and "to date"'s).
    SplitRun.objects.filter(pk=run.pk).update(finished_at=timezone.make_aware(dt.datetime(2026, 11, 20, 2, 5)))
    return {"fast": fast, "core": core}


def _forecast(amounts: dict) -> tuple[Decimal, Decimal, Decimal]:
    return amounts["forecast_total"], amounts["forecast_marketing"], amounts["forecast_it"]


def test_year_end_forecast_per_side_and_per_lane_is_the_hand_computed_one(forecast_portfolio):
    rollup = split_rollup(DashboardFilters(fiscal_year=FY), run=latest_successful_run())

    assert _forecast(rollup.totals) == (D("2030.03"), D("1210.02"), D("820.01"))
    assert _forecast(rollup.by_lane["fast_lane"]) == (D("2000.00"), D("1200.00"), D("800.00"))
    assert _forecast(rollup.by_lane["core_stack"]) == (D("30.03"), D("10.02"), D("20.01"))
    assert rollup.totals["planned_total"] == D("2220.02")
    assert (rollup.totals["planned_marketing"], rollup.totals["planned_it"]) == (D("1326.68"), D("893.34"))
    assert rollup.variance_at_completion == D("189.99")
    assert rollup.lane_variance_at_completion("core_stack") == D("-10.01")


def test_the_forecast_is_the_sum_of_the_split_rows_forecast_columns_whichever_path_reads_it(forecast_portfolio):
    """The compact history (read when no status or side filter applies) holds the same cents as the rows."""
    run = latest_successful_run()
    in_rows = SplitRow.objects.filter(fiscal_year=FY).aggregate(total=Sum("forecast_total"))["total"]
    in_history = SplitHistory.objects.filter(run=run, fiscal_year=FY).aggregate(total=Sum("forecast_total"))["total"]
    assert in_rows == in_history == D("2030.03")
    for filters in (
        DashboardFilters(fiscal_year=FY),
        DashboardFilters(fiscal_year=FY, lane="core_stack"),
        DashboardFilters(fiscal_year=FY, quarter=4),
    ):
        from_history = split_rollup(filters, run=run)
        from_rows = split_rollup(filters)
        assert (from_history.totals, from_history.by_lane, from_history.by_month) == (
            from_rows.totals,
            from_rows.by_lane,
            from_rows.by_month,
        )


@pytest.mark.parametrize(
    ("filters", "forecast", "planned"),
    [
        ({"lane": "core_stack"}, (D("30.03"), D("10.02"), D("20.01")), D("20.02")),
        ({"side": "it"}, (D("30.03"), D("10.02"), D("20.01")), D("20.02")),  # the IT PM owns the core one
        ({"side": "marketing"}, (D("2000.00"), D("1200.00"), D("800.00")), D("2200.00")),
        ({"status": "in_progress"}, (D("2000.00"), D("1200.00"), D("800.00")), D("2200.00")),
        ({"quarter": 3}, (D("0.00"), D("0.00"), D("0.00")), D("400.00")),  # September: past, nothing spent
        ({"quarter": 4}, (D("2030.03"), D("1210.02"), D("820.01")), D("1820.02")),
    ],
)
def test_the_filters_apply_to_the_forecast(forecast_portfolio, filters, forecast, planned):
    rollup = split_rollup(DashboardFilters(fiscal_year=FY, **filters), run=latest_successful_run())

    assert _forecast(rollup.totals) == forecast
    assert rollup.totals["planned_total"] == planned


def test_spent_of_plan_compares_actual_to_date_with_the_plan_to_date(forecast_portfolio, finance):
    data = dashboard(user=finance, filters=DashboardFilters(fiscal_year=FY), today=TODAY)

    assert data.plan_to_date == PlanToDate(
        months=[dt.date(2026, month, 1) for month in range(1, 12)], planned=D("1910.01"), actual=D("1315.01")
    )
    assert data.plan_to_date.variance == D("595.00")
    assert round(data.plan_to_date.spent_of_plan, 2) == D("68.85")
    # The third quarter is over: all of it is "to date"; a year that has not begun has no month to date.
    q3 = dashboard(user=finance, filters=DashboardFilters(fiscal_year=FY, quarter=3), today=TODAY).plan_to_date
    assert (q3.months, q3.planned, q3.actual, q3.spent_of_plan) == (
        [dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1)],
        D("400.00"),
        D("0.00"),
        D("0"),
    )
    future = dashboard(user=finance, filters=DashboardFilters(fiscal_year=FY + 1), today=TODAY).plan_to_date
    assert (future.months, future.planned, future.spent_of_plan) == ([], D("0.00"), None)


def test_the_page_shows_the_forecast_table_and_says_which_months_are_to_date(client, forecast_portfolio, finance):
    client.force_login(finance)

    text = client.get(URL, {"fiscal_year": FY}).text

    assert "Year-end forecast FY2026" in text
    assert f'Spent of plan to date</span><span id="spent-of-plan">68.8{NBSP}%' in text
    assert "To date = January – November 2026, through November 2026, the month of the figures" in text
    assert 'title="$1,315.01 spent of $1,910.01 planned to date"' in text
    # A headline: rounded, the exact variance (plan − actual) on hover.
    assert (
        'Variance to date · under plan</span><span class=""><span class="money-short" title="+$595.00">+$595</span>'
        in text
    )
    table = text[text.index('id="h-forecast"') : text.index('id="h-status"')]
    # Marketing's part, IT's part, fast lane, core stack, the total: plan, actual so far, forecast, plan − forecast.
    for figures in (
        ("$1,326.68", "$785.01", "$1,210.02", "$116.66"),
        ("$893.34", "$530.00", "$820.01", "$73.33"),
        ("$2,200.00", "$1,300.00", "$2,000.00", "$200.00"),
        ("$20.02", "$15.01", "$30.03", "10.01"),
        ("$2,220.02", "$1,315.01", "$2,030.03", "$189.99"),
    ):
        positions = [table.index(figure) for figure in figures]
        assert positions == sorted(positions), figures
    assert table.count("amount-negative") == 1  # the core stack runs 10.01 over its plan
    assert "/reports/forecast.csv?fiscal_year=FY2026" in table  # finance and executives download the report


def test_a_quarter_shows_the_forecast_for_the_quarter_and_a_future_year_no_month_to_date(
    client, forecast_portfolio, executive_it
):
    client.force_login(executive_it)

    quarter = client.get(URL, {"fiscal_year": FY, "quarter": "Q3"}).text
    assert "Forecast for FY2026 Q3" in quarter
    assert "To date = July – September 2026<" in quarter
    assert 'title="$0.00 spent of $400.00 planned to date"' in quarter


def test_the_forecast_adds_no_query_and_is_cached_with_the_run(
    client, forecast_portfolio, finance, django_assert_num_queries
):
    """Cold: session, user, roles, runs and trend, roll-up (forecast included), ranking, true-up states,
    counts, at risk, islands, platforms, profile — the same twelve as before the forecast. Warm: five."""
    client.force_login(finance)
    cache.clear()
    with django_assert_num_queries(13):
        cold = client.get(URL, {"fiscal_year": FY, "lane": "core_stack"})
    with django_assert_num_queries(5):
        warm = client.get(URL, {"fiscal_year": FY, "lane": "core_stack"})

    assert cold.text.count("$30.03") == warm.text.count("$30.03") >= 2
