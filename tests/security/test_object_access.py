"""A user who guesses URLs or API ids of records they may not see learns nothing.

The rule (portfolio/policy.py decides, every view asks it):
- a record the user may not see answers 404, exactly like a record that does not exist
  (another PM's draft: its page, edit form, actions, budget grid; its API detail);
- a page of a role the user does not have answers 403 whatever id is in the URL, so the
  status never tells whether that id exists (finance pages, expense, FX-rate and lock ids);
- an initiative the user *may* see but whose finances they may not (another PM's submitted
  initiative) answers 403 on its budget grid: its code is on the list anyway, nothing leaks.

The API's full role × endpoint table is tests/api/test_permissions.py.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from initiatives.models import InitiativeChangeProposal
from tests.factories import (
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    PeriodLockFactory,
)

MISSING_CODE = "INI-9999"
MISSING_ID = 999_999


@pytest.fixture
def world(pm, other_pm, executive_marketing, executive_it, finance):
    sponsors = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    others_draft = InitiativeFactory(owner=other_pm, status="draft", **sponsors)
    others_submitted = InitiativeFactory(owner=other_pm, status="submitted", **sponsors)
    others_running = InitiativeFactory(owner=other_pm, status="in_progress", **sponsors)
    proposal = InitiativeChangeProposal.objects.create(
        initiative=others_running, proposed_by=executive_marketing, reason="Shift the share", lane="core_stack"
    )
    return {
        "pm": pm,
        "finance": finance,
        "others_draft": others_draft,
        "others_submitted": others_submitted,
        "others_running": others_running,
        "own_draft": InitiativeFactory(owner=pm, status="draft", **sponsors),
        "expense": ExpenseFactory(initiative=others_submitted),
        "draft_expense": ExpenseFactory(initiative=others_draft),
        "draft_line": BudgetLineFactory(initiative=others_draft),
        "fx_rate": FxRateFactory(),
        "lock": PeriodLockFactory(locked_by=finance),
        "proposal": proposal,
    }


# --- records the PM may not see: 404, the same as a code that does not exist ----------------

DRAFT_URLS = [
    ("get", "/initiatives/{code}/"),
    ("get", "/initiatives/{code}/edit/"),
    ("post", "/initiatives/{code}/edit/"),
    ("post", "/initiatives/{code}/health/"),
    ("get", "/initiatives/{code}/propose/"),
    ("post", "/initiatives/{code}/submit/"),
    ("post", "/initiatives/{code}/cancel/"),
    ("get", "/finance/budgets/{code}/FY2026/"),
    ("post", "/finance/budgets/{code}/FY2026/"),
]


@pytest.mark.parametrize(("method", "url"), DRAFT_URLS)
def test_another_pms_draft_is_not_found_like_a_missing_code(client, world, method, url):
    client.force_login(world["pm"])
    guessed = getattr(client, method)(url.format(code=world["others_draft"].code))
    missing = getattr(client, method)(url.format(code=MISSING_CODE))
    assert guessed.status_code == 404
    assert missing.status_code == 404


def test_the_pm_still_sees_their_own_draft(client, world):
    client.force_login(world["pm"])
    assert client.get(f"/initiatives/{world['own_draft'].code}/").status_code == 200
    assert client.get(f"/initiatives/{world['own_draft'].code}/edit/").status_code == 200
    assert client.get(f"/finance/budgets/{world['own_draft'].code}/FY2026/").status_code == 200


def test_a_change_proposal_id_under_another_initiative_is_not_found(client, world, executive_marketing):
    client.force_login(executive_marketing)
    proposal = world["proposal"]
    wrong_initiative = world["others_submitted"].code
    response = client.post(f"/initiatives/{wrong_initiative}/changes/{proposal.pk}/approve/")
    assert response.status_code == 404


def test_the_budget_grid_of_a_visible_initiative_of_another_pm_is_forbidden(client, world):
    client.force_login(world["pm"])
    response = client.get(f"/finance/budgets/{world['others_submitted'].code}/FY2026/")
    assert response.status_code == 403
    assert str(world["expense"].amount) not in response.content.decode()


# --- pages of another role: 403 whichever id, so no id is confirmed or denied -----------------

FINANCE_URLS = [
    ("get", "/finance/"),
    ("get", "/finance/budgets/"),
    ("get", "/finance/expenses/"),
    ("get", "/finance/expenses/new/"),
    ("get", "/finance/expenses/{expense}/edit/"),
    ("post", "/finance/expenses/{expense}/edit/"),
    ("get", "/finance/expenses/{expense}/delete/"),
    ("post", "/finance/expenses/{expense}/delete/"),
    ("get", "/finance/imports/"),
    ("get", "/finance/fx-rates/"),
    ("get", "/finance/fx-rates/{fx_rate}/edit/"),
    ("post", "/finance/fx-rates/{fx_rate}/delete/"),
    ("get", "/finance/locks/"),
    ("post", "/finance/locks/{lock}/unlock/"),
    ("get", "/finance/audit/"),
    ("get", "/split/runs/"),
    ("post", "/split/runs/recompute/"),
]


@pytest.mark.parametrize(("method", "url"), FINANCE_URLS)
def test_finance_pages_are_forbidden_to_a_pm_for_real_and_made_up_ids(client, world, method, url):
    client.force_login(world["pm"])
    real = url.format(expense=world["expense"].pk, fx_rate=world["fx_rate"].pk, lock=world["lock"].pk)
    made_up = url.format(expense=MISSING_ID, fx_rate=MISSING_ID, lock=MISSING_ID)
    assert getattr(client, method)(real).status_code == 403
    assert getattr(client, method)(made_up).status_code == 403
    world["expense"].refresh_from_db()  # the POSTs changed nothing
    world["lock"].refresh_from_db()


def test_finance_sees_what_the_pm_may_not(client, world):
    client.force_login(world["finance"])
    assert client.get(f"/finance/expenses/{world['expense'].pk}/edit/").status_code == 200
    assert client.get(f"/finance/budgets/{world['others_draft'].code}/FY2026/").status_code == 200
    assert client.get(f"/finance/expenses/{MISSING_ID}/edit/").status_code == 404


# --- the API: the same rule ---------------------------------------------------------------------


def api_as(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.mark.parametrize("method", ["get", "patch"])
def test_api_hides_another_pms_draft_like_a_missing_code(world, method):
    api = api_as(world["pm"])
    guessed = getattr(api, method)(f"/api/initiatives/{world['others_draft'].code}/", {}, format="json")
    missing = getattr(api, method)(f"/api/initiatives/{MISSING_CODE}/", {}, format="json")
    assert guessed.status_code == 404
    assert missing.status_code == 404
    assert guessed.json() == missing.json()


@pytest.mark.parametrize(
    "url",
    ["/api/expenses/{expense}/", "/api/expenses/{draft_expense}/", "/api/budget-lines/{draft_line}/"],
)
def test_api_hides_finances_of_another_pms_initiatives(world, url):
    api = api_as(world["pm"])
    guessed = url.format(
        expense=world["expense"].pk, draft_expense=world["draft_expense"].pk, draft_line=world["draft_line"].pk
    )
    assert api.get(guessed).status_code == 404
    listed = api.get(f"/api/{url.split('/')[2]}/").json()
    assert listed["results"] == []


def test_api_shows_finance_every_record(world):
    api = api_as(world["finance"])
    assert api.get(f"/api/initiatives/{world['others_draft'].code}/").status_code == 200
    assert api.get(f"/api/expenses/{world['draft_expense'].pk}/").status_code == 200
