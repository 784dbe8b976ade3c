"""Period locks: the one check, and every path that must go through it (form, admin, importer, service, FX)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from budgets.services.actuals import expense_create, expense_delete, expense_update
from budgets.services.budgets import budget_grid_amounts, budget_grid_save, budget_grid_version, budget_line_set
from budgets.services.fx import fx_rate_set
from budgets.services.imports import import_run
from budgets.services.locks import (
    PeriodLockedError,
    period_lock_check,
    period_lock_create,
    period_unlock,
)
from tests.budgets.finance_helpers import (
    MARCH,
    actuals_csv,
    budget_csv,
    eur_rate,
    finance_in_admin,
    initiative_with_code,
)
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


def test_check_names_the_locked_month():
    PeriodLockFactory(month=MARCH)
    with pytest.raises(PeriodLockedError) as refusal:
        period_lock_check(months=[dt.date(2026, 3, 17)])
    assert refusal.value.messages[0].startswith("March 2026 is locked")


def test_check_names_every_locked_month():
    PeriodLockFactory(month=MARCH)
    PeriodLockFactory(month=dt.date(2026, 4, 1))
    with pytest.raises(PeriodLockedError, match="March 2026 and April 2026 are locked"):
        period_lock_check(months=[dt.date(2026, 4, 2), dt.date(2026, 3, 3), dt.date(2026, 5, 1)])


def test_open_months_pass():
    PeriodLockFactory(month=MARCH)
    period_lock_check(months=[dt.date(2026, 2, 28), dt.date(2026, 4, 1)])


def test_lock_needs_a_reason(finance):
    with pytest.raises(ValidationError, match="Say why"):
        period_lock_create(month=MARCH, reason="  ", by=finance)
    assert not PeriodLock.objects.exists()


def test_lock_twice_is_refused_with_the_month(finance):
    period_lock_create(month=dt.date(2026, 3, 9), reason="Close", by=finance)
    with pytest.raises(ValidationError, match="March 2026 is already locked"):
        period_lock_create(month=MARCH, reason="Again", by=finance)


def test_lock_and_unlock_are_in_the_history_with_who_and_why(finance):
    lock = period_lock_create(month=MARCH, reason="March close", by=finance)
    period_unlock(lock=lock, reason="Late invoice from Acme", by=finance)
    history = list(PeriodLock.history.order_by("history_id"))
    assert [h.history_type for h in history] == ["+", "-"]
    assert all(h.history_user == finance for h in history)
    assert history[1].history_change_reason == "Unlocked: Late invoice from Acme"
    assert not PeriodLock.objects.exists()


# --- the ORM services ------------------------------------------------------------------


def test_service_refuses_an_expense_in_a_locked_month(finance):
    PeriodLockFactory(month=MARCH)
    with pytest.raises(PeriodLockedError, match="March 2026 is locked"):
        expense_create(
            initiative=InitiativeFactory(),
            incurred_on=dt.date(2026, 3, 5),
            amount=Decimal("10.00"),
            currency="USD",
            paid_by="it",
            category="software",
            by=finance,
        )
    assert Expense.objects.count() == 0


def test_service_refuses_moving_an_expense_into_or_out_of_a_locked_month(finance):
    expense = ExpenseFactory(incurred_on=dt.date(2026, 2, 10))
    locked_expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 10))  # booked before March was locked
    PeriodLockFactory(month=MARCH)
    with pytest.raises(PeriodLockedError, match="March 2026"):
        expense_update(expense=expense, data={"incurred_on": dt.date(2026, 3, 2)}, by=finance)
    with pytest.raises(PeriodLockedError, match="March 2026"):
        expense_update(expense=locked_expense, data={"amount": Decimal("1.00")}, by=finance)
    with pytest.raises(PeriodLockedError, match="March 2026"):
        expense_delete(expense=locked_expense, by=finance)
    locked_expense.refresh_from_db()
    assert locked_expense.amount == Decimal("500.00")


def test_service_refuses_a_budget_line_in_a_locked_month(finance):
    PeriodLockFactory(month=MARCH)
    with pytest.raises(PeriodLockedError, match="March 2026"):
        budget_line_set(
            initiative=InitiativeFactory(), month=MARCH, category="labor", amount=Decimal("5.00"), by=finance
        )
    assert BudgetLine.objects.count() == 0


def test_grid_save_refuses_a_changed_cell_in_a_locked_month(finance):
    line = BudgetLineFactory(month=MARCH, amount=Decimal("100.00"))
    PeriodLockFactory(month=MARCH)
    version = budget_grid_version(budget_grid_amounts(initiative=line.initiative, fiscal_year=2026))
    with pytest.raises(PeriodLockedError, match="March 2026"):
        budget_grid_save(
            initiative=line.initiative,
            fiscal_year=2026,
            amounts={(MARCH, "labor"): Decimal("200.00"), (dt.date(2026, 4, 1), "labor"): Decimal("1.00")},
            expected_version=version,
            by=finance,
        )
    assert list(BudgetLine.objects.values_list("amount", flat=True)) == [Decimal("100.00")]


def test_fx_recomputation_refuses_a_locked_month(finance):
    eur_rate(MARCH, "1.10000000")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("100.00"))
    PeriodLockFactory(month=MARCH)
    with pytest.raises(PeriodLockedError, match="March 2026"):
        fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.2"), by=finance)
    assert FxRate.objects.get().rate == Decimal("1.10000000")
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("100.00")  # as the factory stored it: untouched


# --- the importers ---------------------------------------------------------------------------


def test_actuals_importer_refuses_a_locked_month_naming_line_and_column(finance):
    initiative_with_code("INI-0001")
    eur_rate()
    PeriodLockFactory(month=MARCH)
    report = import_run(kind="actuals", data=actuals_csv({}), file_name="march.csv", by=finance)
    assert [(e.line, e.column) for e in report.errors] == [(2, "incurred_on")]
    assert report.errors[0].message.startswith("March 2026 is locked")
    assert Expense.objects.count() == 0


def test_budget_importer_refuses_a_locked_month(finance):
    initiative_with_code("INI-0001")
    PeriodLockFactory(month=MARCH)
    report = import_run(kind="budget", data=budget_csv({}), file_name="plan.csv", by=finance)
    assert [(e.line, e.column) for e in report.errors] == [(2, "month")]
    assert "March 2026 is locked" in report.errors[0].message
    assert BudgetLine.objects.count() == 0


# --- the web form --------------------------------------------------------------------------------


def test_expense_form_refuses_a_locked_month_under_the_form(client, finance):
    initiative_with_code("INI-0001")
    PeriodLockFactory(month=MARCH)
    client.force_login(finance)
    response = client.post(
        reverse("budgets:expense_create"),
        {
            "initiative": "INI-0001",
            "incurred_on": "2026-03-20",
            "amount": "99.00",
            "currency": "USD",
            "paid_by": "it",
            "category": "software",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["incurred_on"][0].startswith("March 2026 is locked")
    assert Expense.objects.count() == 0


def test_expense_delete_view_refuses_a_locked_month(client, finance):
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3))
    PeriodLockFactory(month=MARCH)
    client.force_login(finance)
    response = client.post(reverse("budgets:expense_delete", args=[expense.pk]))
    assert response.status_code == 400
    assert "March 2026 is locked" in response.content.decode()
    assert Expense.objects.filter(pk=expense.pk).exists()


# --- the admin ---------------------------------------------------------------------------------------


def test_admin_add_of_an_expense_in_a_locked_month_is_a_form_error(client):
    keeper = finance_in_admin()
    initiative = InitiativeFactory()
    PeriodLockFactory(month=MARCH)
    client.force_login(keeper)
    response = client.post(
        reverse("admin:budgets_expense_add"),
        {
            "initiative": initiative.pk,
            "incurred_on": "2026-03-20",
            "amount": "10.00",
            "currency": "USD",
            "paid_by": "it",
            "category": "software",
            "source": "manual",
        },
    )
    assert response.status_code == 200
    assert "March 2026 is locked" in response.content.decode()
    assert Expense.objects.count() == 0


def test_admin_change_of_a_budget_line_in_a_locked_month_is_refused(client):
    keeper = finance_in_admin()
    line = BudgetLineFactory(month=MARCH, amount=Decimal("10.00"))
    PeriodLockFactory(month=MARCH)
    client.force_login(keeper)
    response = client.post(
        reverse("admin:budgets_budgetline_change", args=[line.pk]),
        {"initiative": line.initiative_id, "month": "2026-03-01", "category": "labor", "amount": "99.00"},
    )
    assert "March 2026 is locked" in response.content.decode()
    line.refresh_from_db()
    assert line.amount == Decimal("10.00")


def test_admin_delete_in_a_locked_month_is_refused_naming_it(client):
    keeper = finance_in_admin()
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3))
    PeriodLockFactory(month=MARCH)
    client.force_login(keeper)
    response = client.post(reverse("admin:budgets_expense_delete", args=[expense.pk]), {"post": "yes"}, follow=True)
    assert "March 2026 is locked" in response.content.decode()
    assert Expense.objects.filter(pk=expense.pk).exists()


def test_admin_bulk_delete_touching_a_locked_month_deletes_nothing(client):
    keeper = finance_in_admin()
    open_expense = ExpenseFactory(incurred_on=dt.date(2026, 2, 3))
    locked_expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3))
    PeriodLockFactory(month=MARCH)
    client.force_login(keeper)
    response = client.post(
        reverse("admin:budgets_expense_changelist"),
        {"action": "delete_selected", "_selected_action": [open_expense.pk, locked_expense.pk], "post": "yes"},
        follow=True,
    )
    assert "March 2026 is locked" in response.content.decode()
    assert Expense.objects.count() == 2
