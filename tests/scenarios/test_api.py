"""`/api/scenarios/` (PRODUCT.md §3a): who reads and writes, field errors, changes, propose, comparison."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from initiatives import services as initiative_services
from initiatives.models import InitiativeChangeProposal
from portfolio import fiscal
from scenarios import services
from scenarios.models import Scenario, ScenarioChange
from split.models import SplitRow
from split.services import split_recompute
from tests.api.conftest import NO_LIMITS, rest_framework_with, token_client
from tests.factories import BudgetLineFactory

from .conftest import month

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttling(settings):
    rest_framework_with(settings, DEFAULT_THROTTLE_RATES=NO_LIMITS)
    cache.clear()


def _url(scenario=None, tail=""):
    return f"/api/scenarios/{scenario.pk}/{tail}" if scenario is not None else f"/api/scenarios/{tail}"


# --- who ----------------------------------------------------------------------------------------------


def test_a_pm_gets_403_everywhere(pm, scenario):
    client = token_client(pm)
    assert client.get(_url()).status_code == 403
    assert client.get(_url(scenario)).status_code == 403
    assert client.post(_url(), {"name": "Mine"}, format="json").status_code == 403
    assert client.get(_url(tail="comparison/"), {"fiscal_year": "2027"}).status_code == 403
    assert client.delete(_url(scenario)).status_code == 403
    assert Scenario.objects.count() == 1


def test_executives_and_finance_read_all_only_the_author_writes(scenario, executive_it, finance, loyalty):
    for user in (executive_it, finance):
        client = token_client(user)
        listed = client.get(_url()).json()
        assert [row["name"] for row in listed["results"]] == ["Marketing leads loyalty"]
        assert client.get(_url(scenario)).json()["author"] == "cmo"
        refused = client.patch(_url(scenario), {"name": "Mine now"}, format="json")
        assert (refused.status_code, refused.json()) == (403, {"detail": "Only the scenario's author can change it."})
        changes = {"initiative": loyalty.code, "kind": "lane", "lane": "core_stack"}
        assert client.post(_url(scenario, "changes/"), changes, format="json").status_code == 403
        assert client.post(_url(scenario, "propose/"), {"reason": "x"}, format="json").status_code == 403
        assert client.delete(_url(scenario)).status_code == 403
    assert Scenario.objects.get().name == "Marketing leads loyalty"
    assert not ScenarioChange.objects.exists()


def test_the_author_creates_renames_and_deletes(executive_marketing):
    client = token_client(executive_marketing)
    created = client.post(_url(), {"name": "Plan B", "description": "What if"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["author"], body["changes"]) == ("Plan B", "cmo", [])
    assert created["Location"].endswith(f"/api/scenarios/{body['id']}/")
    scenario = Scenario.objects.get(pk=body["id"])
    assert client.patch(_url(scenario), {"name": "Plan C"}, format="json").json()["name"] == "Plan C"
    assert client.delete(_url(scenario)).status_code == 204
    assert not Scenario.objects.exists()


# --- validation ---------------------------------------------------------------------------------------


def test_field_errors_are_400_naming_the_field(scenario, executive_marketing, loyalty):
    client = token_client(executive_marketing)
    assert client.post(_url(), {"name": " "}, format="json").json() == {"name": ["This field may not be blank."]}
    duplicate = client.post(_url(), {"name": "Marketing leads loyalty"}, format="json")
    assert duplicate.json() == {"name": ["You already have a scenario with this name."]}
    cases = [
        ({"kind": "share", "from_month": month(1).strftime("%Y-%m"), "marketing_share_pct": "100.01"},
         "marketing_share_pct"),
        ({"kind": "share", "from_month": month(1).strftime("%Y-%m"), "marketing_share_pct": "1.234"},
         "marketing_share_pct"),
        ({"kind": "share", "marketing_share_pct": "50"}, "from_month"),
        ({"kind": "exclude", "from_month": month(20).strftime("%Y-%m")}, "from_month"),
        ({"kind": "exclude", "from_month": "2026-13"}, "from_month"),
        ({"kind": "scale", "from_month": month(0).strftime("%Y-%m"), "plan_scale_pct": "-1"}, "plan_scale_pct"),
        ({"kind": "lane", "lane": "sideways"}, "lane"),
        ({"kind": "grow"}, "kind"),
    ]  # fmt: skip
    for body, field in cases:
        response = client.post(_url(scenario, "changes/"), {"initiative": loyalty.code, **body}, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field], (body, response.json())
    unknown = client.post(
        _url(scenario, "changes/"), {"initiative": "INI-9999", "kind": "lane", "lane": "core_stack"}, format="json"
    )
    assert list(unknown.json()) == ["initiative"]
    assert not ScenarioChange.objects.exists()


# --- changes and propose ------------------------------------------------------------------------------


def test_changes_are_added_shown_and_removed_as_decimal_strings(scenario, executive_marketing, loyalty):
    client = token_client(executive_marketing)
    body = {"initiative": loyalty.code, "kind": "share", "from_month": month(2).strftime("%Y-%m"),
            "marketing_share_pct": "70.5"}  # fmt: skip
    added = client.post(_url(scenario, "changes/"), body, format="json")
    assert added.status_code == 201
    change = added.json()
    assert (change["marketing_share_pct"], change["from_month"], change["proposal_state"]) == (
        "70.50",
        month(2).strftime("%Y-%m"),
        "not_proposed",
    )
    assert client.get(_url(scenario)).json()["changes"] == [change]
    other = client.delete(_url(scenario, f"changes/{change['id'] + 1000}/"))
    assert other.status_code == 404
    assert client.delete(_url(scenario, f"changes/{change['id']}/")).status_code == 204
    assert not ScenarioChange.objects.exists()


def test_propose_makes_the_proposals_which_approved_become_agreements(
    scenario, executive_marketing, executive_it, finance, loyalty, cdp, draft
):
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=loyalty, kind="share",
        from_month=month(3), marketing_share_pct="75",
    )  # fmt: skip
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=cdp, kind="lane", lane="core_stack"
    )
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=draft, kind="lane", lane="core_stack"
    )
    client = token_client(executive_marketing)
    assert list(client.post(_url(scenario, "propose/"), {"reason": ""}, format="json").json()) == ["reason"]
    response = client.post(_url(scenario, "propose/"), {"reason": "Marketing leads"}, format="json")
    assert response.status_code == 201
    body = response.json()
    made = {p["initiative"]: (p["marketing_share_pct"], p["effective_from"], p["lane"]) for p in body["proposals"]}
    assert made == {loyalty.code: ("75.00", month(3).isoformat(), ""), cdp.code: (None, None, "core_stack")}
    assert [row["initiative"] for row in body["not_proposed"]] == [draft.code]
    assert InitiativeChangeProposal.objects.count() == 2

    for proposal in InitiativeChangeProposal.objects.all():
        initiative_services.change_proposal_approve(proposal=proposal, by=executive_it)
    loyalty.refresh_from_db()
    cdp.refresh_from_db()
    agreement = loyalty.agreements.order_by("effective_from").last()
    assert (agreement.effective_from, agreement.marketing_share_pct) == (month(3), Decimal("75.00"))
    assert cdp.lane == "core_stack"
    states = {c["initiative"]: c["proposal_state"] for c in client.get(_url(scenario)).json()["changes"]}
    assert states == {loyalty.code: "approved", cdp.code: "approved", draft.code: "not_proposed"}


def test_finance_is_told_it_may_not_propose(finance, loyalty):
    scenario = services.scenario_create(by=finance, name="Finance")
    services.scenario_change_set(scenario=scenario, by=finance, initiative=loyalty, kind="lane", lane="core_stack")
    response = token_client(finance).post(_url(scenario, "propose/"), {"reason": "Go"}, format="json")
    assert response.status_code == 403
    assert "finance cannot" in response.json()["detail"]


# --- comparison ---------------------------------------------------------------------------------------


def test_comparison_refuses_bad_parameters_naming_them(scenario, finance):
    client = token_client(finance)
    url = _url(tail="comparison/")
    assert list(client.get(url).json()) == ["fiscal_year"]
    assert list(client.get(url, {"fiscal_year": "20x7"}).json()) == ["fiscal_year"]
    assert list(client.get(url, {"fiscal_year": "2027", "with": "1;2"}).json()) == ["with"]
    assert list(client.get(url, {"fiscal_year": "2027", "with": "1,2,3,4"}).json()) == ["with"]
    missing = client.get(url, {"fiscal_year": "FY2027", "with": f"{scenario.pk},{scenario.pk + 99}"})
    assert missing.json() == {"with": [f"No scenario you can see has the id {scenario.pk + 99}."]}


def test_comparison_answers_the_engine_s_figures_as_decimal_strings(
    scenario, executive_marketing, executive_it, loyalty
):
    BudgetLineFactory(initiative=loyalty, month=month(1), amount=Decimal("1000.00"))
    split_recompute(trigger="command")
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=loyalty, kind="share",
        from_month=month(1), marketing_share_pct=Decimal("70.00"),
    )  # fmt: skip
    year = fiscal.fiscal_year(month(1))

    response = token_client(executive_it).get(_url(tail="comparison/"), {"fiscal_year": year, "with": scenario.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    live, changed = body["columns"]
    assert (live["label"], live["scenario"], changed["scenario"]) == ("Live plan", None, scenario.pk)
    assert changed["overall"]["planned_total"] == live["overall"]["planned_total"]  # a share moves no money
    assert isinstance(changed["overall"]["planned_marketing"], str)  # decimal strings, never floats
    # 1,000.00 planned: live at the approved 60 % (600.00 / 400.00), the scenario at 70 % (700.00 / 300.00).
    assert (live["overall"]["planned_marketing"], live["overall"]["planned_it"]) == ("600.00", "400.00")
    assert (changed["overall"]["planned_marketing"], changed["overall"]["planned_it"]) == ("700.00", "300.00")
    assert SplitRow.objects.get(initiative=loyalty, month=month(1)).planned_marketing == Decimal("600.00")
    assert [d["code"] for d in body["differences"]] == [loyalty.code]
