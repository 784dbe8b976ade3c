"""The dashboard's outcomes panel (issue 20): counts by side and lane, the off-track lists, spend per attained point,
the filters, its queries and cache, and — the acceptance test — its counts equal those of the outcomes report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from dashboard.figures import spend_ranking
from dashboard.filters import DashboardFilters
from dashboard.outcomes import OUTCOMES_VERSION_KEY, outcomes_changed, outcomes_panel
from initiatives.models import Initiative
from outcomes.models import OutcomeKpi
from outcomes.selectors import kpi_counts, outcome_day
from outcomes.services import measurement_record
from portfolio import fiscal
from split.models import SplitRow
from tests.factories import UserFactory
from tests.outcomes.board_helpers import build_outcomes_portfolio

pytestmark = pytest.mark.django_db

D = Decimal
URL = "/dashboard/"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def world(pm, executive_marketing, executive_it, today):
    it_pm = UserFactory(username="pm.it.outcomes", role="pm", side="it")
    sponsors = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    return build_outcomes_portfolio(today=today, marketing_pm=pm, it_pm=it_pm, sponsors=sponsors)


def panel(world, today, **filters):
    chosen = DashboardFilters(fiscal_year=world["year"], **filters)
    return outcomes_panel(chosen, today=today, overspent_ids=spend_ranking(chosen, today=today).overspent_ids)


def cells(counts) -> dict:
    return {key: (value["on_track"], value["off_track"], value["not_measured"]) for key, value in counts.items()}


# --- the counts ---------------------------------------------------------------------------------------


def test_kpis_are_counted_on_track_off_track_and_not_measured_by_side_and_by_lane(world, today):
    shown = panel(world, today)

    assert shown.day == today
    assert cells(shown.by_side) == {"marketing": (2, 1, 1), "it": (0, 2, 0)}
    assert cells(shown.by_lane) == {"fast_lane": (1, 2, 1), "core_stack": (1, 1, 0)}
    assert shown.total == {"on_track": 2, "off_track": 3, "not_measured": 1, "kpis": 6}


def test_a_kpi_whose_target_date_passed_unreached_is_off_track_and_one_that_reached_it_on_track(world, today):
    core = Initiative.objects.filter(pk=world["core"].pk).values("pk")

    counts = kpi_counts(core, today)

    assert counts.as_dict() == {
        ("it", "core_stack"): {"on_track": 0, "off_track": 1, "not_measured": 0},  # Uptime: 55 % at its date
        ("marketing", "core_stack"): {"on_track": 1, "off_track": 0, "not_measured": 0},  # Leads: reached
    }


def test_kpis_are_judged_today_whatever_the_period(today):
    """A KPI keeps its latest measurement only: a past period's last day is not judged with later values."""
    year = fiscal.fiscal_year(today)

    assert outcome_day(year, today=today) == today
    assert outcome_day(year - 1, today=today) == today
    assert outcome_day(year - 1, 1, today=today) == today


def test_a_kpi_is_on_track_up_to_its_stored_last_day_and_off_track_the_day_after(world, today):
    """80 % of the way at half time: on track until 80 % of the time has passed, then behind (the day a past
    period is judged on decides, compared with the stored on_track_until, never derived again)."""
    conversion = OutcomeKpi.objects.get(pk=world["kpis"]["conversion"].pk)
    ids = Initiative.objects.filter(pk=world["fast"].pk).values("pk")

    on_the_last_day = kpi_counts(ids, conversion.on_track_until)
    the_day_after = kpi_counts(ids, conversion.on_track_until + dt.timedelta(days=1))

    assert on_the_last_day.by_side()["marketing"]["on_track"] == 1
    assert the_day_after.by_side()["marketing"]["on_track"] == 0
    assert the_day_after.by_side()["marketing"]["off_track"] == 1


# --- the lists and spend per point --------------------------------------------------------------------


def test_off_track_initiatives_are_listed_over_or_within_budget_by_the_overspend_rule(world, today):
    shown = panel(world, today)

    assert [item.code for item in shown.over] == [world["over"].code]
    assert shown.over_count == 1
    assert shown.over[0].off_track == 1 and shown.over[0].mean_attainment == D("-20.00")
    # fast: 1 of 2 measured off track; core: 1 of 2 — the lower mean attainment first
    assert [item.code for item in shown.within] == [world["fast"].code, world["core"].code]
    assert shown.within_count == 2
    assert shown.within[0].link == f"/initiatives/{world['fast'].code}/"


def test_spend_per_attained_point_divides_the_lanes_spend_by_its_clamped_mean_attainment(world, today):
    shown = {lane.lane: lane for lane in panel(world, today).spend}

    # fast lane: fast (mean of 80 and 10 = 45 points, spent 1,234.56) and over (-20 points counts as 0, 9,000)
    assert shown["fast_lane"].initiatives == 2
    assert shown["fast_lane"].actual == D("10234.56")
    assert shown["fast_lane"].points == D("45.00")
    assert shown["fast_lane"].per_point == D("227.43")
    # core stack: uptime 55.56 and leads 120 → 87.78 points, spent 5,000
    core = OutcomeKpi.objects.filter(initiative=world["core"]).values_list("attainment_pct", flat=True)
    mean = (sum(core) / 2).quantize(D("0.01"))
    assert shown["core_stack"].points == mean
    assert shown["core_stack"].per_point == (D("5000.00") / mean).quantize(D("0.01"))


def test_no_kpis_no_lists_and_one_query(world, today, django_assert_num_queries):
    OutcomeKpi.objects.all().delete()
    chosen = DashboardFilters(fiscal_year=world["year"])
    overspent = spend_ranking(chosen, today=today).overspent_ids

    with django_assert_num_queries(1):
        shown = outcomes_panel(chosen, today=today, overspent_ids=overspent)

    assert shown.total["kpis"] == 0 and shown.over == shown.within == [] and shown.spend == []


# --- the filters ----------------------------------------------------------------------------------------


def test_the_dashboards_filters_narrow_the_panel(world, today):
    core_lane = panel(world, today, lane="core_stack")
    it_owned = panel(world, today, side="it")
    marketing_owned = panel(world, today, side="marketing")
    approved = panel(world, today, status="approved")

    assert core_lane.total["kpis"] == 2 and set(core_lane.by_lane["fast_lane"].values()) == {0}
    assert [lane.lane for lane in core_lane.spend] == ["core_stack"]
    assert it_owned.total == {"on_track": 1, "off_track": 1, "not_measured": 0, "kpis": 2}  # the IT PM's core
    assert marketing_owned.total["kpis"] == 4 and marketing_owned.over_count == 1
    assert approved.total["kpis"] == 0


def test_a_quarter_with_no_split_rows_shows_no_kpis(world, today):
    quarter = fiscal.fiscal_quarter(today)
    other = 1 if quarter != 1 else 2

    assert panel(world, today, quarter=quarter).total["kpis"] == 6
    assert panel(world, today, quarter=other).total["kpis"] == 0


def test_the_page_shows_the_panel_with_its_links_and_filters(client, finance, world):
    client.force_login(finance)
    response = client.get(URL, {"fiscal_year": world["year"], "lane": "fast_lane"})

    text = response.text
    assert response.status_code == 200
    assert 'id="outcomes"' in text and "Over budget and off track" in text and "On budget but off track" in text
    assert f'href="/initiatives/{world["over"].code}/"' in text
    assert f"/reports/outcomes.csv?fiscal_year=FY{world['year']}&amp;lane=fast_lane" in text
    assert response.context["outcomes"]["total"]["kpis"] == 4
    assert "mean attainment in points" in text  # the definition of spend per attained point


def test_executives_see_the_panel_and_the_report_link(client, executive_it, world):
    client.force_login(executive_it)
    text = client.get(URL, {"fiscal_year": world["year"]}).text

    assert 'id="outcomes-counts"' in text and 'id="outcomes-report-csv"' in text


# --- queries and the cache ----------------------------------------------------------------------------


def test_the_panel_costs_two_queries_whatever_the_number_of_kpis(world, today, django_assert_num_queries, pm):
    chosen = DashboardFilters(fiscal_year=world["year"])
    overspent = spend_ranking(chosen, today=today).overspent_ids
    with django_assert_num_queries(2):
        small = outcomes_panel(chosen, today=today, overspent_ids=overspent)
    more = [
        build_outcomes_portfolio(
            today=today,
            marketing_pm=pm,
            it_pm=world["core"].owner,
            sponsors={"marketing_sponsor": world["fast"].marketing_sponsor, "it_sponsor": world["fast"].it_sponsor},
        )
        for _ in range(2)
    ]
    overspent = spend_ranking(chosen, today=today).overspent_ids
    with django_assert_num_queries(2):
        large = outcomes_panel(chosen, today=today, overspent_ids=overspent)

    assert len(more) == 2
    assert large.total["kpis"] == 3 * small.total["kpis"]
    assert large.over_count == 3 and len(large.within) == 5 and large.within_count == 6


def test_the_panel_is_cached_and_read_again_when_a_measurement_is_recorded(
    client, finance, world, today, django_assert_num_queries, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    cache.clear()
    client.get(URL, {"fiscal_year": world["year"]})
    with django_assert_num_queries(5):  # session, user, roles, runs, profile: the panel comes from the cache
        cached = client.get(URL, {"fiscal_year": world["year"]})
    latency = world["kpis"]["latency"]
    with django_capture_on_commit_callbacks(execute=True):
        measurement_record(kpi=latency, by=latency.initiative.owner, measured_on=today, value=D("40"))
    with django_assert_num_queries(5 + 2):  # only the panel is read again (its two queries)
        after = client.get(URL, {"fiscal_year": world["year"]})

    assert cells(cached.context["outcomes"]["panel"].by_side)["it"] == (0, 2, 0)
    assert cells(after.context["outcomes"]["panel"].by_side)["it"] == (1, 1, 0)


def test_an_initiatives_edit_reads_the_live_figures_again_but_not_the_panel(client, finance, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from initiatives.services import initiative_update_health

    client.force_login(finance)
    cache.clear()
    client.get(URL, {"fiscal_year": world["year"]})
    fast = world["fast"]
    initiative_update_health(initiative=fast, by=fast.owner, health="amber", reason="Vendor late")
    with CaptureQueriesContext(connection) as captured:
        after = client.get(URL, {"fiscal_year": world["year"]})
    read = " ".join(query["sql"] for query in captured.captured_queries)
    assert "initiatives_initiative" in read  # the live figures (counts, at risk) are read again
    assert OutcomeKpi._meta.db_table not in read  # the panel follows the run and the KPIs, not initiative edits
    assert after.context["outcomes"]["panel"].total["kpis"] > 0


def test_outcomes_changed_renews_the_version_for_bulk_writes(world, today):
    cache.set(OUTCOMES_VERSION_KEY, "before", None)
    outcomes_changed()

    assert cache.get(OUTCOMES_VERSION_KEY) not in (None, "before")


def test_a_recompute_warms_the_panel_for_the_default_view(client, finance, world, django_assert_num_queries):
    from split.services import split_recompute

    client.force_login(finance)
    cache.clear()
    split_recompute(trigger="command")  # warms the default view, the outcomes panel included

    with django_assert_num_queries(5):
        response = client.get(URL)

    assert response.context["outcomes"]["total"]["kpis"] == 6


# --- the acceptance test: the dashboard's counts are the report's ------------------------------------------


def report_counts_from_csv(content: bytes) -> dict:
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    states = {"true": "on_track", "false": "off_track", "": "not_measured"}
    counted = Counter((row["owner_side"], row["lane"], states[row["on_track"]]) for row in rows)
    result: dict = {}
    for (side, lane, state), count in counted.items():
        result.setdefault((side, lane), {"on_track": 0, "off_track": 0, "not_measured": 0})[state] = count
    return result


def test_on_seeded_data_the_dashboards_outcome_counts_equal_those_of_the_outcomes_report(
    client, today, django_capture_on_commit_callbacks
):
    call_command("seed_demo", initiatives=60, expenses=2000, seed=20, stdout=io.StringIO(), stderr=io.StringIO())
    call_command("recompute_split", stdout=io.StringIO(), stderr=io.StringIO())
    # seed_demo's own KPIs and measurements, some on track and some not
    assert OutcomeKpi.objects.on_track(today).exists() and OutcomeKpi.objects.off_track(today).exists()
    client.force_login(get_user_model().objects.get(username="finance"))  # the demo's finance user
    years = sorted(set(SplitRow.objects.values_list("fiscal_year", flat=True)))

    compared = 0
    for year in years:
        response = client.get(URL, {"fiscal_year": year})
        assert response.status_code == 200, (response.status_code, response.get("Location"))
        dashboard = response.context["outcomes"]["panel"]
        report = b"".join(client.get("/reports/outcomes.csv", {"fiscal_year": f"FY{year}"}).streaming_content)
        from_report = report_counts_from_csv(report)

        assert dashboard.counts.as_dict() == from_report, year
        compared += sum(sum(cell.values()) for cell in from_report.values())
    current = client.get(URL, {"fiscal_year": fiscal.fiscal_year(today)}).context["outcomes"]["panel"]
    assert current.total["on_track"] and current.total["off_track"] and current.total["not_measured"]
    assert compared >= current.total["kpis"] > 0
