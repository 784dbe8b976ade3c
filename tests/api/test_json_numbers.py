"""Money and percentages sent as JSON numbers are read exactly (issue 14 §6, `portfolio.api.JSONParser`).

A JSON number used to be parsed as a float: `100.0000000000000000001` became 100.0 and was
stored as 100.00, `1e-400` became 0. Bodies here are raw JSON text, as a client sends
them: building them from Python floats would round them before the request is made.
Every write with money or a percentage gets every hostile number in
tests/api/test_schemathesis.py; these pin what is stored, or that nothing is.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from budgets.models import BudgetLine, Expense, FxRate
from initiatives.models import Initiative
from tests.api.test_budgets_api import expense_body
from tests.factories import FAST_LANE_ANSWERS as ANSWERS
from tests.factories import BudgetLineFactory, FxRateFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


def post_raw(client, url: str, body: dict | list, **numbers: str):
    """POST `body` as JSON with each of `numbers` spliced in as a raw JSON literal (never through a float)."""
    text = json.dumps(body)
    for name, literal in numbers.items():
        text = text.replace(f'"@{name}"', literal)
    return client.generic("POST", url, text, content_type="application/json")


@pytest.fixture
def filing(executive_marketing, executive_it):
    return {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases with a rewards app.",
        "marketing_sponsor": executive_marketing.username,
        "it_sponsor": executive_it.username,
        "lane": "fast_lane",
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "@share",
        "lane_assessment": dict(ANSWERS),
    }


def test_a_share_with_more_places_than_two_is_refused_not_rounded(api, pm, filing):
    response = post_raw(api(pm), "/api/initiatives/", filing, share="100.0000000000000000001")

    assert response.status_code == 400
    assert list(response.json()) == ["marketing_share_pct"]
    assert not Initiative.objects.exists()


def test_a_share_sent_as_a_json_number_is_kept_exactly(api, pm, filing):
    response = post_raw(api(pm), "/api/initiatives/", filing, share="55.5")

    assert response.status_code == 201, response.json()
    assert Initiative.objects.get().marketing_share_pct == Decimal("55.50")
    assert response.json()["marketing_share_pct"] == "55.50"


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        # The amount rule's own words (budgets/amounts.py), as in the forms and the importers.
        ("1e-400", "An amount has at most two decimal places (cents)."),  # 400 places
        ("1e400", "That amount is too large."),
        ("12.345", "An amount has at most two decimal places (cents)."),
        ("1" + "0" * 5000, "String value too large."),  # past int()'s digit limit: still the field's message
        ("true", "A valid number is required."),
    ],
    ids=["tiny", "huge", "three-places", "5001-digits", "boolean"],
)
def test_an_amount_the_field_cannot_hold_is_refused_by_name(api, finance, pm, literal, message):
    line = BudgetLineFactory(initiative=InitiativeFactory(owner=pm, status="approved"), amount=Decimal("900.00"))

    response = api(finance).generic(
        "PATCH", f"/api/budget-lines/{line.pk}/", f'{{"amount": {literal}}}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"amount": [message]}
    line.refresh_from_db()
    assert line.amount == Decimal("900.00")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, finance, pm, literal):
    initiative = InitiativeFactory(owner=pm, status="approved")
    body = {"initiative": initiative.code, "month": "2026-03", "category": "labor", "amount": "@amount"}

    response = post_raw(api(finance), "/api/budget-lines/", body, amount=literal)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert not BudgetLine.objects.exists()


def test_a_list_of_expenses_with_one_over_precise_amount_saves_none(api, finance, pm):
    initiative = InitiativeFactory(owner=pm, status="approved")
    FxRateFactory(currency="EUR", month=dt.date(2026, 3, 1), rate=Decimal("1.1"))
    good, bad = expense_body(initiative, amount="@good"), expense_body(initiative, amount="@bad")

    response = post_raw(api(finance), "/api/expenses/", [good, bad], good="1250.5", bad="12.005")

    assert response.status_code == 400
    assert response.json() == {"1": {"amount": ["An amount has at most two decimal places (cents)."]}}
    assert not Expense.objects.exists()

    response = post_raw(api(finance), "/api/expenses/", [good], good="1250.5")

    assert response.status_code == 201
    assert Expense.objects.get().amount == Decimal("1250.50")


def test_an_fx_rate_keeps_eight_places_and_refuses_a_ninth(api, finance):
    body = {"currency": "EUR", "month": "2026-03", "rate": "@rate"}

    refused = post_raw(api(finance), "/api/fx-rates/", body, rate="1.085000001")
    kept = post_raw(api(finance), "/api/fx-rates/", body, rate="1.08500001")

    assert refused.status_code == 400
    assert list(refused.json()) == ["rate"]
    assert kept.status_code == 201
    assert FxRate.objects.get().rate == Decimal("1.08500001")
