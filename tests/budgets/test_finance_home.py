"""Finance's home page lists the approved initiatives that have no budget yet (issue 17 point 4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from initiatives.choices import Status
from portfolio.fiscal import fiscal_year, fiscal_year_label
from tests.factories import BudgetLineFactory, InitiativeFactory

pytestmark = pytest.mark.django_db

HOME = reverse("budgets:home")


def _listed(html: str) -> str:
    start = html.index('id="without-budget"')
    return html[start : html.index("</section>", start)]


def test_approved_and_in_progress_initiatives_without_a_budget_line_are_listed(client, finance):
    waiting = InitiativeFactory(
        status=Status.APPROVED,
        title="Loyalty app relaunch",
        start_date=dt.date(2026, 7, 1),
        end_date=dt.date(2027, 3, 31),
        estimated_cost=Decimal("250000.00"),
    )
    running = InitiativeFactory(status=Status.IN_PROGRESS, start_date=dt.date(2026, 3, 1))
    budgeted = InitiativeFactory(status=Status.APPROVED)
    BudgetLineFactory(initiative=budgeted, month=dt.date(2026, 2, 1))
    others = [InitiativeFactory(status=status) for status in (Status.SUBMITTED, Status.DRAFT, Status.DONE)]

    client.force_login(finance)
    listed = _listed(client.get(HOME).content.decode())
    assert 'Approved, no budget yet <span class="badge rounded-pill text-bg-warning ms-1">2</span>' in listed
    assert listed.index(running.code) < listed.index(waiting.code)  # the one starting first on top
    assert "250,000.00" in listed and "Loyalty app relaunch" in listed
    year = fiscal_year_label(min(max(fiscal_year(timezone.localdate()), 2026), 2027))
    assert reverse("budgets:budget_grid", args=[waiting.code, year]) in listed
    for initiative in (budgeted, *others):
        assert initiative.code not in listed


def test_nothing_waiting_says_so(client, finance):
    client.force_login(finance)
    listed = _listed(client.get(HOME).content.decode())
    assert "Every approved initiative has a budget." in listed
    assert '<span class="badge rounded-pill text-bg-secondary ms-1">0</span>' in listed


def test_the_list_is_capped_and_counted_in_a_fixed_number_of_queries(client, finance, monkeypatch):
    from budgets.views import grid

    monkeypatch.setattr(grid, "HOME_WAITING_LIMIT", 3)
    client.force_login(finance)
    InitiativeFactory(status=Status.APPROVED)
    with CaptureQueriesContext(connection) as few:
        client.get(HOME)
    InitiativeFactory.create_batch(6, status=Status.APPROVED)
    with CaptureQueriesContext(connection) as many:
        listed = _listed(client.get(HOME).content.decode())
    assert len(many) == len(few) + 1  # the COUNT once the list is full
    assert listed.count("<tr>") == 1 + 3  # the header and three rows
    assert "The 3 that start first of 7" in listed
