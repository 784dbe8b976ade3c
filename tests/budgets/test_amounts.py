"""One rule per amount (budgets/amounts.py): the forms, the API, the services and the importers answer alike."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from budgets.amounts import (
    NEGATIVE_BUDGET,
    NOT_A_NUMBER,
    NOT_CENTS,
    TOO_LARGE,
    ZERO_EXPENSE,
    budget_amount_error,
    expense_amount_error,
)
from budgets.models import BudgetLine, Expense
from budgets.services.actuals import expense_create
from budgets.services.budgets import budget_line_set
from budgets.services.imports import import_run
from tests.budgets.finance_helpers import (
    GOOD_ACTUAL,
    MARCH,
    actuals_csv,
    budget_csv,
    finance_in_admin,
    grid_post,
)

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize(
    ("amount", "budget", "expense"),
    [
        ("1250.50", None, None),
        ("0", None, ZERO_EXPENSE),
        ("0.00", None, ZERO_EXPENSE),
        ("-0.01", NEGATIVE_BUDGET, None),
        ("12.345", NOT_CENTS, NOT_CENTS),
        ("12.340", None, None),  # three places, but cents
        ("999999999999.99", None, None),  # the largest a column holds
        ("1000000000000", TOO_LARGE, TOO_LARGE),
        ("-1000000000000", NEGATIVE_BUDGET, TOO_LARGE),
        ("9" * 100_000, TOO_LARGE, TOO_LARGE),  # no arithmetic overflows on a huge number
        ("0." + "0" * 100_000 + "1", NOT_CENTS, NOT_CENTS),
        ("1e999999999", TOO_LARGE, TOO_LARGE),
        ("NaN", NOT_A_NUMBER, NOT_A_NUMBER),
        ("-Infinity", NOT_A_NUMBER, NOT_A_NUMBER),
    ],
)
def test_the_amount_rules(amount, budget, expense):
    assert budget_amount_error(D(amount)) == budget
    assert expense_amount_error(D(amount)) == expense


# Amounts every path accepts as text, and the rule's answer to each.
EXPENSE_AMOUNTS = [("0", ZERO_EXPENSE), ("12.345", NOT_CENTS), ("1000000000000", TOO_LARGE)]
BUDGET_AMOUNTS = [("-5", NEGATIVE_BUDGET), ("12.345", NOT_CENTS), ("1000000000000", TOO_LARGE)]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(("amount", "message"), EXPENSE_AMOUNTS)
def test_an_expense_amount_gets_the_rules_answer_on_every_path(ready, finance, client, amount, message):
    with pytest.raises(ValidationError) as refused:
        expense_create(
            initiative=ready,
            incurred_on=MARCH,
            amount=D(amount),
            currency="EUR",
            paid_by="it",
            category="media",
            by=finance,
        )
    assert refused.value.message_dict == {"amount": [message]}

    client.force_login(finance)
    form = {key: GOOD_ACTUAL[key] for key in ("incurred_on", "currency", "paid_by", "category")}
    response = client.post(reverse("budgets:expense_create"), {**form, "initiative": "INI-0001", "amount": amount})
    assert response.context["form"].errors == {"amount": [message]}

    body = {**form, "initiative": "INI-0001", "amount": amount}
    response = api(finance).post("/api/expenses/", body, format="json")
    assert (response.status_code, response.json()) == (400, {"amount": [message]})

    client.force_login(finance_in_admin())
    response = client.post(reverse("admin:budgets_expense_add"), {**body, "initiative": ready.pk, "source": "manual"})
    assert response.context["adminform"].form.errors == {"amount": [message]}

    if message == ZERO_EXPENSE:  # the importer reads the text first: it names the value for the others
        report = import_run(kind="actuals", data=actuals_csv({"amount": amount}), file_name="erp.csv", by=finance)
        assert [(error.column, error.message) for error in report.errors] == [("amount", message)]
    assert not Expense.objects.exists()


@pytest.mark.parametrize(("amount", "message"), BUDGET_AMOUNTS)
def test_a_budget_amount_gets_the_rules_answer_on_every_path(ready, finance, client, amount, message):
    with pytest.raises(ValidationError) as refused:
        budget_line_set(initiative=ready, month=MARCH, category="labor", amount=D(amount), by=finance)
    assert refused.value.message_dict == {"amount": [message]}

    body = {"initiative": "INI-0001", "month": "2026-03", "category": "labor", "amount": amount}
    response = api(finance).post("/api/budget-lines/", body, format="json")
    assert (response.status_code, response.json()) == (400, {"amount": [message]})

    client.force_login(finance)
    grid = reverse("budgets:budget_grid", args=["INI-0001", "FY2026"])
    response = client.post(grid, grid_post(ready, cell_202603_labor=amount, annual_media=amount))
    assert response.context["form"].errors == {"cell_202603_labor": [message], "annual_media": [message]}

    client.force_login(finance_in_admin())
    response = client.post(reverse("admin:budgets_budgetline_add"), {**body, "initiative": ready.pk, "month": MARCH})
    assert response.context["adminform"].form.errors == {"amount": [message]}

    if message == NEGATIVE_BUDGET:  # the importer reads the text first: it names the value for the others
        report = import_run(kind="budget", data=budget_csv({"amount": amount}), file_name="plan.csv", by=finance)
        assert [(error.column, error.message) for error in report.errors] == [("amount", message)]
    assert not BudgetLine.objects.exists()
