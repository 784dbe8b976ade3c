"""The joint executive dashboard: who sees it, its figures tie out to the split export, its lists, freshness."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.urls import reverse
from django.utils import timezone

from dashboard.figures import (
    ROLLUP_COLUMNS,
    at_risk_initiatives,
    initiative_counts,
    largest_variances,
    overspent_ranking,
    overspent_ytd,
    pending_approvals,
    split_rollup,
)
from dashboard.filters import DashboardFilters
from dashboard.freshness import dashboard_freshness, share_trend
from dashboard.platforms import digital_islands, platform_map
from initiatives.models import Profile
from split.arithmetic import SPLIT_AMOUNT_COLUMNS
from split.choices import RunStatus
from split.models import SplitHistory, SplitRow, SplitRun
from split.overspend import overspending_initiatives
from split.selectors import latest_successful_run, split_rows
from split.services import split_recompute
from tests.conftest import assert_assets_served_here
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/dashboard/"
FY = 2026
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def it_pm(db):
    return UserFactory(username="pm.it.owner", role="pm", side="it")


@pytest.fixture
def portfolio(pm, it_pm, executive_marketing, executive_it):
    """Two lanes, owners of both sides, odd cents, payers on both sides, a month outside FY2026."""
    people = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    fast = InitiativeFactory(
        lane="fast_lane", status="in_progress", marketing_share_pct=D("62.50"), owner=pm, health="green", **people
    )
    core = InitiativeFactory(
        lane="core_stack", status="approved", marketing_share_pct=D("33.33"), owner=it_pm, health="red", **people
    )
    other_marketing_pm = UserFactory(username="pm.marketing.two", role="pm", side="marketing")
    island = InitiativeFactory(
        lane="fast_lane", status="in_progress", marketing_share_pct=D("100.00"), owner=other_marketing_pm, **people
    )
    for month in (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 4, 1), dt.date(2025, 12, 1)):
        BudgetLineFactory(initiative=fast, month=month, amount=D("1000.01"))
        BudgetLineFactory(initiative=core, month=month, amount=D("333.33"))
    ExpenseFactory(initiative=fast, incurred_on=dt.date(2026, 1, 9), amount=D("1500.05"), paid_by="marketing")
    ExpenseFactory(initiative=fast, incurred_on=dt.date(2026, 2, 9), amount=D("-20.03"), paid_by="it")
    ExpenseFactory(initiative=core, incurred_on=dt.date(2026, 4, 9), amount=D("99.99"), paid_by="it")
    ExpenseFactory(initiative=core, incurred_on=dt.date(2025, 12, 9), amount=D("5000.00"), paid_by="it")
    ExpenseFactory(initiative=island, incurred_on=dt.date(2026, 2, 3), amount=D("777.77"), paid_by="marketing")
    split_recompute(trigger="command")
    return {"fast": fast, "core": core, "island": island}


def page(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def chart_data(response) -> dict:
    match = re.search(r'<script id="dashboard-charts" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the chart data is passed with json_script"
    return json.loads(match.group(1))


# --- who may see it ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("pm", 403), ("executive_marketing", 200), ("executive_it", 200), ("finance", 200), ("admin", 200)],
)
def test_executives_finance_and_admins_see_the_dashboard_pms_get_403(client, request, who, status):
    user = UserFactory(username="boss", role="admin", side="") if who == "admin" else request.getfixturevalue(who)

    assert page(client, user).status_code == status


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_navigation_and_home_page_link_to_the_dashboard_only_for_those_allowed(client, pm, finance):
    client.force_login(finance)
    assert 'href="/dashboard/"' in client.get("/").text
    client.force_login(pm)
    assert 'href="/dashboard/"' not in client.get("/").text


# --- the figures tie out to the export ---------------------------------------------------


def _csv_sums(client, **params) -> dict[str, Decimal]:
    response = client.get("/reports/split.csv", params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    sums = dict.fromkeys(SPLIT_AMOUNT_COLUMNS, D("0.00"))
    for row in csv.DictReader(io.StringIO(text)):
        for column in SPLIT_AMOUNT_COLUMNS:
            sums[column] += D(row[column])
    return sums


@pytest.mark.parametrize("lane", [None, "fast_lane", "core_stack"])
def test_totals_equal_the_sums_of_the_split_csv_export_to_the_cent(client, finance, portfolio, lane):
    client.force_login(finance)
    params = {"fiscal_year": f"FY{FY}", **({"lane": lane} if lane else {})}

    exported = _csv_sums(client, **params)
    shown = split_rollup(DashboardFilters(fiscal_year=FY, lane=lane)).totals
    from_history = split_rollup(DashboardFilters(fiscal_year=FY, lane=lane), run=latest_successful_run()).totals
    in_python = dict.fromkeys(ROLLUP_COLUMNS, D("0.00"))
    for row in split_rows({"fiscal_year": FY, "lane": lane}):
        for column in ROLLUP_COLUMNS:
            in_python[column] += getattr(row, column)

    assert shown == from_history == in_python  # the ten amounts and the three forecast columns
    assert {column: shown[column] for column in SPLIT_AMOUNT_COLUMNS} == exported
    assert shown["actual_total"] != 0  # the fixture spends in every lane of FY2026


def test_the_page_shows_the_same_figures_as_the_export_formatted(client, finance, portfolio):
    client.force_login(finance)
    exported = _csv_sums(client, fiscal_year=f"FY{FY}")

    text = page(client, finance, fiscal_year=FY).text

    # $2,357.78 actual of $4,000.02 planned; IT owes marketing: the share is below what marketing paid.
    assert f"${exported['actual_total']:,.2f}" in text
    assert f"${exported['planned_total']:,.2f}" in text
    assert exported["true_up"] < 0
    assert "IT owes marketing" in text
    assert f"${-exported['true_up']:,.2f}" in text


def test_marketing_share_is_actual_marketing_over_actual_total_of_the_rollup(portfolio):
    rollup = split_rollup(DashboardFilters(fiscal_year=FY))
    totals = rollup.totals

    assert totals["actual_marketing"] + totals["actual_it"] == totals["actual_total"]
    expected = (totals["actual_marketing"] * 100 / totals["actual_total"]).quantize(D("0.01"))
    assert rollup.marketing_share == expected
    assert rollup.lane_share("fast_lane") + rollup.lane_share("core_stack") == 100


def test_months_lanes_and_totals_agree_and_quarters_narrow_the_months(portfolio):
    year = split_rollup(DashboardFilters(fiscal_year=FY))
    q1 = split_rollup(DashboardFilters(fiscal_year=FY, quarter=1))

    assert [month for month, _ in year.by_month] == [dt.date(2026, m, 1) for m in range(1, 13)]
    assert sum(amounts["planned_total"] for _, amounts in year.by_month) == year.totals["planned_total"]
    assert sum(lane["actual_total"] for lane in year.by_lane.values()) == year.totals["actual_total"]
    assert [month for month, _ in q1.by_month] == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert q1.totals["planned_total"] == D("2666.68")  # April's plan is Q2
    # The compact history of the latest run gives the very same roll-up.
    for filters in (DashboardFilters(fiscal_year=FY), DashboardFilters(fiscal_year=FY, quarter=2, lane="core_stack")):
        from_history = split_rollup(filters, run=latest_successful_run())
        from_rows = split_rollup(filters)
        assert (from_history.totals, from_history.by_month, from_history.by_lane) == (
            from_rows.totals,
            from_rows.by_month,
            from_rows.by_lane,
        )


def test_side_means_the_owners_side(portfolio):
    marketing = split_rollup(DashboardFilters(fiscal_year=FY, side="marketing"))
    it = split_rollup(DashboardFilters(fiscal_year=FY, side="it"))
    both = split_rollup(DashboardFilters(fiscal_year=FY))

    assert it.totals["actual_total"] == D("99.99")  # only the IT-owned core-stack initiative
    assert marketing.totals["actual_total"] + it.totals["actual_total"] == both.totals["actual_total"]
    # Both sides' shares of the initiatives still show.
    assert it.totals["actual_marketing"] == D("33.33") and it.totals["actual_it"] == D("66.66")


def test_every_figure_is_a_sum_of_the_split_columns_never_derived_from_other_columns(portfolio):
    """Only split.arithmetic and its SQL twin derive IT's parts, true-up and variance from totals and
    shares: the dashboard sums each column as stored, from the rows and from the run's history alike."""
    run = latest_successful_run()
    # Values no identity between the columns gives: a roll-up that derived them could not show them.
    stored = {"planned_it": D("1.11"), "actual_it": D("2.22"), "paid_it": D("3.33"), "true_up": D("4.44")}
    stored["variance"] = D("5.55")
    SplitRow.objects.update(**stored)
    SplitHistory.objects.filter(run=run).update(**stored)
    rows = SplitRow.objects.filter(fiscal_year=FY).count()
    history_rows = SplitHistory.objects.filter(run=run, fiscal_year=FY).count()

    from_rows = split_rollup(DashboardFilters(fiscal_year=FY)).totals
    from_history = split_rollup(DashboardFilters(fiscal_year=FY), run=run).totals
    variances = largest_variances(DashboardFilters(fiscal_year=FY))

    assert {column: from_rows[column] for column in stored} == {name: rows * value for name, value in stored.items()}
    assert {column: from_history[column] for column in stored} == {
        name: history_rows * value for name, value in stored.items()
    }
    for row in variances:
        months = SplitRow.objects.filter(fiscal_year=FY, initiative_code=row["code"]).count()
        assert row["variance"] == months * D("5.55")


# --- query count and freshness --------------------------------------------------------------


def _more_initiatives(count: int, owner, executive_marketing, executive_it) -> None:
    for number in range(count):
        initiative = InitiativeFactory(
            owner=owner,
            marketing_sponsor=executive_marketing,
            it_sponsor=executive_it,
            lane="fast_lane" if number % 2 else "core_stack",
            status="submitted" if number % 3 == 0 else "in_progress",
            health="red" if number % 4 == 0 else "green",
        )
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 3, 1), amount=D("10.00"))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 3), amount=D("50.00"))


@pytest.mark.parametrize(("who", "approvals"), [("executive_marketing", 3), ("finance", 0)])
def test_the_page_runs_a_fixed_number_of_queries_whatever_the_data_size(
    client, request, django_assert_num_queries, portfolio, pm, executive_marketing, executive_it, who, approvals
):
    """Cold (nothing cached for the run): session, user, roles, runs and trend, roll-up, ranking, the
    true-up's states, counts, at risk, islands, platforms, the outcomes panel's KPI count (no KPI here), profile;
    for an executive also their approvals
    and the navigation's two counts of what waits for them. Cached: only the runs (freshness) and what is
    about the viewer."""
    client.force_login(request.getfixturevalue(who))
    cache.clear()
    with django_assert_num_queries(13 + approvals):
        small = client.get(URL, {"fiscal_year": FY})
    with django_assert_num_queries(5 + approvals):  # session, user, roles, runs and trend, profile
        client.get(URL, {"fiscal_year": FY})
    _more_initiatives(40, pm, executive_marketing, executive_it)
    split_recompute(trigger="command")

    cache.clear()
    with django_assert_num_queries(13 + approvals):
        large = client.get(URL, {"fiscal_year": FY, "side": "marketing", "lane": "fast_lane", "quarter": "1"})

    assert small.status_code == large.status_code == 200


def test_the_page_reads_the_latest_split_and_never_recomputes(client, finance, portfolio):
    runs, rows = SplitRun.objects.count(), SplitRow.objects.count()

    response = page(client, finance, fiscal_year=FY)

    assert SplitRun.objects.count() == runs and SplitRow.objects.count() == rows
    assert "Figures as of" in response.text
    latest = latest_successful_run()
    assert dashboard_freshness().latest == latest
    assert timezone.localtime(latest.finished_at).strftime("%H:%M") in response.text


def test_never_run_shows_a_warning_with_a_recompute_button_for_finance(client, finance, executive_it):
    finance_page = page(client, finance).text
    executive_page = page(client, executive_it).text

    assert "The spend split has never been computed" in finance_page
    assert 'action="/split/runs/recompute/"' in finance_page
    assert "The spend split has never been computed" in executive_page
    assert 'action="/split/runs/recompute/"' not in executive_page
    assert "Finance can start a recompute" in executive_page


def test_a_failed_last_run_is_flagged_and_the_previous_figures_stay(client, executive_it, portfolio):
    SplitRun.objects.create(status=RunStatus.FAILED, trigger="schedule", finished_at=timezone.now(), error="boom")

    text = page(client, executive_it, fiscal_year=FY).text

    assert "The last recompute failed" in text
    assert dashboard_freshness().latest == latest_successful_run()


def test_a_split_older_than_36_hours_is_flagged(client, executive_it, portfolio):
    SplitRun.objects.filter(status=RunStatus.SUCCEEDED).update(finished_at=timezone.now() - dt.timedelta(hours=37))

    assert "more than 36 hours old" in page(client, executive_it, fiscal_year=FY).text
    SplitRun.objects.filter(status=RunStatus.SUCCEEDED).update(finished_at=timezone.now() - dt.timedelta(hours=35))
    assert "more than 36 hours old" not in page(client, executive_it, fiscal_year=FY).text


def test_an_older_failure_than_the_latest_success_is_not_flagged(portfolio):
    SplitRun.objects.create(
        status=RunStatus.FAILED, trigger="schedule", finished_at=timezone.now() - dt.timedelta(days=3)
    )

    freshness = dashboard_freshness()

    assert not freshness.failed and not freshness.needs_warning


# --- lists that lead to action ------------------------------------------------------------------


def test_at_risk_means_red_health_or_ytd_overspend_above_the_alert_threshold(settings, portfolio, finance):
    settings.OVERSPEND_ALERT_PCT = 10
    fast, core = portfolio["fast"], portfolio["core"]
    filters = DashboardFilters(fiscal_year=FY)
    # fast: 3,000.03 planned and 1,480.02 spent by November: within plan, green. core: red, within plan.
    within = InitiativeFactory(lane="fast_lane", status="in_progress", health="amber")
    BudgetLineFactory(initiative=within, month=dt.date(2026, 5, 1), amount=D("1000.00"))
    ExpenseFactory(initiative=within, incurred_on=dt.date(2026, 5, 2), amount=D("1100.00"))  # +10 %: not above
    over = InitiativeFactory(lane="fast_lane", status="in_progress", health="green")
    BudgetLineFactory(initiative=over, month=dt.date(2026, 5, 1), amount=D("1000.00"))
    ExpenseFactory(initiative=over, incurred_on=dt.date(2026, 5, 2), amount=D("1100.01"))  # above 10 %
    split_recompute(trigger="command")

    listed = at_risk_initiatives(filters, user=finance, today=TODAY)
    counts = initiative_counts(filters, user=finance, today=TODAY)

    assert [i.code for i in listed] == [portfolio["island"].code, over.code, core.code]
    assert {i.code: i.overspent for i in listed} == {portfolio["island"].code: True, over.code: True, core.code: False}
    assert fast.code not in [i.code for i in listed] and within.code not in [i.code for i in listed]
    assert listed[1].variance == D("-100.01") and listed[1].variance_pct.quantize(D("0.01")) == D("-10.00")
    assert (counts.red, counts.overspent, counts.at_risk) == (1, 2, 3)
    # The same rule as the nightly overspend alerts.
    alerted = {o.initiative_id for o in overspending_initiatives(today=TODAY, threshold_pct=10)}
    assert alerted == set(overspent_ytd(filters, today=TODAY).values_list("initiative_id", flat=True))
    assert overspent_ranking(filters, today=TODAY) == [portfolio["island"].pk, over.pk]  # furthest over first


def test_at_risk_leaves_out_cancelled_and_rejected_initiatives_in_the_count_and_the_list_alike(
    client, settings, portfolio, finance
):
    settings.OVERSPEND_ALERT_PCT = 10
    filters = DashboardFilters(fiscal_year=FY)
    rejected_red = InitiativeFactory(lane="core_stack", status="rejected", health="red")
    cancelled_over = InitiativeFactory(lane="fast_lane", status="cancelled", health="green")
    BudgetLineFactory(initiative=cancelled_over, month=dt.date(2026, 5, 1), amount=D("1000.00"))
    ExpenseFactory(initiative=cancelled_over, incurred_on=dt.date(2026, 5, 2), amount=D("5000.00"))
    done_red = InitiativeFactory(lane="core_stack", status="done", health="red")  # done can still be acted on
    split_recompute(trigger="command")

    listed = at_risk_initiatives(filters, user=finance, today=TODAY)
    counts = initiative_counts(filters, user=finance, today=TODAY)

    codes = [i.code for i in listed]
    assert rejected_red.code not in codes and cancelled_over.code not in codes
    assert codes == [portfolio["island"].code, portfolio["core"].code, done_red.code]
    assert counts.at_risk == len(listed) == 3
    assert (counts.red, counts.overspent) == (2, 1)  # the reasons, counted among those at risk
    text = page(client, finance, fiscal_year=FY).text
    assert rejected_red.code not in text[text.index('id="at-risk"') :]


def test_a_future_fiscal_year_has_no_overspend_yet(portfolio, finance):
    filters = DashboardFilters(fiscal_year=FY)

    assert not overspent_ytd(filters, today=dt.date(2025, 6, 1)).exists()


def test_digital_islands_are_fast_lane_mostly_marketing_funded_and_on_no_core_platform(
    portfolio, finance, pm, executive_marketing, executive_it
):
    people = {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    on_platform = InitiativeFactory(lane="fast_lane", marketing_share_pct=D("100.00"), status="approved", **people)
    on_platform.platforms.add(portfolio["core"])
    on_fast_only = InitiativeFactory(lane="fast_lane", marketing_share_pct=D("100.00"), status="approved", **people)
    on_fast_only.platforms.add(portfolio["fast"])
    InitiativeFactory(lane="fast_lane", marketing_share_pct=D("79.99"), status="approved", **people)  # below 80 %
    InitiativeFactory(lane="fast_lane", marketing_share_pct=D("100.00"), status="cancelled", **people)
    InitiativeFactory(lane="core_stack", marketing_share_pct=D("100.00"), status="approved", **people)
    filters = DashboardFilters(fiscal_year=FY)

    islands = digital_islands(filters, user=finance)

    assert [i.code for i in islands] == [portfolio["island"].code, on_fast_only.code]
    assert islands[0].period_actual == D("777.77")
    assert initiative_counts(filters, user=finance, today=TODAY).islands == 2


def test_the_platform_map_ranks_core_platforms_by_their_fast_lane_dependents(finance):
    erp = InitiativeFactory(lane="core_stack", title="ERP", status="in_progress")
    crm = InitiativeFactory(lane="core_stack", title="CRM", status="approved")
    InitiativeFactory(lane="core_stack", title="Unused", status="approved")
    for _ in range(3):
        InitiativeFactory(lane="fast_lane", status="approved").platforms.add(erp)
    InitiativeFactory(lane="fast_lane", status="approved").platforms.add(crm)
    InitiativeFactory(lane="fast_lane", status="cancelled").platforms.add(crm)  # never built: not counted
    InitiativeFactory(lane="core_stack", status="approved").platforms.add(crm)  # not fast lane

    ranked = platform_map(DashboardFilters(fiscal_year=FY), user=finance).platforms

    assert [(p["title"], p["fast_lane_dependents"]) for p in ranked] == [("ERP", 3), ("CRM", 1)]
    assert ranked[0]["code"] == erp.code


def test_largest_variances_rank_by_size_whatever_the_sign(portfolio):
    rows = largest_variances(DashboardFilters(fiscal_year=FY))

    assert [row["code"] for row in rows] == [portfolio["fast"].code, portfolio["core"].code, portfolio["island"].code]
    assert rows[0]["variance"] == D("3000.03") - D("1480.02")
    assert rows[2]["variance"] == D("-777.77")


def test_the_share_trend_reads_the_month_s_last_run_from_the_compact_history(portfolio):
    first = SplitRun.objects.get()
    ExpenseFactory(initiative=portfolio["core"], incurred_on=dt.date(2026, 4, 20), amount=D("900.00"), paid_by="it")
    split_recompute(trigger="command")
    # The first run, moved to last month: one point a month, each the month's last run.
    SplitRun.objects.filter(pk=first.pk).update(finished_at=first.finished_at - dt.timedelta(days=31))

    trend = share_trend(DashboardFilters(fiscal_year=FY))
    fast_only = share_trend(DashboardFilters(fiscal_year=FY, lane="fast_lane"))

    assert len(trend) == 2 == SplitRun.objects.filter(status=RunStatus.SUCCEEDED).count()
    assert trend[0].month < trend[1].month and trend[0].run_id == str(first.pk)
    assert trend[1].marketing_share < trend[0].marketing_share  # IT-heavy spend was added
    assert fast_only[0].marketing_share == fast_only[1].marketing_share
    assert trend[1].actual_total == split_rollup(DashboardFilters(fiscal_year=FY)).totals["actual_total"]
    assert SplitHistory.objects.count() > 0


@pytest.mark.parametrize(
    ("filters", "ignored"),
    [({"side": "marketing"}, "owner's side"), ({"status": "in_progress"}, "status"), ({}, None)],
)
def test_the_share_trend_says_plainly_when_the_side_or_status_filter_does_not_apply_to_it(
    client, executive_it, portfolio, filters, ignored
):
    response = page(client, executive_it, fiscal_year=FY, lane="fast_lane", **filters)
    data = chart_data(response)
    text = response.text

    if ignored is None:
        assert response.context["trend_scope"] is None and data["trend_scope"] == ""
        assert 'id="trend-scope-note"' not in text
        return
    scope = "FY2026 · fast lane, all owners' sides and statuses"
    assert response.context["trend_scope"] == {"ignored": ignored, "scope": scope}
    assert data["trend_scope"] == scope
    start = text.index('<section class="card h-100" aria-labelledby="h-trend">')
    header = html.unescape(re.sub(r"[ \n]+", " ", text[start : text.index('id="chart-trend"')]))
    assert "For all owners' sides and statuses" in header  # in the card title, not in the small print
    assert f"Not filtered by {ignored}." in header
    latest = response.context["trend_latest"]
    assert f"This trend covers {scope}: {latest} in the latest run." in header
    headline = response.context["rollup"].marketing_share
    assert "in the headline is for the filtered initiatives only" in header and headline is not None


def test_the_variance_chart_explains_its_sign_next_to_the_at_risk_table(client, finance, portfolio):
    response = page(client, finance, fiscal_year=FY, lane="fast_lane", quarter="Q1")
    variances = chart_data(response)["variances"]

    # The island spent 777.77 with no plan: variance −777.77 (§3), i.e. over plan by 777.77.
    assert (variances[0]["text"], variances[0]["gap_text"]) == ("\u2212$777.77", "Over plan by $777.77")
    assert (variances[1]["text"], variances[1]["gap_text"]) == ("+$520.00", "Under plan by $520.00")
    text = response.text
    # The convention is said once, for the whole page; no panel says "actual − planned".
    assert text.count("Variance = plan − actual") == 1
    assert "<strong>Variance = plan − actual</strong> (at completion: plan − forecast) everywhere" in text
    assert "actual − planned" not in text and "actual − plan" not in text
    assert "<strong>Over plan</strong> (actual above planned): negative, left of zero" in text
    assert '<th class="text-end">Variance</th>' in text


def test_pending_approvals_list_what_waits_for_the_viewing_executive(
    client, pm, executive_marketing, executive_it, finance
):
    people = {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    waiting = InitiativeFactory(status="submitted", title="Needs both", **people)
    InitiativeFactory(status="submitted", marketing_approved_at=timezone.now(), title="Marketing signed", **people)

    assert [i.title for i in pending_approvals(user=executive_marketing)] == ["Needs both"]
    assert {i.title for i in pending_approvals(user=executive_it)} == {"Needs both", "Marketing signed"}
    assert pending_approvals(user=finance) == []
    assert pending_approvals(user=executive_marketing)[0].awaits_sign_off is True
    assert waiting.title in page(client, executive_marketing).text


def test_status_counts_follow_the_filters_and_link_to_the_initiative_list(client, finance, portfolio):
    counts = initiative_counts(DashboardFilters(fiscal_year=FY, side="it"), user=finance, today=TODAY)

    assert counts.by_status["approved"] == 1 and counts.total == 1
    text = page(client, finance, fiscal_year=FY, side="it").text
    assert 'href="/initiatives/?fiscal_year=2026&amp;status=approved&amp;side=it"' in text


# --- drill-down links, filters, formatting ------------------------------------------------------------


def test_finance_drills_into_the_split_report_with_the_export_parameter_names(client, finance, portfolio):
    response = page(client, finance, fiscal_year=FY, lane="fast_lane", quarter="Q1")
    data = chart_data(response)

    assert 'href="/reports/split.csv?fiscal_year=FY2026&amp;quarter=1&amp;lane=fast_lane"' in response.text
    assert data["months"][0]["link"] == "/reports/split.csv?fiscal_year=FY2026&quarter=1&lane=fast_lane"
    # The tooltip says what the click does: the split report of that very quarter.
    assert data["months"][0]["link_text"] == "Click to download the split report of FY2026 Q1 (CSV)"
    assert "Click a month to download the split report of its quarter (CSV)." in response.text
    assert data["lanes"] == [
        {
            "key": "fast_lane",
            "name": "Fast lane",
            "actual": "2257.79",
            "planned": "2000.02",
            "text": "$2,257.79",
            "short": "$2.3\u00a0k",
            "planned_text": "$2,000.02",
            "share": "100.0\u00a0%",
            "link": "/reports/split.csv?fiscal_year=FY2026&quarter=1&lane=fast_lane",
            "link_text": "Click to download the split report of the fast lane in FY2026 Q1 (CSV)",
        }
    ]
    # Q1, fast lane: the island is 777.77 over its (empty) plan, the other 520.00 under its plan.
    assert [row["link"] for row in data["variances"]] == [
        f"/initiatives/{portfolio['island'].code}/",
        f"/initiatives/{portfolio['fast'].code}/",
    ]
    assert [row["text"] for row in data["variances"]] == ["\u2212$777.77", "+$520.00"]


def test_executives_drill_into_the_initiative_list_not_the_finance_export(client, executive_it, portfolio):
    response = page(client, executive_it, fiscal_year=FY, lane="core_stack", side="it")
    data = chart_data(response)

    # They may download the reports (the links say so), but a click on a figure opens the initiatives.
    assert "/reports/split.csv" not in json.dumps(data)
    assert 'href="/reports/split.csv?fiscal_year=FY2026&amp;lane=core_stack">Download the split report' in response.text
    assert data["lanes"][0]["link"] == "/initiatives/?fiscal_year=2026&lane=core_stack&side=it"
    assert data["lanes"][0]["link_text"] == "Click for the core stack initiatives active in FY2026"
    assert 'href="/initiatives/?fiscal_year=2026&amp;lane=core_stack&amp;side=it&amp;health=red"' in response.text


def test_a_month_click_leads_where_its_tooltip_says(client, executive_it, portfolio):
    # A month of a whole-year view narrows this dashboard to its quarter.
    data = chart_data(page(client, executive_it, fiscal_year=FY, lane="core_stack", side="it"))
    april = data["months"][3]

    assert april["link"] == "/dashboard/?fiscal_year=2026&quarter=2&lane=core_stack&side=it"
    assert april["link_text"] == "Click to show FY2026 Q2 on this dashboard"
    narrowed = page(client, executive_it, **dict(p.split("=") for p in april["link"].split("?")[1].split("&")))
    assert narrowed.context["filters"] == DashboardFilters(fiscal_year=FY, quarter=2, lane="core_stack", side="it")

    # Within a quarter, a month opens the initiative list of that quarter, and says so.
    response = page(client, executive_it, fiscal_year=FY, quarter="Q2")
    april = chart_data(response)["months"][0]
    assert april["link"] == "/initiatives/?fiscal_year=2026&quarter=2"
    assert april["link_text"] == "Click for the initiatives active in FY2026 Q2"
    assert "Click a month for the initiatives active in FY2026 Q2." in response.text
    assert "cannot narrow" not in response.text


def test_bad_filter_values_fall_back_to_the_defaults_with_a_plain_notice_and_the_rest_still_applies(
    client, finance, portfolio
):
    response = page(client, finance, fiscal_year=FY, lane="warp_speed", quarter="Q9", side="it")

    assert response.status_code == 200
    assert response.context["filters"] == DashboardFilters(fiscal_year=FY, side="it")
    assert response.context["fallback_notices"] == [
        "“Q9” is not a quarter (Q1 to Q4), so the dashboard shows the whole year.",
        "“warp_speed” is not a lane (fast_lane or core_stack), so the dashboard shows both lanes.",
    ]
    assert "Part of this link could not be used." in response.text
    assert "Select a valid choice" not in response.text  # no raw form errors
    # The selects show what the page shows.
    form = response.context["form"]
    assert (form["quarter"].value(), form["lane"].value(), form["side"].value()) == ("", "", "it")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"lane": "Fast lane"}, {"lane": "fast_lane"}),
        ({"lane": "FAST_LANE"}, {"lane": "fast_lane"}),
        ({"lane": " core STACK "}, {"lane": "core_stack"}),
        ({"status": "In progress"}, {"status": "in_progress"}),
        ({"status": "APPROVED", "lane": "core stack"}, {"status": "approved", "lane": "core_stack"}),
    ],
)
def test_a_lane_or_status_is_read_by_its_value_or_label_in_any_case_as_the_split_filters_do(
    client, finance, portfolio, params, expected
):
    response = page(client, finance, fiscal_year=FY, **params)

    assert response.status_code == 200
    assert response.context["filters"] == DashboardFilters(fiscal_year=FY, **expected)
    assert response.context["fallback_notices"] == []
    form = response.context["form"]
    assert {name: form[name].value() for name in expected} == expected  # the selects show what the page shows


@pytest.mark.parametrize("asked", ["abc", "1999", "FY2099"])
def test_a_fiscal_year_that_cannot_be_shown_falls_back_to_the_current_one_and_the_select_says_so(
    client, finance, portfolio, asked
):
    from portfolio import fiscal

    current = fiscal.fiscal_year(timezone.localdate())

    response = page(client, finance, fiscal_year=asked, quarter="9")

    assert response.status_code == 200
    assert response.context["filters"] == DashboardFilters(fiscal_year=current)
    first = response.context["fallback_notices"][0]
    assert first.endswith(f"so it shows FY{current}, the current fiscal year.")
    assert (f"“{asked}” is not a fiscal year" if asked == "abc" else f"FY{asked[-4:]} is not one of") in first
    selected = re.search(r'<select name="fiscal_year"[^>]*>.*?</select>', response.text, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"[^>]*selected', selected) == [str(current)]
    assert "Select a valid choice" not in response.text
    assert "<h1>FY" + str(current) in response.text


def test_usable_filters_give_no_notice(client, finance, portfolio):
    response = page(client, finance, fiscal_year=f"FY{FY}", quarter="Q2", lane="fast_lane")

    assert response.context["fallback_notices"] == []
    assert "Part of this link could not be used." not in response.text


def test_the_default_fiscal_year_is_the_current_one(client, finance):
    from portfolio import fiscal

    response = page(client, finance)

    assert response.context["filters"].fiscal_year == fiscal.fiscal_year(timezone.localdate())


def test_charts_are_drawn_by_static_echarts_with_no_inline_script(client, finance, portfolio):
    text = page(client, finance, fiscal_year=FY).text

    assert "/static/vendor/echarts/echarts.min.js" in text  # from the npm package (portfolio/staticfiles.py)
    assert "/static/dashboard/dashboard.js" in text
    inline = [s for s in re.findall(r"<script([^>]*)>", text) if "src=" not in s and "application/json" not in s]
    assert inline == []
    assert_assets_served_here(text)  # no CDN, nothing from another host
    main = text[text.index('<main id="content"') : text.index("</main>")]
    assert " style=" not in main  # the Content Security Policy refuses style attributes: widths go in data-width


def test_chart_tooltips_carry_exact_cents(client, finance, portfolio):
    data = chart_data(page(client, finance, fiscal_year=FY))
    january = data["months"][0]

    assert january["actual_marketing"] == "937.53"  # round_half_up(1500.05 × 0.625) — exact strings, no floats
    assert january["text"]["actual_total"] == "$1,500.05"
    assert january["text"]["variance"] == "\u2212$166.71"  # 1,333.34 planned − 1,500.05 spent
    assert data["currency"] == "USD"


def test_profiles_without_a_side_do_not_break_the_side_filter(client, finance, portfolio):
    Profile.objects.filter(user=portfolio["fast"].owner).update(side="")

    assert split_rollup(DashboardFilters(fiscal_year=FY, side="marketing")).totals["actual_total"] == D("777.77")


def test_split_figures_are_cached_per_run_and_a_new_run_is_shown_at_once(
    client, finance, portfolio, django_assert_num_queries
):
    client.force_login(finance)
    first = client.get(URL, {"fiscal_year": FY})
    with django_assert_num_queries(5):  # the roll-up, the ranking and the live figures come from the cache
        again = client.get(URL, {"fiscal_year": FY})
    ExpenseFactory(initiative=portfolio["core"], incurred_on=dt.date(2026, 4, 20), amount=D("1000.00"))
    split_recompute(trigger="command")
    after = client.get(URL, {"fiscal_year": FY})

    with django_assert_num_queries(13):  # other filters: nothing cached for them yet
        client.get(URL, {"fiscal_year": FY, "lane": "core_stack"})
    assert first.context["rollup"].totals == again.context["rollup"].totals
    assert after.context["rollup"].totals["actual_total"] == first.context["rollup"].totals["actual_total"] + 1000
    assert "$3,357.78" in after.text


def test_a_recompute_warms_the_cache_so_the_first_view_reads_only_what_is_about_the_viewer(
    client, finance, portfolio, django_assert_num_queries
):
    client.force_login(finance)
    cache.clear()
    with django_assert_num_queries(13):
        client.get(URL)
    ExpenseFactory(initiative=portfolio["core"], incurred_on=dt.date(2026, 4, 20), amount=D("5.00"))
    split_recompute(trigger="command")  # warms the default view's split and live figures when it succeeds
    with django_assert_num_queries(5):  # session, user, roles, runs, profile: no roll-up, ranking or live figures
        client.get(URL)


class UnreachableCache(BaseCache):
    """A cache whose server is down: every call fails as RedisCache's do."""

    def get(self, key, default=None, version=None):
        raise ConnectionError("cache server down")

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        raise ConnectionError("cache server down")


def test_the_page_answers_from_the_database_when_the_cache_is_down(client, finance, portfolio, settings):
    settings.CACHES = {"default": {"BACKEND": "tests.dashboard.test_dashboard.UnreachableCache"}}

    response = page(client, finance, fiscal_year=FY)

    assert response.status_code == 200
    assert response.context["rollup"].totals == split_rollup(DashboardFilters(fiscal_year=FY)).totals


def test_live_figures_are_cached_until_an_initiative_changes(client, finance, portfolio, django_assert_num_queries):
    client.force_login(finance)
    first = client.get(URL, {"fiscal_year": FY})
    with django_assert_num_queries(5):  # session, user, roles, runs, profile: nothing else to read
        again = client.get(URL, {"fiscal_year": FY})
    fast = portfolio["fast"]
    fast.health = "red"
    fast.save()
    after_health = client.get(URL, {"fiscal_year": FY})
    portfolio["island"].platforms.add(portfolio["core"])
    after_platform = client.get(URL, {"fiscal_year": FY})

    assert again.context["counts"] == first.context["counts"]
    assert (first.context["counts"].red, after_health.context["counts"].red) == (1, 2)
    assert fast.code in [i.code for i in after_health.context["d"].at_risk]
    assert (after_health.context["counts"].islands, after_platform.context["counts"].islands) == (1, 0)
    assert after_platform.context["d"].platforms[0]["code"] == portfolio["core"].code
