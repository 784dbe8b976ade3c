"""Who funds what (/dashboard/funding/): who sees it, the sponsor tables tie out to the split rows to the cent,
the filters reach every table, and the true-up per fiscal quarter (its total, then settled / outstanding / accruing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from dashboard.filters import DashboardFilters
from dashboard.funding import FUNDING_COLUMNS, funding, sponsor_figures, true_up_by_quarter
from split.models import SplitRow, SplitRun
from split.services import split_recompute
from split.settlements import settlement_create, settlement_reverse
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory
from tests.split.settlement_helpers import AUGUST, JULY, ledger

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/dashboard/funding/"
FY = 2026


@pytest.fixture
def sponsors(executive_marketing, executive_it):
    """Two executives per side: the CMO and the CIO, and one more of each."""
    return {
        "cmo": executive_marketing,
        "cio": executive_it,
        "brand": UserFactory(username="brand.director", first_name="Bea", last_name="Brand", role="executive"),
        "cto": UserFactory(username="cto", first_name="Carl", last_name="Tech", role="executive", side="it"),
    }


@pytest.fixture
def funded(pm, sponsors):
    """Four initiatives across both lanes and both owners' sides, odd cents, and rows outside FY2026.

    Marketing sponsors: the CMO (loyalty, app, legacy) and Bea Brand (ERP). IT sponsors: the CIO
    (loyalty, ERP) and Carl Tech (app, legacy). Legacy spends only in FY2025.
    """
    it_pm = UserFactory(username="pm.it.owner", role="pm", side="it")
    cmo, cio, brand, cto = sponsors["cmo"], sponsors["cio"], sponsors["brand"], sponsors["cto"]
    loyalty = InitiativeFactory(
        lane="fast_lane", status="in_progress", marketing_share_pct=D("62.50"), owner=pm,
        marketing_sponsor=cmo, it_sponsor=cio,
    )  # fmt: skip
    erp = InitiativeFactory(
        lane="core_stack", status="approved", marketing_share_pct=D("33.33"), owner=it_pm,
        marketing_sponsor=brand, it_sponsor=cio,
    )  # fmt: skip
    app = InitiativeFactory(
        lane="fast_lane", status="in_progress", marketing_share_pct=D("100.00"), owner=pm,
        marketing_sponsor=cmo, it_sponsor=cto,
    )  # fmt: skip
    legacy = InitiativeFactory(
        lane="core_stack", status="done", marketing_share_pct=D("50.00"), owner=it_pm,
        marketing_sponsor=cmo, it_sponsor=cto, start_date=dt.date(2025, 1, 1),
    )  # fmt: skip
    for month in (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 4, 1)):
        BudgetLineFactory(initiative=loyalty, month=month, amount=D("1000.01"))
        BudgetLineFactory(initiative=erp, month=month, amount=D("333.33"))
    BudgetLineFactory(initiative=app, month=dt.date(2026, 5, 1), amount=D("250.00"))
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 1, 9), amount=D("1500.05"), paid_by="marketing")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 2, 9), amount=D("-20.03"), paid_by="it")
    ExpenseFactory(initiative=erp, incurred_on=dt.date(2026, 4, 9), amount=D("4099.99"), paid_by="it")
    ExpenseFactory(initiative=app, incurred_on=dt.date(2026, 5, 3), amount=D("777.77"), paid_by="marketing")
    ExpenseFactory(initiative=legacy, incurred_on=dt.date(2025, 12, 9), amount=D("5000.00"), paid_by="it")
    split_recompute(trigger="command")
    cache.clear()
    return {"loyalty": loyalty, "erp": erp, "app": app, "legacy": legacy}


def _row_sums(condition: Q) -> dict[str, Decimal]:
    """The split rows' own columns, added up in Python: what every figure must equal to the cent."""
    sums = dict.fromkeys(FUNDING_COLUMNS, D("0.00"))
    for row in SplitRow.objects.filter(condition).values(*FUNDING_COLUMNS):
        for column in FUNDING_COLUMNS:
            sums[column] += row[column]
    return sums


def _get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


# --- who sees it ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("pm", 403),
        ("other_pm", 403),
        ("executive_marketing", 200),
        ("executive_it", 200),
        ("finance", 200),
        ("admin", 200),
    ],
)
def test_executives_finance_and_admins_see_the_page_product_managers_do_not(client, request, who, status):
    user = UserFactory(username="boss", role="admin", side="") if who == "admin" else request.getfixturevalue(who)

    assert _get(client, user).status_code == status


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_and_the_dashboard_link_to_the_page_only_for_those_allowed(client, pm, finance):
    client.force_login(finance)
    assert 'href="/dashboard/funding/"' in client.get("/").text
    dashboard = client.get("/dashboard/", {"fiscal_year": "FY2026", "lane": "core_stack"}).text
    assert 'href="/dashboard/funding/?fiscal_year=2026&amp;lane=core_stack"' in dashboard  # the same filters
    client.force_login(pm)
    assert "/dashboard/funding/" not in client.get("/").text


# --- the sponsor tables tie out to the split rows --------------------------------------------------


def test_each_sponsor_table_adds_up_to_the_portfolio_total_to_the_cent(funded, sponsors):
    year = _row_sums(Q(fiscal_year=FY))
    totals, tables = sponsor_figures(DashboardFilters(fiscal_year=FY))

    assert totals.amounts == year
    assert totals.initiatives == 3  # legacy spent in FY2025 only
    assert [table.side for table in tables] == ["marketing", "it"]
    for table in tables:
        assert table.totals == year, table.side
        assert table.initiatives == totals.initiatives
        for line in table.lines:
            sponsored = Q(fiscal_year=FY) & Q(**{f"initiative__{table.side}_sponsor": line.sponsor_id})
            assert line.amounts == _row_sums(sponsored), (table.side, line.name)
    for part in ("planned", "actual"):  # marketing + IT = total, in the portfolio and for every sponsor
        assert year[f"{part}_marketing"] + year[f"{part}_it"] == year[f"{part}_total"]
        for table in tables:
            for line in table.lines:
                assert line.amounts[f"{part}_marketing"] + line.amounts[f"{part}_it"] == line.amounts[f"{part}_total"]
    assert year["actual_total"] == D("1500.05") - D("20.03") + D("4099.99") + D("777.77")


def test_sponsors_are_sorted_by_actual_spend_with_their_initiative_counts(funded, sponsors):
    _, (marketing_table, it_table) = sponsor_figures(DashboardFilters(fiscal_year=FY))
    marketing, it = marketing_table.lines, it_table.lines

    # Bea Brand's ERP spent 4,099.99; the CMO's loyalty and app 1,480.02 + 777.77.
    assert [(line.name, line.initiatives) for line in marketing] == [
        ("Bea Brand", 1),
        (sponsors["cmo"].get_full_name(), 2),
    ]
    assert [line.amounts["actual_total"] for line in marketing] == [D("4099.99"), D("2257.79")]
    # The CIO's loyalty and ERP, 5,580.01; Carl Tech's app, 777.77 (legacy has no FY2026 row).
    assert [(line.name, line.initiatives) for line in it] == [(sponsors["cio"].get_full_name(), 2), ("Carl Tech", 1)]
    assert [line.amounts["actual_total"] for line in it] == [D("5580.01"), D("777.77")]


def test_the_page_shows_the_exact_figures_and_the_headlines_rounded(client, finance, funded, sponsors):
    response = _get(client, finance, fiscal_year="FY2026")
    page = response.content.decode()

    assert response.status_code == 200
    assert "Marketing sponsors" in page and "IT sponsors" in page
    assert "$4,099.99" in page and "$5,580.01" in page and "$6,357.78" in page  # exact, in the tables
    assert page.count("$6,357.78") >= 3  # both tables' totals and the note beside them
    assert '<span class="money-short" title="$6,357.78">$6.4\u00a0k</span>' in page  # the headline
    data = response.context["d"]
    assert [table.side for table in data.sponsors] == ["marketing", "it"]


def test_a_sponsor_drills_into_the_initiatives_they_sponsor_with_the_same_filters(client, finance, funded, sponsors):
    cio = sponsors["cio"]
    page = _get(client, finance, fiscal_year="FY2026", lane="core_stack").content.decode()
    link = f"/initiatives/?fiscal_year=2026&amp;lane=core_stack&amp;sponsor={cio.pk}"
    assert link in page

    listed = client.get("/initiatives/", {"fiscal_year": 2026, "lane": "core_stack", "sponsor": cio.pk}).text
    assert funded["erp"].code in listed
    assert funded["loyalty"].code not in listed and funded["app"].code not in listed


@pytest.mark.parametrize(
    ("params", "condition"),
    [
        ({"lane": "core_stack"}, Q(lane="core_stack")),
        ({"quarter": "2"}, Q(fiscal_quarter=2)),
        ({"status": "in_progress"}, Q(status="in_progress")),
        ({"side": "it"}, Q(initiative__owner__profile__side="it")),
    ],
)
def test_every_filter_changes_both_tables_and_the_totals(client, finance, funded, params, condition):
    everything = _get(client, finance, fiscal_year=FY).context["d"]
    filtered = _get(client, finance, fiscal_year=FY, **params).context["d"]
    expected = _row_sums(Q(fiscal_year=FY) & condition)

    assert filtered.totals.amounts == expected
    assert filtered.totals.amounts != everything.totals.amounts
    for table in filtered.sponsors:
        assert table.totals == expected


def test_without_a_recompute_the_page_says_so_and_shows_zeros(client, finance):
    response = _get(client, finance)

    assert response.status_code == 200
    assert "has never been computed" in response.text
    assert response.context["d"].totals.amounts["actual_total"] == D("0.00")


# --- the true-up by fiscal quarter ----------------------------------------------------------------


def _finished_run() -> None:
    """A finished run: the page's figures are cached under it (and the ledger version), as in real life."""
    now = timezone.now()
    SplitRun.objects.create(trigger="command", status="succeeded", started_at=now, finished_at=now)
    cache.clear()


def _quarters(response) -> dict[int, dict[str, Decimal]]:
    return {quarter.quarter: quarter.states for quarter in response.context["true_up"].quarters}


def test_the_true_up_per_quarter_is_its_total_until_finance_settles_then_three_states(client, pm, finance):
    books = ledger(pm=pm, finance=finance)  # July–September 2026 closed, October open
    _finished_run()

    response = _get(client, finance, fiscal_year="FY2026")
    true_up = response.context["true_up"]
    assert true_up.by_state is False
    quarters = _quarters(response)
    assert [quarters[quarter]["total"] for quarter in (1, 2, 3, 4)] == [D("0.00"), D("0.00"), D("499.99"), D("30.00")]
    for quarter in (1, 2, 3, 4):
        in_quarter = SplitRow.objects.filter(fiscal_year=2026, fiscal_quarter=quarter)
        assert quarters[quarter]["total"] == sum((row.true_up for row in in_quarter), D("0.00"))
    assert true_up.year["total"] == D("529.99")
    page = response.content.decode()
    assert "Outstanding" not in page and "Nothing has been settled yet" in page
    assert "Positive: marketing owes IT; negative: IT owes marketing." in page
    assert 'href="/finance/settlements/"' in page

    settlement = settlement_create(months=[JULY, AUGUST], reference="JE-1", by=finance)
    response = _get(client, finance, fiscal_year="FY2026")  # not a stale cached figure
    assert response.context["true_up"].by_state is True
    quarters = _quarters(response)
    assert quarters[3] == {
        "settled": D("500.00"),
        "outstanding": D("-0.01"),
        "accruing": D("0.00"),
        "total": D("499.99"),
    }
    assert quarters[4] == {"settled": D("0.00"), "outstanding": D("0.00"), "accruing": D("30.00"), "total": D("30.00")}
    for states in quarters.values():
        assert states["settled"] + states["outstanding"] + states["accruing"] == states["total"]
    assert "Outstanding" in response.content.decode()

    core = _quarters(_get(client, finance, fiscal_year="FY2026", lane="core_stack"))  # the filters apply
    assert core[3] == {"settled": D("-300.00"), "outstanding": D("-0.01"), "accruing": D("0.00"), "total": D("-300.01")}
    assert books["erp"].lane == "core_stack"
    only_q4 = _get(client, finance, fiscal_year="FY2026", quarter="Q4").context["true_up"]
    assert [quarter.quarter for quarter in only_q4.quarters] == [4] and only_q4.year["total"] == D("30.00")

    settlement_reverse(settlement=settlement, by=finance, reason="Wrong period")
    assert _get(client, finance, fiscal_year="FY2026").context["true_up"].by_state is False


def test_the_true_up_per_quarter_reuses_the_one_rule_of_the_three_states(pm, finance):
    from split.settlements import true_up_states

    ledger(pm=pm, finance=finance)
    settlement_create(months=[JULY], reference="JE-2", by=finance)

    by_quarter = true_up_by_quarter(DashboardFilters(fiscal_year=2026))
    for quarter in by_quarter.quarters:
        assert quarter.states == true_up_states({"fiscal_year": "FY2026", "quarter": quarter.quarter})
    assert by_quarter.year == true_up_states({"fiscal_year": "FY2026"})


# --- a fixed, small number of queries --------------------------------------------------------------


def _more_initiatives(count: int, pm, sponsors) -> None:
    people = list(sponsors.values())
    for number in range(count):
        initiative = InitiativeFactory(
            owner=pm,
            marketing_sponsor=people[number % 2 * 2],  # the CMO or Bea Brand
            it_sponsor=people[1 + number % 2 * 2],  # the CIO or Carl Tech
            lane="fast_lane" if number % 2 else "core_stack",
            status="in_progress",
        )
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 3, 1), amount=D("10.00"))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 3), amount=D("50.00"), paid_by="it")


def test_the_page_runs_a_fixed_number_of_queries_whatever_the_data_size(
    client, finance, pm, funded, sponsors, django_assert_max_num_queries, django_assert_num_queries
):
    """Cold (nine for finance): session, user, roles, freshness, the sponsor pairs' sums and their initiatives,
    the true-up by quarter, any settlement, profile; warm: those four come from the cache. The same at 40 more
    initiatives."""
    client.force_login(finance)
    with django_assert_max_num_queries(9) as cold:
        client.get(URL, {"fiscal_year": FY})
    with django_assert_max_num_queries(len(cold) - 4) as warm:  # the figures come from the cache
        client.get(URL, {"fiscal_year": FY})
    _more_initiatives(40, pm, sponsors)
    split_recompute(trigger="command")
    cache.clear()

    with django_assert_num_queries(len(cold)):
        large = client.get(URL, {"fiscal_year": FY, "lane": "fast_lane", "quarter": "1", "side": "marketing"})
    assert large.status_code == 200
    assert len(warm) == len(cold) - 4


def test_the_figures_are_read_from_the_latest_run_and_a_new_sponsor_shows_at_once(funded, sponsors):
    filters = DashboardFilters(fiscal_year=FY)
    first = funding(filters=filters)
    assert first.sponsors[0].lines[0].name == "Bea Brand"

    erp = funded["erp"]
    erp.marketing_sponsor = sponsors["cmo"]
    erp.save()  # recorded in the initiatives' history: the cached tables are read again

    again = funding(filters=filters)
    assert [line.name for line in again.sponsors[0].lines] == [sponsors["cmo"].get_full_name()]
    assert again.sponsors[0].totals == first.sponsors[0].totals
