"""FX rates: the one conversion rule, set-based recomputation, refusals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Expense, FxRate
from budgets.services.fx import (
    FxRateMissingError,
    amount_in_reporting,
    fx_rate_delete,
    fx_rate_set,
    fx_rates_for,
)
from tests.budgets.finance_helpers import MARCH, eur_rate
from tests.factories import ExpenseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "amount, rate, expected",
    [
        ("0.01", "0.5", "0.01"),  # 0.005 rounds away from zero
        ("-0.01", "0.5", "-0.01"),  # −0.005 too (not banker's rounding)
        ("0.03", "0.5", "0.02"),  # 0.015 → 0.02
        ("1.00", "1.005", "1.01"),  # a float would give 1.0049999…
        ("100.00", "1.23456789", "123.46"),
    ],
)
def test_conversion_rounds_half_away_from_zero(amount, rate, expected):
    eur_rate(MARCH, rate)
    assert amount_in_reporting(amount=Decimal(amount), currency="EUR", on=dt.date(2026, 3, 9)) == Decimal(expected)


def test_reporting_currency_needs_no_rate(settings):
    settings.REPORTING_CURRENCY = "USD"
    assert amount_in_reporting(amount=Decimal("12.34"), currency="USD", on=MARCH) == Decimal("12.34")


def test_missing_rate_names_currency_and_month():
    with pytest.raises(FxRateMissingError, match="No FX rate for EUR in March 2026"):
        amount_in_reporting(amount=Decimal("1.00"), currency="EUR", on=dt.date(2026, 3, 31))


def test_preloaded_rates_come_from_one_query(django_assert_num_queries):
    eur_rate(MARCH)
    eur_rate(dt.date(2026, 4, 1), "1.2")
    with django_assert_num_queries(1):
        rates = fx_rates_for(currencies={"EUR", "USD"}, months={MARCH, dt.date(2026, 4, 1)})
    assert rates[("EUR", dt.date(2026, 4, 1))] == Decimal("1.2")
    assert rates[("USD", MARCH)] == Decimal(1)


def test_changing_a_rate_recomputes_that_currency_month_only(finance):
    eur_rate(MARCH, "1.0")
    march_eur = [
        ExpenseFactory(incurred_on=dt.date(2026, 3, 2), currency="EUR", amount=Decimal(amount))
        for amount in ("0.01", "-0.01", "100.00", "33.33")
    ]
    april_eur = ExpenseFactory(incurred_on=dt.date(2026, 4, 1), currency="EUR", amount=Decimal("10.00"))
    march_usd = ExpenseFactory(incurred_on=dt.date(2026, 3, 5), currency="USD", amount=Decimal("10.00"))

    _, created, recomputed = fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("0.5"), by=finance)

    assert (created, recomputed) == (False, 4)
    assert [Expense.objects.get(pk=e.pk).amount_reporting for e in march_eur] == [
        Decimal("0.01"),
        Decimal("-0.01"),
        Decimal("50.00"),
        Decimal("16.67"),
    ]
    assert Expense.objects.get(pk=april_eur.pk).amount_reporting == Decimal("10.00")
    assert Expense.objects.get(pk=march_usd.pk).amount_reporting == Decimal("10.00")


@pytest.mark.postgres
def test_recomputation_and_its_history_are_one_statement_on_postgresql(finance):
    eur_rate(MARCH, "1.0")
    for _ in range(30):
        ExpenseFactory(incurred_on=dt.date(2026, 3, 2), currency="EUR", amount=Decimal("0.02"))
    with CaptureQueriesContext(connection) as queries:
        fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("0.5"), by=finance)
    updates = [q["sql"] for q in queries if "UPDATE budgets_expense" in q["sql"]]
    assert len(updates) == 1
    assert "round(" in updates[0] and "INSERT INTO budgets_historicalexpense" in updates[0]
    assert not [q for q in queries if q["sql"].startswith('SELECT "budgets_expense"."id"')]  # no row through Python
    assert set(Expense.objects.values_list("amount_reporting", flat=True)) == {Decimal("0.01")}
    assert Expense.history.filter(history_type="~").count() == 30


def test_every_expense_whose_conversion_changes_gets_a_history_entry_naming_the_rate(finance):
    eur_rate(MARCH, "1.0")
    changes = ExpenseFactory(incurred_on=dt.date(2026, 3, 2), currency="EUR", amount=Decimal("10.00"))
    stays = ExpenseFactory(incurred_on=dt.date(2026, 3, 3), currency="EUR", amount=Decimal("0.01"))  # 0.01 → 0.01
    other_month = ExpenseFactory(incurred_on=dt.date(2026, 4, 3), currency="EUR", amount=Decimal("10.00"))

    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.25"), by=finance)

    entry = Expense.history.filter(id=changes.pk).order_by("-history_id").first()
    previous = entry.prev_record
    assert (entry.history_type, entry.history_user) == ("~", finance)
    assert entry.history_change_reason == "FX rate EUR 2026-03 changed to 1.25"
    assert (previous.amount_reporting, entry.amount_reporting) == (Decimal("10.00"), Decimal("12.50"))
    assert entry.diff_against(previous).changed_fields == ["amount_reporting"]
    assert Expense.history.filter(id=stays.pk, history_type="~").count() == 0
    assert Expense.history.filter(id=other_month.pk, history_type="~").count() == 0


def test_rate_change_is_in_the_history_with_before_and_after(finance):
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.1"), by=finance)
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.2"), by=finance)
    latest, earlier = FxRate.history.order_by("-history_id")[:2]
    assert (earlier.rate, latest.rate) == (Decimal("1.1"), Decimal("1.2"))
    assert latest.history_user == finance


def test_setting_the_same_rate_changes_nothing(finance):
    fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.1"), by=finance)
    _, created, recomputed = fx_rate_set(currency="EUR", month=MARCH, rate=Decimal("1.10"), by=finance)
    assert (created, recomputed) == (False, 0)
    assert FxRate.history.count() == 1


@pytest.mark.parametrize(
    "currency, rate, field",
    [("USD", "1.0", "currency"), ("EUX", "1.0", "currency"), ("EUR", "0", "rate"), ("EUR", "1.123456789", "rate")],
)
def test_bad_rates_are_refused(finance, currency, rate, field):
    with pytest.raises(ValidationError) as refusal:
        fx_rate_set(currency=currency, month=MARCH, rate=Decimal(rate), by=finance)
    assert field in refusal.value.message_dict
    assert not FxRate.objects.exists()


def test_a_rate_in_use_cannot_be_deleted(finance):
    fx = eur_rate(MARCH)
    ExpenseFactory(incurred_on=dt.date(2026, 3, 2), currency="EUR")
    with pytest.raises(ValidationError, match="EUR expenses of March 2026"):
        fx_rate_delete(fx_rate=fx, by=finance)
    assert FxRate.objects.exists()
