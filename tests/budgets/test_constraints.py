"""Budget, actual, FX and lock rules the database enforces whatever the path."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from tests.factories import BudgetLineFactory, ExpenseFactory, FxRateFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


def test_second_budget_line_for_same_initiative_month_category_is_refused():
    line = BudgetLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.create(initiative=line.initiative, month=line.month, category=line.category, amount=1)


def test_same_month_other_category_is_fine():
    line = BudgetLineFactory()
    BudgetLineFactory(initiative=line.initiative, category="software")
    assert BudgetLine.objects.count() == 2


def test_negative_budget_amount_is_refused():
    line = BudgetLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(amount=Decimal("-0.01"))


def test_budget_month_must_be_first_day():
    line = BudgetLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(month=dt.date(2026, 1, 2))


def test_budget_category_must_be_known():
    line = BudgetLineFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetLine.objects.filter(pk=line.pk).update(category="travel")


def test_zero_expense_is_refused():
    expense = ExpenseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Expense.objects.filter(pk=expense.pk).update(amount=0)


def test_negative_expense_is_a_credit():
    expense = ExpenseFactory(amount=Decimal("-50.00"))
    expense.refresh_from_db()
    assert expense.amount == Decimal("-50.00")


def test_same_source_and_external_ref_is_refused():
    ExpenseFactory(source="erp", external_ref="DOC-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExpenseFactory(source="erp", external_ref="DOC-1")


def test_same_external_ref_from_another_source_is_fine():
    ExpenseFactory(source="erp", external_ref="DOC-1")
    ExpenseFactory(source="card", external_ref="DOC-1")
    assert Expense.objects.count() == 2


def test_manual_expenses_without_external_ref_do_not_collide():
    ExpenseFactory(external_ref=None)
    ExpenseFactory(external_ref=None)
    assert Expense.objects.count() == 2


@pytest.mark.parametrize("field, value", [("paid_by", "finance"), ("currency", "usd"), ("category", "travel")])
def test_expense_fields_must_be_valid(field, value):
    expense = ExpenseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Expense.objects.filter(pk=expense.pk).update(**{field: value})


def test_one_fx_rate_per_currency_and_month():
    FxRateFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        FxRate.objects.create(currency="EUR", month=dt.date(2026, 1, 1), rate=Decimal("1.2"))


@pytest.mark.parametrize("rate", [Decimal("0"), Decimal("-1")])
def test_fx_rate_must_be_positive(rate):
    fx = FxRateFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        FxRate.objects.filter(pk=fx.pk).update(rate=rate)


def test_a_month_is_locked_once():
    lock = PeriodLockFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        PeriodLock.objects.create(month=lock.month, reason="again", locked_by=lock.locked_by)
