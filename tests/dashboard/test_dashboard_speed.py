"""The dashboard's speed work keeps its figures: the ranking grouped by the initiative alone, the warm after a run."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.figures import (
    SpendRanking,
    at_risk_initiatives,
    initiative_counts,
    overspent_ytd,
    pending_approvals,
    spend_ranking,
)
from dashboard.filters import DashboardFilters, split_queryset
from dashboard.platforms import digital_islands, platform_map
from dashboard.selectors import _live_figures, _whole_portfolio_viewer, dashboard, dashboard_cache_warm
from initiatives.models import Initiative
from split.arithmetic import is_overspent
from split.models import SplitRow
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
FY = 2026
TODAY = dt.date(2026, 11, 20)
URL = "/dashboard/"


@pytest.fixture
def spread(pm, executive_marketing, executive_it):
    """Twelve initiatives of both lanes and owners' sides: ties in |variance|, overspenders, months in every quarter."""
    it_pm = UserFactory(username="pm.it.speed", role="pm", side="it")
    people = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    made = []
    for number in range(12):
        initiative = InitiativeFactory(
            lane="fast_lane" if number % 2 else "core_stack",
            status="in_progress",
            owner=pm if number % 3 else it_pm,
            **people,
        )
        for month in (1, 4, 8, 12):
            BudgetLineFactory(initiative=initiative, month=dt.date(2026, month, 1), amount=D("1000.00"))
        # Pairs share the same size of year variance, one under and one over plan (the tie is broken by the
        # code); most are more than 10 % over their plan to date (3,000.00 by November).
        size = D(100 * (number // 2 + 1))
        spent = D("4000.00") + (size if number % 2 else -size)
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 4, 7), amount=spent - 10, paid_by="marketing")
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 8, 7), amount=D("10.00"))
        made.append(initiative)
    split_recompute(trigger="command")
    return made


def ranking_by_four_columns(filters: DashboardFilters, *, today: dt.date, limit: int = 10) -> SpendRanking:
    """The ranking as the query before grouped it (by id, code, title and lane), worked out in Python."""
    window = filters.overspend_months(today)  # the overspend rule's period to date (the quarter's, with one)
    year = DashboardFilters(
        fiscal_year=filters.fiscal_year, lane=filters.lane, status=filters.status, side=filters.side
    )

    groups: dict[tuple, dict] = {}
    for row in split_queryset(year):
        key = (row.initiative_id, row.initiative_code, row.initiative_title, row.lane)
        sums = groups.setdefault(key, dict.fromkeys(("rows", "planned", "actual", "variance", "ytd_p", "ytd_a"), 0))
        if not filters.quarter or row.fiscal_quarter == filters.quarter:
            sums["rows"] += 1
            sums["planned"] += row.planned_total
            sums["actual"] += row.actual_total
            sums["variance"] += row.variance
        if window and window[0] <= row.month <= window[1]:
            sums["ytd_p"] += row.planned_total
            sums["ytd_a"] += row.actual_total
    ranked = sorted(groups.items(), key=lambda item: (-abs(item[1]["variance"]), item[0][1]))
    variances = [
        {
            "code": code,
            "title": title,
            "lane": lane,
            "planned": sums["planned"],
            "actual": sums["actual"],
            "variance": sums["variance"],
        }
        for (_, code, title, lane), sums in ranked[:limit]
        if sums["rows"]
    ]
    over = [
        (sums["ytd_a"] - sums["ytd_p"], pk)
        for (pk, *_), sums in groups.items()
        if is_overspent(sums["ytd_a"], sums["ytd_p"], 10)
    ]
    return SpendRanking(
        overspent_ids=[pk for _, pk in sorted(over, key=lambda item: (-item[0], item[1]))], variances=variances
    )


@pytest.mark.parametrize(
    "filters",
    [
        DashboardFilters(fiscal_year=FY),
        DashboardFilters(fiscal_year=FY, quarter=2),
        DashboardFilters(fiscal_year=FY, quarter=4, lane="fast_lane"),
        DashboardFilters(fiscal_year=FY, side="it"),
        DashboardFilters(fiscal_year=FY, status="in_progress", lane="core_stack"),
        DashboardFilters(fiscal_year=2027),
    ],
    ids=["year", "quarter", "quarter-lane", "side", "status-lane", "future-year"],
)
def test_the_ranking_grouped_by_the_initiative_equals_the_grouping_by_code_title_and_lane(settings, spread, filters):
    settings.OVERSPEND_ALERT_PCT = 10

    ranking = spend_ranking(filters, today=TODAY, limit=5)

    assert ranking == ranking_by_four_columns(filters, today=TODAY, limit=5)
    assert set(ranking.overspent_ids) == set(
        overspent_ytd(filters, today=TODAY).values_list("initiative_id", flat=True)
    )


def test_the_fixture_ranks_ties_overspenders_and_a_full_top_ten(settings, spread):
    """The comparison above means something: ties, overspenders and more initiatives than shown."""
    settings.OVERSPEND_ALERT_PCT = 10
    ranking = spend_ranking(DashboardFilters(fiscal_year=FY), today=TODAY)

    sizes = [abs(row["variance"]) for row in ranking.variances]
    assert len(ranking.variances) == 10 and len(set(sizes)) < len(sizes)  # ties
    assert len(ranking.overspent_ids) >= 2


def test_an_initiative_whose_older_rows_carry_an_older_title_and_lane_is_ranked_once_under_its_latest(settings, spread):
    """Frozen months keep the title and lane of when they were closed: the initiative is still one line,
    its sums over all its rows, shown as its latest row names it, and overspent by the alert rule's groups."""
    settings.OVERSPEND_ALERT_PCT = 10
    renamed = spread[11]
    SplitRow.objects.filter(initiative=renamed, month__lt=dt.date(2026, 8, 1)).update(
        initiative_title="Old name", lane="core_stack"
    )
    filters = DashboardFilters(fiscal_year=FY)

    ranking = spend_ranking(filters, today=TODAY, limit=20)

    mine = [row for row in ranking.variances if row["code"] == renamed.code]
    rows = SplitRow.objects.filter(initiative=renamed, fiscal_year=FY)
    assert len(mine) == 1
    assert (mine[0]["title"], mine[0]["lane"]) == (renamed.title, "fast_lane")
    assert mine[0]["variance"] == sum(row.variance for row in rows)
    assert set(ranking.overspent_ids) == set(
        overspent_ytd(filters, today=TODAY).values_list("initiative_id", flat=True)
    )


def test_the_ranking_is_one_query_grouped_by_the_initiative_alone(spread):
    with CaptureQueriesContext(connection) as captured:
        spend_ranking(DashboardFilters(fiscal_year=FY), today=TODAY)

    (query,) = captured.captured_queries
    # Grouped by code, title or lane, the rows would name those columns (the lookups of the winners' title
    # and lane go through the alias `latest`).
    assert '"budgets_splitrow"."initiative_id"' in query["sql"]
    assert '"budgets_splitrow"."initiative_title"' not in query["sql"]
    assert '"budgets_splitrow"."lane"' not in query["sql"]


# --- the warm after a recompute ---------------------------------------------------------------


@pytest.mark.parametrize(("who", "approvals"), [("executive_marketing", 3), ("finance", 0)])
def test_after_a_recompute_the_first_view_reads_only_what_is_about_the_viewer(
    client, request, django_assert_num_queries, spread, who, approvals
):
    """Session, user, roles, runs and trend, profile (and an executive's approvals and the navigation's two
    counts): the roll-up, the ranking, the true-up's states and the live figures were warmed by the run."""
    user = request.getfixturevalue(who)
    client.force_login(user)
    cache.clear()
    ExpenseFactory(initiative=spread[0], incurred_on=dt.date(2026, 5, 5), amount=D("5.00"))
    split_recompute(trigger="command")

    with django_assert_num_queries(5 + approvals):
        warm = client.get(URL)

    cache.clear()
    with django_assert_max_num_queries_cold(16):
        cold = client.get(URL)
    assert warm.context["counts"] == cold.context["counts"]
    assert [i.code for i in warm.context["d"].at_risk] == [i.code for i in cold.context["d"].at_risk]
    assert warm.context["d"].platforms == cold.context["d"].platforms


class django_assert_max_num_queries_cold(CaptureQueriesContext):
    """At most `limit` queries (the issue's bound for a view with nothing cached)."""

    def __init__(self, limit: int):
        super().__init__(connection)
        self.limit = limit

    def __exit__(self, *exc):
        super().__exit__(*exc)
        assert len(self.captured_queries) <= self.limit, len(self.captured_queries)


def test_the_warmed_live_figures_are_those_a_cold_view_computes(finance, spread, settings):
    settings.OVERSPEND_ALERT_PCT = 10
    cache.clear()
    dashboard_cache_warm(today=TODAY)
    filters = DashboardFilters(fiscal_year=FY)

    with CaptureQueriesContext(connection) as captured:
        warmed = dashboard(user=finance, filters=filters, today=TODAY)
    cold = initiative_counts(filters, user=finance, today=TODAY)

    assert not [q for q in captured.captured_queries if "initiatives_initiative" in q["sql"] and "COUNT" in q["sql"]]
    assert warmed.counts == cold
    assert warmed.platform_map == platform_map(filters, user=finance)


def test_the_warm_leaves_the_live_figures_alone_while_nobody_sees_the_whole_portfolio(pm):
    """No executive, finance or admin yet: nobody to warm them for (and nothing fails)."""
    InitiativeFactory(owner=pm, marketing_sponsor=pm, it_sponsor=pm)
    split_recompute(trigger="command")

    assert _whole_portfolio_viewer() is None
    dashboard_cache_warm(today=TODAY)


# --- what waits for the viewer: read from the sponsor indexes -----------------------------------


def test_pending_approvals_list_sign_offs_and_changes_waiting_for_the_executive_and_nothing_else(
    pm, executive_marketing, executive_it
):
    """The sign-offs and the pending changes (the two branches of the query), oldest change first; a running
    initiative the executive sponsors without a change waiting, or one they approved already, is not listed."""
    from initiatives import services

    people = {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    running = InitiativeFactory(status="in_progress", title="Running, change waits", **people)
    InitiativeFactory(status="in_progress", title="Running, nothing waits", **people)
    signed = InitiativeFactory(status="submitted", title="Signed by marketing", **people)
    signed.marketing_approved_at = signed.created_at
    signed.save()
    services.change_proposal_create(initiative=running, by=pm, reason="Rebalance", marketing_share_pct="33.33")
    waiting = InitiativeFactory(status="submitted", title="Needs both", **people)

    marketing = pending_approvals(user=executive_marketing)
    it = pending_approvals(user=executive_it)

    assert {(i.title, i.awaits_sign_off) for i in marketing} == {(running.title, False), (waiting.title, True)}
    assert {(i.title, i.awaits_sign_off) for i in it} == {
        (running.title, False),
        (signed.title, True),
        (waiting.title, True),
    }
    for listed in (marketing, it):  # the longest waiting first
        assert [i.pk for i in listed] == [
            i.pk for i in Initiative.objects.filter(pk__in=[i.pk for i in listed]).order_by("updated_at", "id")
        ]


def test_the_live_figures_build_the_initiative_lists_filters_once_and_show_the_same(finance, spread, monkeypatch):
    from initiatives.filtersets import InitiativeFilterSet

    built = []
    original = InitiativeFilterSet.__init__

    def counting(self, *args, **kwargs):
        built.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(InitiativeFilterSet, "__init__", counting)
    filters = DashboardFilters(fiscal_year=FY, lane="fast_lane")
    ranking = spend_ranking(filters, today=TODAY)
    separately = (
        initiative_counts(filters, user=finance, today=TODAY, overspent_ids=ranking.overspent_ids),
        [i.pk for i in at_risk_initiatives(filters, user=finance, today=TODAY, overspent_ids=ranking.overspent_ids)],
        [i.pk for i in digital_islands(filters, user=finance)],
    )
    built.clear()

    live = _live_figures(_freshness_without_run(), filters, ranking, user=finance, today=TODAY)

    assert len(built) == 1
    assert (live.counts, [i.pk for i in live.at_risk], [i.pk for i in live.islands]) == separately
    assert live.counts.total == 6  # the fast-lane half of the spread


def _freshness_without_run():
    """No run to cache under: the live figures are computed every time."""
    from django.utils import timezone

    from dashboard.freshness import Freshness

    return Freshness(latest=None, last_failed=None, now=timezone.now(), portfolio_version=None)
