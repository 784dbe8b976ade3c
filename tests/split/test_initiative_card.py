"""The initiative page's budget-and-actuals card: the estimate at completion beside the estimate and the plan.

Hand-computed, as of November 2026 (marketing 60 %, estimate 1,800.00):
  month     plan      actual    forecast
  2026-09   400.00      0.00       0.00   past: its actual
  2026-10  1000.00   1200.00    1200.00   past: its actual
  2026-11   500.00    100.00     500.00   current: max(plan, actual)
  2026-12   300.00      0.00     300.00   later: max(plan, actual)
  whole    2200.00   1300.00    2000.00   → 200.00 under the plan, 200.00 over the estimate
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def running(monkeypatch, pm, executive_marketing, executive_it):
    monkeypatch.setattr("split.rebuild.as_of_month_now", lambda: dt.date(2026, 11, 1))
    initiative = InitiativeFactory(
        owner=pm,
        marketing_sponsor=executive_marketing,
        it_sponsor=executive_it,
        status="in_progress",
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2026, 12, 31),
        estimated_cost=D("1800.00"),
    )
    for month, plan, actual in (
        (9, "400.00", None),
        (10, "1000.00", "1200.00"),
        (11, "500.00", "100.00"),
        (12, "300.00", None),
    ):
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, month, 1), amount=D(plan))
        if actual:
            ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, month, 9), amount=D(actual))
    split_recompute(trigger="command")
    return initiative


def _card(client, user, initiative) -> str:
    client.force_login(user)
    text = client.get(reverse("initiatives:detail", args=[initiative.code])).content.decode()
    return text[text.index('id="h-finance"') : text.index("</section>", text.index('id="h-finance"'))]


@pytest.mark.parametrize("who", ["pm", "executive_it", "finance"])
def test_the_card_shows_the_estimate_at_completion_beside_the_estimate_and_the_plan(client, request, running, who):
    card = _card(client, request.getfixturevalue(who), running)

    labels = ["Estimate (USD)", "1,800.00", "Planned (USD)", "2,200.00", "Actual (USD)", "1,300.00"]
    labels += ["At completion (USD)", "2,000.00"]
    positions = [card.index(text) for text in labels]
    assert positions == sorted(positions)
    assert (
        'Estimate at completion: 200.00 under the plan; <span class="text-danger">200.00 over the estimate</span>.'
        in card
    )


def test_the_card_reads_the_estimate_at_completion_from_the_split_rows(client, finance, running):
    client.force_login(finance)
    response = client.get(reverse("initiatives:detail", args=[running.code]))

    completion = response.context["completion"]
    assert (completion["estimated_cost"], completion["planned"], completion["at_completion"]) == (
        D("1800.00"),
        D("2200.00"),
        D("2000.00"),
    )
    assert (completion["variance_at_completion"], completion["over_estimate"]) == (D("200.00"), D("200.00"))


def test_without_an_estimate_the_card_says_so_and_a_forecast_over_the_plan_is_flagged(client, finance, running):
    running.estimated_cost = None
    running.save(update_fields=["estimated_cost"])
    ExpenseFactory(initiative=running, incurred_on=dt.date(2026, 12, 2), amount=D("700.00"))  # December: 700 > 300
    split_recompute(trigger="command")

    card = _card(client, finance, running)

    # 1,200.00 + 500.00 + 700.00 = 2,400.00 at completion: 200.00 over the plan of 2,200.00.
    assert 'title="The PM has not estimated the whole cost">none</span>' in card
    assert '<div class="value money text-danger">2,400.00</div>' in card
    assert 'Estimate at completion: <span class="text-danger">200.00 over the plan</span>.' in card
