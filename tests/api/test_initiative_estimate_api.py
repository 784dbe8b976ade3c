"""`/api/initiatives/`: the estimate (required to submit, a field error) and `estimate_at_completion`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from initiatives.choices import Status
from initiatives.models import Initiative
from split import rebuild
from split.services import split_recompute
from tests.factories import FAST_LANE_ANSWERS, BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db

D = Decimal
MISSING = "Enter the estimated cost before submitting: both sponsors decide with it in view."


@pytest.fixture
def filing(executive_marketing, executive_it):
    return {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases by 10 % with a rewards app.",
        "marketing_sponsor": executive_marketing.username,
        "it_sponsor": executive_it.username,
        "lane": "fast_lane",
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "60.00",
        "lane_assessment": dict(FAST_LANE_ANSWERS),
    }


def test_a_draft_filed_without_estimate_cannot_be_submitted_a_field_error_says_why(api, pm, filing):
    client = api(pm)
    body = client.post("/api/initiatives/", filing, format="json").json()
    assert body["estimated_cost"] is None
    response = client.post(f"/api/initiatives/{body['code']}/submit/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"estimated_cost": [MISSING]}
    assert Initiative.objects.get(code=body["code"]).status == Status.DRAFT

    patched = client.patch(f"/api/initiatives/{body['code']}/", {"estimated_cost": "500000.5"}, format="json")
    assert (patched.status_code, patched.json()["estimated_cost"]) == (200, "500000.50")
    submitted = client.post(f"/api/initiatives/{body['code']}/submit/", {}, format="json")
    assert (submitted.status_code, submitted.json()["status"]) == (200, "submitted")


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("-0.01", "The estimated cost cannot be negative."),
        ("12.345", "Ensure that there are no more than 2 decimal places."),
        ("cheap", "A valid number is required."),
    ],
)
def test_a_bad_estimate_is_a_field_error(api, pm, filing, given, error):
    response = api(pm).post("/api/initiatives/", {**filing, "estimated_cost": given}, format="json")
    assert response.status_code == 400
    assert response.json() == {"estimated_cost": [error]}
    assert not Initiative.objects.exists()


def test_patching_other_fields_keeps_the_estimate(api, pm, filing):
    client = api(pm)
    code = client.post("/api/initiatives/", {**filing, "estimated_cost": "750000"}, format="json").json()["code"]
    response = client.patch(f"/api/initiatives/{code}/", {"title": "Loyalty app 2.0"}, format="json")
    assert response.json()["estimated_cost"] == "750000.00"


def test_estimate_at_completion_is_the_sum_of_the_forecast_of_its_split_rows(
    api, monkeypatch, executive_it, pm, other_pm
):
    """As of May 2026: earlier months count their actuals, May and later max(plan, actual)."""
    initiative = InitiativeFactory(
        owner=pm,
        status=Status.IN_PROGRESS,
        start_date=dt.date(2026, 2, 1),
        end_date=dt.date(2026, 9, 30),
        estimated_cost=D("4000.00"),
    )
    plan = {2: "1000.00", 3: "1000.00", 5: "1000.00", 6: "500.00"}
    actual = {2: "800.00", 3: "1200.00", 5: "300.00", 7: "700.00"}
    for month, amount in plan.items():
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, month, 1), amount=D(amount))
    for month, amount in actual.items():
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, month, 10), amount=D(amount))
    monkeypatch.setattr(rebuild, "as_of_month_now", lambda: dt.date(2026, 5, 1))
    split_recompute(trigger="command")

    body = api(executive_it).get(f"/api/initiatives/{initiative.code}/").json()
    # Feb 800 (actual) + Mar 1,200 (actual) + May max(1,000, 300) + Jun max(500, 0) + Jul max(0, 700) = 4,200.00
    assert (body["estimated_cost"], body["estimate_at_completion"]) == ("4000.00", "4200.00")
    assert api(pm).get(f"/api/initiatives/{initiative.code}/").json()["estimate_at_completion"] == "4200.00"
    # Another PM sees the initiative but not its finances.
    assert api(other_pm).get(f"/api/initiatives/{initiative.code}/").json()["estimate_at_completion"] is None
    # The list carries the estimate, not the forecast (one query per page, not per initiative).
    [row] = api(executive_it).get("/api/initiatives/").json()["results"]
    assert row["estimated_cost"] == "4000.00" and "estimate_at_completion" not in row


def test_estimate_at_completion_is_zero_without_split_rows(api, executive_it):
    initiative = InitiativeFactory(status=Status.APPROVED, estimated_cost=None)
    body = api(executive_it).get(f"/api/initiatives/{initiative.code}/").json()
    assert (body["estimated_cost"], body["estimate_at_completion"]) == (None, "0.00")
