"""Every dashboard filter reaches every panel it can, or the panel says it does not (issue 18).

The quarter narrows the initiative list (initiatives active in it), so the status counts,
the at-risk list (overspend over the quarter to date) and every drill-down follow it, as
the split figures (headline, charts, true-up, forecast, variances, trend) always did.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from dashboard.figures import at_risk_initiatives, initiative_counts
from dashboard.filters import DashboardFilters
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal
FY = 2026
TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def quarters(pm, executive_marketing, executive_it):
    """One initiative over plan in Q1 only (within plan over the year), one active in Q3 only."""
    people = {"owner": pm, "marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    year_long = InitiativeFactory(
        lane="fast_lane", status="in_progress", health="green", marketing_share_pct=D("60.00"), **people
    )
    BudgetLineFactory(initiative=year_long, month=dt.date(2026, 1, 1), amount=D("1000.00"))
    BudgetLineFactory(initiative=year_long, month=dt.date(2026, 4, 1), amount=D("2000.00"))
    ExpenseFactory(initiative=year_long, incurred_on=dt.date(2026, 1, 9), amount=D("1500.00"), paid_by="marketing")
    ExpenseFactory(initiative=year_long, incurred_on=dt.date(2026, 4, 9), amount=D("1000.00"), paid_by="it")
    summer = InitiativeFactory(
        lane="core_stack",
        status="approved",
        health="amber",
        marketing_share_pct=D("20.00"),
        start_date=dt.date(2026, 7, 1),
        end_date=dt.date(2026, 9, 30),
        **people,
    )
    BudgetLineFactory(initiative=summer, month=dt.date(2026, 7, 1), amount=D("500.00"))
    ExpenseFactory(initiative=summer, incurred_on=dt.date(2026, 7, 9), amount=D("100.00"), paid_by="it")
    split_recompute(trigger="command")
    return {"year_long": year_long, "summer": summer}


def page(client, user, **params):
    client.force_login(user)
    return client.get("/dashboard/", params)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_initiative_list_narrows_to_the_initiatives_active_in_a_fiscal_quarter(client, finance, quarters):
    client.force_login(finance)

    def listed(**params) -> set[str]:
        return set(re.findall(r"INI-\d{4}", client.get("/initiatives/", params).text))

    year_long, summer = quarters["year_long"].code, quarters["summer"].code
    assert listed(fiscal_year=FY) == {year_long, summer}
    assert listed(fiscal_year=FY, quarter="1") == {year_long}
    assert listed(fiscal_year="FY2026", quarter="Q3") == {year_long, summer}  # the export's spellings too
    assert listed(fiscal_year=FY + 1, quarter="1") == set()
    # The first day of a quarter and the last day of one overlap it.
    InitiativeFactory(code="INI-0900", start_date=dt.date(2026, 3, 31), end_date=dt.date(2026, 3, 31))
    assert "INI-0900" in listed(fiscal_year=FY, quarter="Q1") and "INI-0900" not in listed(fiscal_year=FY, quarter=2)
    response = client.get("/initiatives/", {"fiscal_year": FY, "quarter": "Q9"})
    assert response.status_code == 200 and "Quarter:" in response.text  # refused in words, not a crash


def test_status_counts_and_at_risk_follow_the_quarter_with_overspend_over_the_quarter_to_date(finance, quarters):
    year = DashboardFilters(fiscal_year=FY)
    q1 = DashboardFilters(fiscal_year=FY, quarter=1)
    q3 = DashboardFilters(fiscal_year=FY, quarter=3)

    # Only the initiatives active in the quarter count.
    assert initiative_counts(year, user=finance, today=TODAY).by_status["approved"] == 1
    assert initiative_counts(q1, user=finance, today=TODAY).by_status["approved"] == 0
    assert initiative_counts(q1, user=finance, today=TODAY).total == 1
    # 1,500 spent of 1,000 planned in Q1 is over plan; 2,500 of 3,000 over the year to date is not.
    assert initiative_counts(year, user=finance, today=TODAY).at_risk == 0
    assert initiative_counts(q1, user=finance, today=TODAY).overspent == 1
    [listed] = at_risk_initiatives(q1, user=finance, today=TODAY)
    assert (listed.code, listed.ytd_planned, listed.ytd_actual) == (quarters["year_long"].code, D("1000"), D("1500"))
    assert (listed.variance, listed.variance_pct) == (D("-500.00"), D("-50"))
    assert at_risk_initiatives(year, user=finance, today=TODAY) == []
    assert at_risk_initiatives(q3, user=finance, today=TODAY) == []
    # A quarter not begun has no month to date: nothing is overspent in it yet.
    assert DashboardFilters(fiscal_year=FY, quarter=2).overspend_months(dt.date(2026, 3, 5)) is None
    assert q1.overspend_months(dt.date(2026, 2, 5)) == (dt.date(2026, 1, 1), dt.date(2026, 2, 1))


def test_every_panel_changes_with_the_quarter_or_says_it_does_not_apply(client, executive_it, quarters):
    year = page(client, executive_it, fiscal_year=FY)
    q1 = page(client, executive_it, fiscal_year=FY, quarter="Q1")
    whole, quarter = year.context, q1.context

    # Headline cards, the monthly and lane charts, the forecast table: the split rows of the quarter.
    assert whole["rollup"].totals["actual_total"] == D("2600.00")
    assert quarter["rollup"].totals["actual_total"] == D("1500.00")
    assert [month for month, _ in quarter["rollup"].by_month] == [dt.date(2026, m, 1) for m in (1, 2, 3)]
    assert quarter["charts"]["lanes"][0]["actual"] != whole["charts"]["lanes"][0]["actual"]
    assert [row["forecast"] for row in quarter["forecast_rows"]] != [row["forecast"] for row in whole["forecast_rows"]]
    # The true-up: marketing owes IT 60 % of Q1's 1,500 paid by marketing → IT owes marketing 600.
    assert quarter["true_up"]["total"] == D("-600.00") and whole["true_up"]["total"] != D("-600.00")
    # The largest variances: the quarter's planned − actual.
    assert [row["variance"] for row in quarter["d"].variances] == [D("-500.00")]
    assert len(whole["d"].variances) == 2
    # Status counts and at risk: the initiatives active in the quarter, overspend over the quarter to date.
    assert (whole["counts"].total, quarter["counts"].total) == (2, 1)
    assert (whole["counts"].at_risk, quarter["counts"].at_risk) == (0, 1)
    assert 'href="/initiatives/?fiscal_year=2026&amp;quarter=1&amp;status=in_progress"' in q1.text
    text = flat(q1.text)
    assert "more than 10 % over plan in FY2026 Q1 (January – March 2026)" in text
    assert "Over plan &gt; 10 % in FY2026 Q1" in text
    assert "50.0 % over plan" in text  # the at-risk row (spaces flattened): variance −$500.00, its size in words
    # The share trend: the run history's sums of the quarter.
    assert quarter["d"].trend[-1].actual_total == D("1500.00") != whole["d"].trend[-1].actual_total
    # Waiting for your decision: not filtered, and it says so.
    assert "Not filtered by year, quarter, lane, side or status: every decision that waits for you." in text


def test_headline_amounts_are_rounded_with_the_exact_figure_on_hover_tables_keep_cents(client, finance, quarters):
    ExpenseFactory(initiative=quarters["year_long"], incurred_on=dt.date(2026, 5, 9), amount=D("14905953.87"))
    split_recompute(trigger="command")

    response = page(client, finance, fiscal_year=FY)
    text = response.text

    headline = text[text.index('aria-label="Headline figures"') : text.index('id="forecast"')]
    assert '<span class="money-short" title="$14,908,553.87">$14.9\u00a0M</span>' in headline
    assert "$14,908,553.87<" not in headline  # only on hover
    table = text[text.index('id="forecast"') : text.index('id="h-status"')]
    assert "$14,908,553.87" in table and "money-short" not in table
    charts = response.context["charts"]
    assert charts["lanes_total"] == "$14.9\u00a0M" and charts["lanes_total_exact"] == "$14,908,553.87"
    assert charts["currency_prefix"] == "$"
    assert charts["variances"][0]["short"] == "\u2212$14.9\u00a0M"
    assert charts["variances"][0]["text"] == "\u2212$14,905,453.87"
