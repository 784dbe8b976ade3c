"""On PostgreSQL the database itself refuses writes dated in a locked month, whatever the path."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from budgets.models import BudgetLine, Expense
from tests.budgets.finance_helpers import MARCH
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, PeriodLockFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def march_rows():
    initiative = InitiativeFactory()
    line = BudgetLineFactory(initiative=initiative, month=MARCH)
    expense = ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 31))
    PeriodLockFactory(month=MARCH)
    return initiative, line, expense


def test_queryset_update_in_a_locked_month_is_refused_naming_the_month(march_rows):
    _, line, expense = march_rows
    with pytest.raises(IntegrityError, match="March 2026 is locked"), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(amount=Decimal("1.00"))
    with pytest.raises(IntegrityError, match="March 2026 is locked"), transaction.atomic():
        Expense.objects.filter(pk=expense.pk).update(amount=Decimal("1.00"))


def test_moving_a_row_out_of_or_into_a_locked_month_is_refused(march_rows):
    initiative, _, expense = march_rows
    with pytest.raises(IntegrityError, match="March 2026"), transaction.atomic():
        Expense.objects.filter(pk=expense.pk).update(incurred_on=dt.date(2026, 4, 1))
    april = ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 4, 2))
    with pytest.raises(IntegrityError, match="March 2026"), transaction.atomic():
        Expense.objects.filter(pk=april.pk).update(incurred_on=dt.date(2026, 3, 2))


def test_raw_insert_and_delete_in_a_locked_month_are_refused(march_rows):
    initiative, line, _ = march_rows
    with pytest.raises(IntegrityError, match="March 2026"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO budgets_budgetline (initiative_id, month, category, amount) VALUES (%s, %s, 'media', 5)",
            [initiative.pk, MARCH],
        )
    with pytest.raises(IntegrityError, match="March 2026"), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).delete()
    assert BudgetLine.objects.filter(month=MARCH).count() == 1


def test_other_months_are_untouched_by_the_guard(march_rows):
    initiative, _, _ = march_rows
    line = BudgetLineFactory(initiative=initiative, month=dt.date(2026, 4, 1))
    BudgetLine.objects.filter(pk=line.pk).update(amount=Decimal("7.00"))
    line.refresh_from_db()
    assert line.amount == Decimal("7.00")
