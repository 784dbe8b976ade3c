"""On seeded data, the forecast report's roll-up totals equal the dashboard's year-end forecast to the cent."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from dashboard.figures import split_rollup
from dashboard.filters import DashboardFilters
from initiatives.choices import Lane
from reports.forecast import forecast_csv_chunks
from split.models import SplitRow
from split.selectors import SplitFilters, latest_successful_run
from split.services import split_recompute

pytestmark = pytest.mark.django_db
FORECAST = ("forecast_total", "forecast_marketing", "forecast_it")


def report_totals(params: dict) -> dict[str, Decimal]:
    lines = list(csv.DictReader(io.StringIO(b"".join(forecast_csv_chunks(SplitFilters.parse(params))).decode())))
    return {column: sum((Decimal(line[column]) for line in lines), Decimal("0.00")) for column in FORECAST}


@pytest.fixture
def seeded():
    call_command("seed_demo", initiatives=80, expenses=4000, months=18, seed=17, stdout=io.StringIO())
    return split_recompute(trigger="command")


def test_the_reports_totals_are_the_dashboards_year_end_forecast_on_seeded_data(seeded):
    run = latest_successful_run()
    fiscal_years = sorted(set(SplitRow.objects.values_list("fiscal_year", flat=True)))
    assert len(fiscal_years) >= 2  # 18 months span two fiscal years
    checked = 0
    for fiscal_year in fiscal_years:
        for lane in (None, *Lane.values):
            filters = DashboardFilters(fiscal_year=fiscal_year, lane=lane)
            params = {"fiscal_year": f"FY{fiscal_year}", **({"lane": lane} if lane else {})}
            from_history = split_rollup(filters, run=run).totals  # the dashboard's unfiltered path
            from_rows = split_rollup(filters).totals  # the path of a status or side filter

            in_report = report_totals(params)

            assert {column: from_history[column] for column in FORECAST} == in_report, (fiscal_year, lane)
            assert {column: from_rows[column] for column in FORECAST} == in_report, (fiscal_year, lane)
            assert in_report["forecast_marketing"] + in_report["forecast_it"] == in_report["forecast_total"]
            checked += in_report["forecast_total"] != 0
    assert checked >= 4  # real money in both years and both lanes, not zeros agreeing
