"""The initiative list's money: each row's plan (all its budget lines) and actual to date (its expenses up to
today), to the cent, only where the user may see the initiative's finances; a card per initiative on phones."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from initiatives import selectors
from initiatives.choices import Status
from initiatives.models import Initiative
from portfolio import plan_months
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db

LIST = reverse("initiatives:list")


def _spend(initiative: Initiative) -> None:
    """Plan 1,250.55 in three lines; 100.10 + 23.45 spent by yesterday and today, 999 more tomorrow."""
    today = timezone.localdate()
    BudgetLineFactory(initiative=initiative, amount=Decimal("1000.00"), month=dt.date(2026, 1, 1))
    BudgetLineFactory(initiative=initiative, amount=Decimal("250.50"), month=dt.date(2026, 1, 1), category="media")
    BudgetLineFactory(initiative=initiative, amount=Decimal("0.05"), month=dt.date(2026, 2, 1))
    ExpenseFactory(initiative=initiative, incurred_on=today - dt.timedelta(days=1), amount_reporting=Decimal("100.10"))
    ExpenseFactory(initiative=initiative, incurred_on=today, amount_reporting=Decimal("23.45"), amount=Decimal("21"))
    ExpenseFactory(initiative=initiative, incurred_on=today + dt.timedelta(days=1), amount_reporting=Decimal("999"))


def _row(response, code: str) -> Initiative:
    return next(i for i in response.context["page"].object_list if i.code == code)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_list_shows_each_rows_plan_and_actual_to_date_to_the_cent(client, executive_marketing):
    spent = InitiativeFactory(status=Status.IN_PROGRESS)
    _spend(spent)
    nothing = InitiativeFactory(status=Status.APPROVED)
    client.force_login(executive_marketing)
    response = client.get(LIST)
    row = _row(response, spent.code)
    assert (row.planned_total, row.actual_to_date) == (Decimal("1250.55"), Decimal("123.55"))
    assert (_row(response, nothing.code).planned_total, _row(response, nothing.code).actual_to_date) == (None, None)
    html = _text(response)
    assert '<td class="num money-plan">$1,250.55</td> <td class="num money-actual">$123.55</td>' in html
    assert "<dt>Plan</dt><dd>$1,250.55</dd></div> <div><dt>Actual to date</dt><dd>$123.55</dd>" in html  # phones


def test_actual_to_date_counts_credits_and_stops_at_the_given_day(executive_marketing):
    initiative = InitiativeFactory(status=Status.IN_PROGRESS)
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 1), amount_reporting=Decimal("10.01"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 2), amount_reporting=Decimal("-0.02"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 3), amount_reporting=Decimal("5.00"))
    spent = Initiative.objects.filter(pk=initiative.pk).values_list(
        selectors.actual_to_date_subquery(on=dt.date(2026, 3, 2)), flat=True
    )
    assert spent.get() == Decimal("9.99")


def test_a_pm_sees_the_plan_and_actual_of_their_own_initiatives_only(client, pm, other_pm):
    mine = InitiativeFactory(owner=pm, status=Status.IN_PROGRESS)
    theirs = InitiativeFactory(owner=other_pm, status=Status.IN_PROGRESS)
    _spend(mine)
    _spend(theirs)
    client.force_login(pm)
    response = client.get(LIST)
    assert (_row(response, mine.code).planned_total, _row(response, mine.code).actual_to_date) == (
        Decimal("1250.55"),
        Decimal("123.55"),
    )
    row = _row(response, theirs.code)
    assert (row.finances_shown, row.planned_total, row.actual_to_date) == (False, None, None)
    assert _text(response).count("$1,250.55") == 2  # mine, in the table and in its phone card


def test_the_sums_are_taken_for_the_pages_rows_only(executive_marketing):
    """An OFFSET's skipped rows get no subquery: the sums sit in an outer query over the page's ids."""
    for _ in range(30):
        _spend(InitiativeFactory(status=Status.APPROVED))
    queryset = Initiative.objects.order_by("id")
    with CaptureQueriesContext(connection) as captured:
        rows = list(selectors.page_with_plan_and_actual(queryset, queryset[25:50], user=executive_marketing))
    assert [row.pk for row in rows] == list(queryset.values_list("pk", flat=True)[25:30])
    assert {row.actual_to_date for row in rows} == {Decimal("123.55")}
    reads = [query["sql"] for query in captured.captured_queries if 'FROM "initiatives_initiative"' in query["sql"]]
    assert len(reads) == 1  # (and the user's roles, asked once)
    assert re.search(r"IN \(SELECT .* LIMIT 25 OFFSET 25\)", reads[0])


def test_phones_get_a_card_per_initiative_instead_of_the_table(client, executive_marketing):
    initiative = InitiativeFactory(status=Status.APPROVED, title="Loyalty app", lane="fast_lane")
    client.force_login(executive_marketing)
    html = _text(client.get(LIST))
    assert '<div class="table-responsive d-none d-md-block">' in html
    card = re.search(r'<ul class="initiative-cards list-unstyled d-md-none mb-0".*?</ul>', html).group(0)
    assert f"{initiative.code}</span> Loyalty app</a>" in card
    assert "Fast lane" in card and "Approved" in card and "<dt>Plan</dt>" in card
    assert 'href="/static/initiatives/initiatives.css"' in html


def test_without_budgets_registered_the_actual_to_date_is_a_configuration_error(monkeypatch):
    """The seam never answers "nothing spent" when nobody filled it in."""
    monkeypatch.setattr(plan_months, "_actual_to_date", None)
    with pytest.raises(ImproperlyConfigured, match="actual-to-date"):
        selectors.actual_to_date_subquery()


def test_a_pm_is_told_whose_figures_the_list_shows(client, pm, executive_marketing):
    InitiativeFactory(owner=pm, status=Status.APPROVED)
    note = "Plan and actual to date are shown for the initiatives you own."
    client.force_login(pm)
    assert note in client.get(LIST).content.decode()
    client.force_login(executive_marketing)
    assert note not in client.get(LIST).content.decode()
