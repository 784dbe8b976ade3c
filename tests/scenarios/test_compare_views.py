"""The comparison page and its downloads (PRODUCT.md §3a): who sees them, the figures, the limits, the exports."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from portfolio import fiscal
from scenarios import services
from split.services import split_recompute
from tests.factories import BudgetLineFactory

from .conftest import month

pytestmark = pytest.mark.django_db


@pytest.fixture
def compared(executive_marketing, loyalty, scenario):
    """Loyalty (60 % marketing) plans 1,000.00 next month; the scenario gives marketing 70 % from then on."""
    BudgetLineFactory(initiative=loyalty, month=month(1), amount=Decimal("1000.00"))
    split_recompute(trigger="command")
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=loyalty, kind="share",
        from_month=month(1), marketing_share_pct=Decimal("70.00"),
    )  # fmt: skip
    return {"fiscal_year": fiscal.fiscal_year(month(1)), "scenarios": scenario.pk}


def flat(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_pm_cannot_compare(client, pm, compared):
    client.force_login(pm)
    assert client.get("/scenarios/compare/", compared).status_code == 403
    assert client.get("/scenarios/compare.csv", compared).status_code == 403


def test_the_page_shows_the_live_plan_beside_the_scenario_to_the_cent(
    client, executive_it, scenario, loyalty, compared
):
    client.force_login(executive_it)  # not the author: every executive and finance reads it
    response = client.get("/scenarios/compare/", compared)

    assert response.status_code == 200
    text = flat(response)
    live, changed = response.context["result"].columns
    assert (live.overall.planned_marketing, changed.overall.planned_marketing) == (Decimal("600.00"), Decimal("700.00"))
    assert "$600.00" in text and "$700.00" in text and "$300.00" in text  # planned marketing / IT, exact
    assert "70.0" in text  # marketing's share of plan under the scenario
    assert loyalty.code in text  # among the initiatives that differ
    assert 'width="70.00%"' in text  # the chart: marketing's part of the scenario's plan


def test_more_than_three_scenarios_are_refused_naming_the_field(client, executive_marketing, compared):
    more = [services.scenario_create(by=executive_marketing, name=f"S{number}").pk for number in range(3)]
    client.force_login(executive_marketing)
    response = client.get("/scenarios/compare/", {**compared, "scenarios": [compared["scenarios"], *more]})
    assert response.status_code == 400
    assert "Compare at most 3 scenarios" in response.content.decode()


def test_the_downloads_carry_the_page_s_figures(client, finance, compared, scenario):
    client.force_login(finance)
    rows = list(csv.DictReader(io.StringIO(client.get("/scenarios/compare.csv", compared).content.decode())))
    assert rows, "the CSV has rows"
    assert any("700.00" in row.values() for row in rows) and any("600.00" in row.values() for row in rows)
    xlsx = client.get("/scenarios/compare.xlsx", compared)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"  # a zip: the workbook
    assert "attachment" in xlsx["Content-Disposition"]
