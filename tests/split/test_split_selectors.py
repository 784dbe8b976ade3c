"""Reads of the split for the dashboard, exports and API: filters, roll-ups, the as-of run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from split.models import SplitRun
from split.selectors import (
    SplitFilterError,
    SplitFilters,
    latest_successful_run,
    split_rows,
    split_summary,
)
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def portfolio(settings):
    """Two lanes, two statuses, months across a July fiscal-year boundary."""
    settings.FISCAL_YEAR_START_MONTH = 7
    fast = InitiativeFactory(lane="fast_lane", status="in_progress", marketing_share_pct=D("60.00"))
    core = InitiativeFactory(lane="core_stack", status="approved", marketing_share_pct=D("25.00"))
    for month in (dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1)):
        BudgetLineFactory(initiative=fast, month=month, amount=D("100.00"))
        BudgetLineFactory(initiative=core, month=month, amount=D("33.33"))
    ExpenseFactory(initiative=fast, incurred_on=dt.date(2026, 7, 9), amount=D("50.01"), paid_by="marketing")
    ExpenseFactory(initiative=core, incurred_on=dt.date(2026, 10, 9), amount=D("0.03"), paid_by="it")
    split_recompute(trigger="command")
    return {"fast": fast, "core": core}


def codes_and_months(rows):
    return [(r.initiative_code, r.month.isoformat()) for r in rows]


def test_rows_come_in_export_order_and_filter_by_fiscal_year_and_quarter(portfolio):
    fast, core = portfolio["fast"], portfolio["core"]

    everything = split_rows()
    fy2027_q2 = split_rows({"fiscal_year": "FY2027", "quarter": "Q2"})

    assert [(r.fiscal_year, r.month) for r in everything] == sorted((r.fiscal_year, r.month) for r in everything)
    assert len(everything) == 6
    assert codes_and_months(fy2027_q2) == sorted([(fast.code, "2026-10-01"), (core.code, "2026-10-01")])
    assert len(split_rows({"fiscal_year": "2026"})) == 2  # June 2026 closes FY2026


def test_rows_filter_by_lane_status_and_initiative(portfolio):
    fast, core = portfolio["fast"], portfolio["core"]

    assert {r.initiative_code for r in split_rows({"lane": "core_stack"})} == {core.code}
    assert {r.initiative_code for r in split_rows({"status": "in_progress"})} == {fast.code}
    assert {r.initiative_code for r in split_rows({"initiative": fast.code.lower()})} == {fast.code}
    assert list(split_rows({"lane": "", "status": None})) == list(split_rows())  # blanks are no filter


def test_lane_and_status_filters_take_the_value_or_the_label_in_any_case(portfolio):
    fast, core = portfolio["fast"], portfolio["core"]

    assert {r.initiative_code for r in split_rows({"lane": "Core stack"})} == {core.code}
    assert {r.initiative_code for r in split_rows({"lane": "FAST_LANE"})} == {fast.code}
    assert {r.initiative_code for r in split_rows({"status": "In progress"})} == {fast.code}


def test_an_initiative_filter_holding_a_nul_is_refused_not_sent_to_the_database():
    with pytest.raises(SplitFilterError) as refused:
        SplitFilters.parse({"initiative": "INI-\x000001"})
    assert "NUL" in refused.value.errors["initiative"]


def test_bad_filters_are_refused_with_a_message_per_field():
    with pytest.raises(SplitFilterError) as refused:
        SplitFilters.parse({"fiscal_year": "last year", "quarter": "Q5", "lane": "slow", "status": "maybe"})
    assert set(refused.value.errors) == {"fiscal_year", "quarter", "lane", "status"}
    assert "FY2027" in refused.value.errors["fiscal_year"]


def test_summary_by_lane_sums_its_rows(portfolio):
    by_lane = {r["lane"]: r for r in split_summary("lane")}

    core = by_lane["core_stack"]
    assert core["rows"] == 3
    assert core["planned_total"] == D("99.99")
    assert core["planned_marketing"] == 3 * D("8.33")  # round_half_up(33.33 × 25 %) = round(8.3325) per row
    assert core["planned_marketing"] + core["planned_it"] == core["planned_total"]
    assert core["actual_total"] == D("0.03") and core["actual_marketing"] == D("0.01")
    # 50.01 × 60 % = 30.006 → 30.01 for marketing: 30.01 / 50.01 of joint spend
    assert by_lane["fast_lane"]["marketing_share_of_actual"] == D("60.01")


def test_summary_of_the_whole_portfolio_and_by_fiscal_quarter(portfolio):
    [total] = split_summary()
    quarters = split_summary("quarter", {"fiscal_year": 2027})

    assert total["rows"] == 6
    assert total["planned_total"] == D("399.99")
    assert total["actual_total"] == D("50.04")
    assert [(q["fiscal_year"], q["fiscal_quarter"]) for q in quarters] == [(2027, 1), (2027, 2)]
    assert sum(q["planned_total"] for q in quarters) == D("266.66")


def test_summary_of_nothing_is_zero():
    [total] = split_summary(None, {"lane": "fast_lane"})
    assert (total["rows"], total["actual_total"], total["marketing_share_of_actual"]) == (0, 0, None)


def test_summary_refuses_unknown_groups():
    with pytest.raises(ValueError, match="cannot group the split by colour"):
        split_summary("colour")


def test_latest_successful_run_is_the_as_of_of_the_figures(portfolio):
    succeeded = latest_successful_run()
    SplitRun.objects.create(status="failed", trigger="ui", error="boom")
    SplitRun.objects.create(status="running", trigger="ui")

    assert latest_successful_run() == succeeded
    assert succeeded.status == "succeeded" and succeeded.row_count == 6
