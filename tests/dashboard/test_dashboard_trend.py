"""The share trend by fiscal month: one point per month, the last successful run of that month (issue 18)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard.filters import DashboardFilters
from dashboard.freshness import TREND_MONTHS, freshness_and_trend, share_trend
from dashboard.views import trend_point_title
from portfolio.fiscal import add_months, month_start
from split.arithmetic import SPLIT_AMOUNT_COLUMNS
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.models import SplitHistory, SplitRun
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal
FY = 2026


def run_with_history(finished_at: dt.datetime, marketing: str, total: str, *, trigger: str = "schedule") -> SplitRun:
    """A succeeded run whose compact history holds one FY2026 lane-month with these actuals."""
    run = SplitRun.objects.create(
        status=RunStatus.SUCCEEDED, trigger=trigger, started_at=finished_at, finished_at=finished_at, row_count=1
    )
    amounts = dict.fromkeys(SPLIT_AMOUNT_COLUMNS, D("0.00"))
    amounts.update(actual_marketing=D(marketing), actual_total=D(total), actual_it=D(total) - D(marketing))
    SplitHistory.objects.create(run=run, lane="fast_lane", month=dt.date(FY, 3, 1), fiscal_year=FY, **amounts)
    return run


def months_ago(count: int, day: int, hour: int) -> dt.datetime:
    month = add_months(month_start(timezone.localdate()), -count)
    return timezone.make_aware(dt.datetime.combine(month.replace(day=day), dt.time(hour)))


def test_four_runs_on_one_day_give_one_point_the_last_one(pm):
    initiative = InitiativeFactory(owner=pm, status="in_progress", marketing_share_pct=D("50.00"))
    BudgetLineFactory(initiative=initiative, month=dt.date(FY, 3, 1), amount=D("100.00"))
    for amount in ("10.00", "20.00", "30.00", "40.00"):
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(FY, 3, 9), amount=D(amount))
        split_recompute(trigger="command")

    [point] = share_trend(DashboardFilters(fiscal_year=FY))

    assert SplitRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 4
    assert point.actual_total == D("100.00")  # the last run's: 10 + 20 + 30 + 40
    assert point.month == month_start(timezone.localdate())


def test_runs_in_three_months_give_three_points_each_the_last_run_of_its_month(db):
    # Two runs in each of three months (the earlier one of each month must not show), one a year ago.
    run_with_history(months_ago(13, 5, 2), "1.00", "2.00")  # outside the trend's 13 months
    expected = []
    for ago in (2, 1, 0):
        last = f"{20 + ago}.00"  # a different figure each month
        run_with_history(months_ago(ago, 1, 2), "10.00", "100.00")
        run_with_history(months_ago(ago, 1, 3), last, "100.00")
        expected.append((add_months(month_start(timezone.localdate()), -ago), D(last)))

    freshness, trend = freshness_and_trend(DashboardFilters(fiscal_year=FY), months=TREND_MONTHS)

    assert [(point.month, point.actual_marketing) for point in trend] == expected
    assert [point.actual_total for point in trend] == [D("100.00")] * 3
    assert freshness.as_of == months_ago(0, 1, 3)
    title = trend_point_title(trend[-1])
    assert title.startswith(f"{trend[-1].month:%B %Y} · FY") and "last recompute of the month" in title


def test_history_only_runs_are_points_of_the_trend_never_the_current_table(db):
    seeded = run_with_history(months_ago(1, 20, 2), "30.00", "100.00", trigger=HISTORY_ONLY_TRIGGER)

    freshness, trend = freshness_and_trend(DashboardFilters(fiscal_year=FY))

    assert freshness.never_run and freshness.latest is None and freshness.as_of is None
    assert [point.run_id for point in trend] == [str(seeded.pk)]
    # The first real run becomes the current table, whatever the seeded runs' dates.
    real = run_with_history(months_ago(2, 3, 2), "50.00", "100.00")
    freshness, trend = freshness_and_trend(DashboardFilters(fiscal_year=FY))
    assert freshness.latest == real and [point.run_id for point in trend] == [str(real.pk), str(seeded.pk)]


def test_the_trend_card_is_labelled_by_month(client, finance, pm):
    initiative = InitiativeFactory(owner=pm, status="in_progress")
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(FY, 3, 9), amount=D("10.00"))
    split_recompute(trigger="command")
    run_with_history(months_ago(1, 20, 2), "3.00", "10.00", trigger=HISTORY_ONLY_TRIGGER)
    client.force_login(finance)

    response = client.get("/dashboard/", {"fiscal_year": FY})

    labels = [point["label"] for point in response.context["charts"]["trend"]]
    current = month_start(timezone.localdate())
    assert labels == [f"{add_months(current, -1):%b %Y}", f"{current:%b %Y}"]
    assert "Marketing's share by month" in response.text and "2 months" in response.text
    assert "One point per month: the last recompute that month" in response.text
