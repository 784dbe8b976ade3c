"""The dashboard's platform card (risk by cause, the map) and digital islands card (initiatives/platforms.py rules)."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from dashboard.filters import DashboardFilters, filtered_initiatives
from dashboard.platforms import PlatformMap, digital_islands, platform_map
from initiatives.platforms import PlatformRisk, platform_risk_q
from split.services import split_recompute
from tests.factories import ExpenseFactory, InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
FY = 2026
TODAY = dt.date(2026, 11, 20)
URL = "/dashboard/"


@pytest.fixture
def people(pm, executive_marketing, executive_it):
    return {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}


@pytest.fixture
def landscape(people):
    """Platforms of every kind, and fast-lane work on them (one of it owned by IT, one cancelled)."""
    it_pm = UserFactory(username="pm.it.platforms", role="pm", side="it")
    end = dt.date(2026, 12, 31)

    def core(title, **fields):
        values = {"lane": "core_stack", "status": "in_progress", "health": "green", "end_date": dt.date(2027, 6, 30)}
        return InitiativeFactory(title=title, **{**people, **values, **fields})

    def fast(*platforms, **fields):
        values = {"lane": "fast_lane", "status": "in_progress", "end_date": end}
        initiative = InitiativeFactory(**{**people, **values, **fields})
        initiative.platforms.add(*platforms)
        return initiative

    crm = core("CRM")
    erp = core("ERP", health="red")
    billing = core("Billing", status="approved", end_date=dt.date(2026, 9, 30))
    gone = core("Old CMS", status="cancelled")
    dropped = core("Data lake", status="rejected")
    draft = core("Draft platform", status="draft")
    work = {
        "sound": [fast(crm) for _ in range(4)],
        "on_red": fast(erp, crm),
        "on_red_it": fast(erp, owner=it_pm),
        "ends_first": fast(billing),
        "on_cancelled": fast(gone),
        "on_rejected": fast(dropped),
        "on_draft": [fast(draft) for _ in range(6)],
        "cancelled_work": fast(gone, erp, status="cancelled"),
    }
    return {"crm": crm, "erp": erp, "billing": billing, "gone": gone, "draft": draft, **work}


def dashboard(client, user, **params):
    client.force_login(user)
    cache.clear()
    response = client.get(URL, {"fiscal_year": FY, **params})
    assert response.status_code == 200
    return response


def list_count(client, link: str) -> int:
    response = client.get(html.unescape(link))
    assert response.status_code == 200
    return response.context["paginator"].count


def test_the_risk_counts_by_cause_and_leave_out_cancelled_work(finance, landscape):
    found = platform_map(DashboardFilters(fiscal_year=FY), user=finance)

    assert found.at_risk == 5  # on red (2), ends first, on cancelled, on rejected; not the cancelled work
    assert found.by_cause == {
        PlatformRisk.CANCELLED: 1,
        PlatformRisk.REJECTED: 1,
        PlatformRisk.RED: 2,
        PlatformRisk.ENDS_FIRST: 1,
    }


def test_the_risk_counts_ride_with_the_platform_map_in_one_query(finance, landscape, django_assert_num_queries):
    filters = DashboardFilters(fiscal_year=FY)
    platform_map(filters, user=finance)  # the viewer's roles, read once

    with django_assert_num_queries(1):
        found = platform_map(filters, user=finance)

    assert found.at_risk == 5 and len(found.platforms) == 5


def test_the_risk_counts_agree_with_the_list_filter_rule(finance, landscape):
    filters = DashboardFilters(fiscal_year=FY)
    found = platform_map(filters, user=finance)
    selected = filtered_initiatives(filters, finance)

    assert found.at_risk == selected.filter(platform_risk_q()).count()
    for cause in PlatformRisk.values:
        assert found.by_cause[cause] == selected.filter(platform_risk_q(cause)).count(), cause


def test_no_platform_no_risk(finance):
    assert platform_map(DashboardFilters(fiscal_year=FY), user=finance) == PlatformMap(
        platforms=[], at_risk=0, by_cause=dict.fromkeys(PlatformRisk.values, 0)
    )


@pytest.mark.parametrize("params", [{}, {"side": "marketing"}, {"status": "in_progress", "side": "it"}])
def test_the_card_counts_are_the_counts_of_the_lists_they_link_to(client, finance, landscape, params):
    response = dashboard(client, finance, **params)
    counts, links = response.context["counts"], response.context["links"]
    at_risk = response.context["platform_risk"]

    assert list_count(client, links["platform_risk"]) == at_risk
    for row in response.context["platform_risk_rows"]:
        assert list_count(client, row["link"]) == row["count"], row["cause"]
        assert html.escape(row["link"]) in response.text
    assert list_count(client, links["islands"]) == counts.islands
    assert html.escape(links["platform_risk"]) in response.text
    if not params:
        assert at_risk == 5
    if params.get("side") == "it":
        assert at_risk == 1  # the IT-owned one on the red ERP


def test_the_map_lists_the_platforms_putting_work_at_risk_then_the_approved_carriers(finance, landscape):
    ranked = platform_map(DashboardFilters(fiscal_year=FY), user=finance).platforms

    # At risk first (most at risk first, whatever their status); then approved carriers. The draft
    # platform carries six but is no carrier and puts nothing at risk: not listed.
    assert [(p["title"], p["risky"], p["at_risk"], p["fast_lane_dependents"]) for p in ranked] == [
        ("ERP", True, 2, 2),
        ("Billing", True, 1, 1),
        ("Old CMS", True, 1, 1),
        ("Data lake", True, 1, 1),
        ("CRM", False, 0, 5),
    ]
    erp, billing, gone, _, crm = ranked
    assert (crm["status"], crm["health"], crm["end_date"]) == ("in_progress", "green", dt.date(2027, 6, 30))
    assert (erp["red"], erp["ends_first"], billing["ends_first"], gone["status"]) == (True, 0, 1, "cancelled")
    assert (crm["bar_pct"], erp["bar_pct"]) == (100, 40)


def test_the_map_shows_at_most_the_limit_of_each_kind(finance, landscape):
    ranked = platform_map(DashboardFilters(fiscal_year=FY), user=finance, limit=1).platforms

    assert [p["title"] for p in ranked] == ["ERP", "CRM"]


def test_the_map_counts_the_dependents_the_filters_select(finance, landscape):
    it_owned = platform_map(DashboardFilters(fiscal_year=FY, side="it"), user=finance).platforms
    core_stack = platform_map(DashboardFilters(fiscal_year=FY, lane="core_stack"), user=finance).platforms
    next_year = platform_map(DashboardFilters(fiscal_year=FY + 2), user=finance).platforms

    assert [(p["title"], p["at_risk"], p["fast_lane_dependents"]) for p in it_owned] == [("ERP", 1, 1)]
    assert core_stack == next_year == []


def test_the_page_shows_the_platform_card_with_badges_and_the_risk(client, finance, landscape):
    text = dashboard(client, finance).text

    card = text[text.index('id="platforms"') : text.index("dashboard-footnote")]
    assert "5</span> rest on a risky platform" in card
    assert "Platform cancelled" in card and "Platform ends first" in card
    assert "ends Jun 2027" in card and "ends Sep 2026" in card  # end dates
    assert "In progress" in card and "Approved" in card  # status badges
    assert "2 at risk" in card and "ends first for 1" in card
    assert "Putting fast-lane work at risk" in card and "Carrying the fast lane" in card
    assert "Old CMS" in card and "Cancelled" in card
    assert "Draft platform" not in card


def test_the_card_says_which_filters_do_not_apply(client, finance, landscape):
    quarter = dashboard(client, finance, quarter=2).context["platform_card_scope"]
    core_stack = dashboard(client, finance, lane="core_stack").context["platform_card_scope"]

    assert quarter.startswith(f"Fast-lane initiatives active in FY{FY} Q2")  # the quarter applies to them
    assert "core-stack initiatives rest on no platform and are never islands" in core_stack
    assert dashboard(client, finance, lane="core_stack").context["platform_risk"] == 0


@pytest.mark.parametrize(("threshold", "shown"), [(80, 1), (60, 2)])
def test_the_islands_card_explains_the_rule_with_the_setting_and_lists_spend(client, finance, people, threshold, shown):
    big = InitiativeFactory(lane="fast_lane", status="in_progress", marketing_share_pct=D("80.00"), **people)
    InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("60.00"), **people)
    ExpenseFactory(initiative=big, incurred_on=dt.date(2026, 3, 3), amount=D("12345.67"), paid_by="marketing")
    split_recompute(trigger="command")

    with override_settings(DIGITAL_ISLAND_SHARE_PCT=threshold):
        response = dashboard(client, finance)
        found = digital_islands(DashboardFilters(fiscal_year=FY), user=finance)

    card = response.text[response.text.index('id="islands"') :]
    assert f"when marketing funds at least {threshold} % of it (today's share)" in card
    assert "builds on no core-stack platform" in card
    assert response.context["counts"].islands == len(found) == shown
    assert found[0] == big and found[0].period_actual == D("12345.67")
    assert "$12,345.67" in card
    assert html.escape(response.context["links"]["islands"]) in card


def test_a_changed_island_threshold_is_never_answered_from_the_cache(client, finance, people):
    InitiativeFactory(lane="fast_lane", status="approved", marketing_share_pct=D("70.00"), **people)
    split_recompute(trigger="command")
    client.force_login(finance)
    cache.clear()

    with override_settings(DIGITAL_ISLAND_SHARE_PCT=80):
        before = client.get(URL, {"fiscal_year": FY}).context["counts"].islands  # cached under 80 %
    with override_settings(DIGITAL_ISLAND_SHARE_PCT=60):
        after = client.get(URL, {"fiscal_year": FY}).context["counts"].islands  # nothing else changed

    assert (before, after) == (0, 1)
