"""Expense services: conversion, refusals, history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from budgets.models import Expense
from budgets.services.actuals import expense_create, expense_delete, expense_update
from tests.budgets.finance_helpers import eur_rate
from tests.factories import ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


def create(by, **overrides):
    values = {
        "initiative": InitiativeFactory(),
        "incurred_on": dt.date(2026, 3, 15),
        "amount": Decimal("100.00"),
        "currency": "EUR",
        "paid_by": "marketing",
        "category": "agency",
        "vendor": "Studio Nord",
        "by": by,
    }
    return expense_create(**{**values, **overrides})


def test_create_converts_with_the_month_rate_and_records_who(finance):
    eur_rate(dt.date(2026, 3, 1), "1.08")
    expense = create(finance, amount=Decimal("-12.34"))
    assert expense.amount_reporting == Decimal("-13.33")  # −13.3272
    assert expense.history.get().history_user == finance


def test_create_without_a_rate_is_refused_naming_currency_and_month(finance):
    with pytest.raises(ValidationError) as refusal:
        create(finance)
    assert refusal.value.message_dict["currency"] == ["No FX rate for EUR in March 2026: add it under FX rates first."]
    assert Expense.objects.count() == 0


@pytest.mark.parametrize(
    "field, value", [("amount", Decimal("0")), ("amount", Decimal("1.005")), ("currency", "XYZ"), ("paid_by", "hr")]
)
def test_bad_values_are_refused_on_their_field(finance, field, value):
    eur_rate()
    with pytest.raises(ValidationError) as refusal:
        create(finance, **{field: value})
    assert field in refusal.value.message_dict


def test_duplicate_source_and_ref_is_a_clear_error(finance):
    eur_rate()
    create(finance, source="erp", external_ref="DOC-1")
    with pytest.raises(ValidationError, match="erp with reference DOC-1 already exists"):
        create(finance, source="erp", external_ref="DOC-1")


def test_update_recomputes_when_currency_changes(finance):
    eur_rate(dt.date(2026, 3, 1), "2.0")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="USD", amount=Decimal("10.00"))
    updated = expense_update(expense=expense, data={"currency": "EUR"}, by=finance)
    assert updated.amount_reporting == Decimal("20.00")
    assert updated.history.latest().history_user == finance


def test_update_with_no_change_writes_no_history(finance):
    expense = ExpenseFactory()
    expense_update(expense=expense, data={"amount": expense.amount}, by=finance)
    assert expense.history.count() == 1


def test_delete_is_recorded_with_who(finance):
    expense = ExpenseFactory()
    expense_delete(expense=expense, by=finance)
    assert not Expense.objects.exists()
    assert Expense.history.latest().history_type == "-"
    assert Expense.history.latest().history_user == finance
