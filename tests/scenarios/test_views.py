"""The scenario pages (PRODUCT.md §3a): who sees them, the forms' errors, propose from the page."""

from __future__ import annotations

import pytest

from initiatives.models import InitiativeChangeProposal
from scenarios.models import Scenario, ScenarioChange

from .conftest import month

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def test_a_pm_cannot_see_the_pages_nor_the_menu_entry(client, pm, scenario):
    _client(client, pm)
    assert client.get("/scenarios/").status_code == 403
    assert client.get(f"/scenarios/{scenario.pk}/").status_code == 403
    assert "What-if scenarios" not in client.get("/").content.decode()


def test_executives_and_finance_see_every_scenario_and_the_menu(client, finance, executive_it, scenario):
    for user in (finance, executive_it):
        _client(client, user)
        listed = client.get("/scenarios/").content.decode()
        assert "Marketing leads loyalty" in listed and "What-if scenarios" in listed
        page = client.get(f"/scenarios/{scenario.pk}/").content.decode()
        assert "Save the change" not in page  # not the author: no forms
        assert client.post(f"/scenarios/{scenario.pk}/propose/", {"reason": "x"}).status_code == 403


def test_create_add_a_change_with_errors_next_to_the_field_and_propose(client, executive_marketing, loyalty):
    _client(client, executive_marketing)
    created = client.post("/scenarios/", {"name": "Plan B"})
    scenario = Scenario.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/scenarios/{scenario.pk}/"
    refused = client.post(
        f"/scenarios/{scenario.pk}/changes/",
        {"initiative": loyalty.code, "kind": "share", "from_month": month(1).strftime("%Y-%m"),
         "marketing_share_pct": "120"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "Marketing&#x27;s share must be between 0 and 100 %." in refused.content.decode()
    saved = client.post(
        f"/scenarios/{scenario.pk}/changes/",
        {"initiative": loyalty.code, "kind": "share", "from_month": month(1).strftime("%Y-%m"),
         "marketing_share_pct": "70"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert client.post(f"/scenarios/{scenario.pk}/propose/", {"reason": "Marketing leads"}).status_code == 302
    proposal = InitiativeChangeProposal.objects.get()
    assert ScenarioChange.objects.get().proposal == proposal
    assert 'data-state="pending"' in client.get(f"/scenarios/{scenario.pk}/").content.decode()


def test_a_change_not_yet_proposed_says_so_in_words(client, executive_marketing, scenario, loyalty):
    from scenarios import services

    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=loyalty, kind="lane", lane="core_stack"
    )
    page = _client(client, executive_marketing).get(f"/scenarios/{scenario.pk}/").content.decode()
    assert 'data-state="not_proposed">Not proposed</span>' in page
