"""seed_demo's year of recompute history: a point a month for the share trend, never the current table."""

from __future__ import annotations

import datetime as dt
import io
import random

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from dashboard.filters import DashboardFilters
from dashboard.freshness import freshness_and_trend
from demo.split_history import demo_split_history_seed, past_run_months
from portfolio.fiscal import add_months, fiscal_year, month_start
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.models import SplitHistory, SplitRun
from split.selectors import latest_successful_run
from split.services import split_recompute

pytestmark = pytest.mark.django_db
SMALL = {"initiatives": 40, "expenses": 600, "months": 14, "seed": 11}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **SMALL)
    return out.getvalue()


def test_the_seed_records_a_past_run_for_each_of_the_twelve_months_before_this_one(client, db):
    printed = seed()

    runs = list(SplitRun.objects.order_by("finished_at"))
    current = month_start(timezone.localdate())
    assert [month_start(timezone.localtime(run.finished_at).date()) for run in runs] == [
        add_months(current, offset) for offset in range(-12, 0)
    ]
    assert {(run.status, run.trigger) for run in runs} == {(RunStatus.SUCCEEDED, HISTORY_ONLY_TRIGGER)}
    assert all(run.queued_at <= run.started_at < run.finished_at < timezone.now() for run in runs)
    assert "past recomputes" in printed and "12" in printed
    # Compact: lanes × months per run; each run knows the actuals of the months up to its own only.
    assert SplitHistory.objects.count() <= 12 * 2 * SMALL["months"]
    for run in runs:
        run_month = month_start(timezone.localtime(run.finished_at).date())
        later = SplitHistory.objects.filter(run=run, month__gt=run_month)
        assert later.aggregate(total=Sum("actual_total"))["total"] in (None, 0)
        for row in SplitHistory.objects.filter(run=run):
            assert row.actual_marketing + row.actual_it == row.actual_total
            assert row.planned_marketing + row.planned_it == row.planned_total
            assert row.forecast_marketing + row.forecast_it == row.forecast_total
            assert row.fiscal_year == fiscal_year(row.month)
    # Seeded runs are no split table: the dashboard says it has never been computed.
    assert latest_successful_run() is None
    filters = DashboardFilters(fiscal_year=fiscal_year(timezone.localdate()))
    freshness, trend = freshness_and_trend(filters)
    assert freshness.never_run and len(trend) >= 1
    client.force_login(User.objects.get(username="finance"))
    assert "The spend split has never been computed." in client.get("/dashboard/").text

    # The recompute `make run` does after seeding is the current table, and the trend's last point.
    real = split_recompute(trigger="command")
    freshness, trend = freshness_and_trend(filters)
    assert freshness.latest.pk == real.pk and trend[-1].run_id == str(real.pk)
    assert len({point.month for point in trend}) == len(trend)
    seeded_total = SplitHistory.objects.filter(run=runs[-1], month__lte=add_months(current, -1)).aggregate(
        total=Sum("actual_total")
    )["total"]
    real_total = SplitHistory.objects.filter(run=real, month__lte=add_months(current, -1)).aggregate(
        total=Sum("actual_total")
    )["total"]
    assert seeded_total == real_total  # last month's run saw the same actuals up to its month


def test_a_month_that_has_a_succeeded_run_gets_no_seeded_one(db):
    last_month = add_months(month_start(timezone.localdate()), -1)
    finished = timezone.make_aware(dt.datetime.combine(last_month.replace(day=15), dt.time(2)))
    SplitRun.objects.create(status=RunStatus.SUCCEEDED, trigger="schedule", started_at=finished, finished_at=finished)

    months = past_run_months(now=timezone.now())

    assert last_month not in months and len(months) == 11
    assert demo_split_history_seed(random.Random(1), now=timezone.now()) == 0  # nothing to read: no records
