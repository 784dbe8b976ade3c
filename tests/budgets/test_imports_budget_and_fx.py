"""Importing budget lines and FX rates: same rules, same all-or-nothing, same command as the web."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from budgets.amounts import NOT_CENTS, TOO_LARGE
from budgets.models import BudgetLine, Expense, FxRate
from budgets.services.imports import import_run
from budgets.services.imports_budget import BUDGET_COLUMNS
from budgets.services.imports_fx import FX_COLUMNS
from tests.budgets.finance_helpers import MARCH, budget_csv, csv_bytes, eur_rate, initiative_with_code, with_nul
from tests.factories import BudgetLineFactory, ExpenseFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def initiative(db):
    return initiative_with_code("INI-0001")


def budget(data: bytes, by=None, **kwargs):
    return import_run(kind="budget", data=data, file_name="plan.csv", by=by, **kwargs)


def test_budget_file_creates_and_updates_lines_with_history(initiative, finance):
    BudgetLineFactory(initiative=initiative, month=MARCH, category="labor", amount=Decimal("10.00"))
    report = budget(
        budget_csv({"amount": "1000.00"}, {"month": "2026-04", "category": "media", "amount": "250.50"}), by=finance
    )
    assert report.saved and (report.new, report.changed, report.unchanged) == (1, 1, 0)
    amounts = dict(BudgetLine.objects.values_list("category", "amount"))
    assert amounts == {"labor": Decimal("1000.00"), "media": Decimal("250.50")}
    changed = BudgetLine.history.filter(category="labor").order_by("-history_id").first()
    assert (changed.history_type, changed.amount, changed.history_user) == ("~", Decimal("1000.00"), finance)


def test_a_zero_amount_is_a_plan_of_nothing_as_in_the_grid_and_the_api(initiative, finance):
    BudgetLineFactory(initiative=initiative, month=MARCH, category="labor", amount=Decimal("10.00"))
    report = budget(budget_csv({"amount": "0"}, {"month": "2026-04", "amount": "0.00"}), by=finance)
    assert report.saved and (report.new, report.changed) == (1, 1)
    assert sorted(BudgetLine.objects.values_list("month", "amount")) == [
        (MARCH, Decimal("0.00")),
        (dt.date(2026, 4, 1), Decimal("0.00")),
    ]


def test_budget_file_imported_twice_changes_nothing(initiative):
    data = budget_csv({}, {"month": "2026-04"})
    budget(data)
    again = budget(data)
    assert again.ok and not again.saved and again.unchanged == 2
    assert again.nothing_new
    assert again.message == "Nothing new to import: all 2 rows of plan.csv match what is stored. Nothing changed."
    assert BudgetLine.objects.count() == 2


@pytest.mark.parametrize(
    "row, column, reason",
    [
        ({"initiative_code": "INI-4040"}, "initiative_code", "Unknown initiative code 'INI-4040'"),
        ({"month": "2026-13"}, "month", "'2026-13' is not a real month"),
        ({"month": "March 2026"}, "month", "not a month like 2026-03"),
        ({"category": "travel"}, "category", "Unknown category 'travel'"),
        ({"amount": "-5.00"}, "amount", "cannot be negative"),
        ({"amount": '"1,000.00"'}, "amount", "thousands separator"),
        ({"amount": "5.001"}, "amount", NOT_CENTS),  # the amount rule's own words
    ],
)
def test_bad_budget_rows_are_refused(initiative, row, column, reason):
    report = budget(budget_csv({"month": "2026-05"}, row))
    assert [(e.line, e.column) for e in report.errors] == [(3, column)]
    assert reason in report.errors[0].message
    assert BudgetLine.objects.count() == 0


def test_duplicate_budget_cell_names_the_first_line(initiative):
    report = budget(budget_csv({}, {"amount": "5.00"}))
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (3, "month", "INI-0001 2026-03 labor also appears on line 2")
    ]


def test_an_unchanged_line_in_a_locked_month_is_not_an_error(initiative):
    BudgetLineFactory(initiative=initiative, month=MARCH, category="labor", amount=Decimal("1000.00"))
    PeriodLockFactory(month=MARCH)
    assert budget(budget_csv({})).ok


def test_import_budget_command(initiative, tmp_path, capsys):
    path = tmp_path / "plan.csv"
    path.write_bytes(budget_csv({}))
    call_command("import_budget", str(path))
    assert "Imported 1 new budget line from plan.csv" in capsys.readouterr().out
    path.write_bytes(budget_csv({"category": "food"}))
    with pytest.raises(CommandError):
        call_command("import_budget", str(path))
    assert BudgetLine.objects.count() == 1


def test_import_budget_command_says_when_there_is_nothing_new(initiative, tmp_path, capsys):
    path = tmp_path / "plan.csv"
    path.write_bytes(budget_csv({}))
    call_command("import_budget", str(path))
    capsys.readouterr()
    call_command("import_budget", str(path))
    assert "Nothing new to import: the only row of plan.csv matches what is stored." in capsys.readouterr().out


@pytest.mark.parametrize("column", BUDGET_COLUMNS)
def test_a_nul_in_any_budget_column_is_refused_naming_line_and_column(initiative, finance, column):
    good = {"initiative_code": "INI-0001", "month": "2026-03", "category": "labor", "amount": "1000.00"}
    data = budget_csv({"month": "2026-04"}, {column: with_nul(good[column])})
    for dry_run in (True, False):
        report = budget(data, by=finance, dry_run=dry_run)
        assert [(e.line, e.column) for e in report.errors] == [(3, column)]
        assert "NUL character" in report.errors[0].message
    assert BudgetLine.objects.count() == 0


def test_budget_codes_and_categories_in_any_case_or_by_label(initiative, finance):
    report = budget(budget_csv({"initiative_code": "ini-0001", "category": "Labor"}), by=finance)
    assert report.saved, report.errors
    assert list(BudgetLine.objects.values_list("initiative__code", "category")) == [("INI-0001", "labor")]


def test_two_spellings_of_one_budget_cell_are_a_duplicate(initiative):
    report = budget(budget_csv({}, {"initiative_code": "ini-0001", "category": "LABOR", "amount": "5.00"}))
    assert [(e.line, e.column, e.message) for e in report.errors] == [
        (3, "month", "INI-0001 2026-03 labor also appears on line 2")
    ]


@pytest.mark.parametrize(("digits", "reason"), [(30, TOO_LARGE), (1_000_000, "too long to be an amount")])
def test_a_huge_budget_amount_names_its_column(initiative, digits, reason):
    """30 digits once crashed the cents check (InvalidOperation); a million hit the CSV field limit."""
    report = budget(budget_csv({"amount": "1" * digits}))
    assert [(e.line, e.column) for e in report.errors] == [(2, "amount")]
    assert reason in report.errors[0].message and len(report.errors[0].message) < 200
    assert BudgetLine.objects.count() == 0


def test_a_huge_fx_rate_names_its_column():
    report = fx(csv_bytes(FX_COLUMNS, [{"currency": "EUR", "month": "2026-03", "rate": "7" * 1_000_000}]))
    assert [(e.line, e.column) for e in report.errors] == [(2, "rate")]
    assert "too long to be a rate" in report.errors[0].message  # parsed no further: no arithmetic on it
    assert not FxRate.objects.exists()


# --- FX rates ------------------------------------------------------------------------------


def fx(data: bytes, by=None):
    return import_run(kind="fx_rates", data=data, file_name="rates.csv", by=by)


def test_fx_file_sets_rates_and_recomputes_expenses(finance):
    eur_rate(MARCH, "1.0")
    expense = ExpenseFactory(incurred_on=dt.date(2026, 3, 9), currency="EUR", amount=Decimal("10.00"))
    data = csv_bytes(
        FX_COLUMNS,
        [
            {"currency": "EUR", "month": "2026-03", "rate": "1.25"},
            {"currency": "GBP", "month": "2026-03", "rate": "1.3"},
        ],
    )
    report = fx(data, by=finance)
    assert report.saved and (report.new, report.changed) == (1, 1)
    expense.refresh_from_db()
    assert expense.amount_reporting == Decimal("12.50")
    assert FxRate.objects.get(currency="GBP").rate == Decimal("1.3")


@pytest.mark.parametrize(
    "row, column, reason",
    [
        ({"currency": "USD", "month": "2026-03", "rate": "1"}, "currency", "reporting currency"),
        ({"currency": "ABC", "month": "2026-03", "rate": "1"}, "currency", "not an ISO 4217"),
        ({"currency": "EUR", "month": "2026-3", "rate": "1"}, "month", "not a month like 2026-03"),
        # The rate's one rule (budgets.services.fx.fx_rate_errors), in the words of the form and the API.
        ({"currency": "EUR", "month": "2026-03", "rate": "0"}, "rate", "A rate must be a positive number."),
        ({"currency": "EUR", "month": "2026-03", "rate": "1.123456789"}, "rate", "at most 8 decimal places"),
        ({"currency": "EUR", "month": "2026-03", "rate": "12345678901"}, "rate", "That rate is too large."),
    ],
)
def test_bad_fx_rows_are_refused(row, column, reason):
    report = fx(csv_bytes(FX_COLUMNS, [row]))
    assert [(e.line, e.column) for e in report.errors] == [(2, column)]
    assert reason in report.errors[0].message
    assert not FxRate.objects.exists()


def test_fx_file_for_a_locked_month_is_refused_and_nothing_recomputed():
    eur_rate(MARCH, "1.0")
    ExpenseFactory(incurred_on=dt.date(2026, 3, 9), currency="EUR", amount=Decimal("10.00"))
    PeriodLockFactory(month=MARCH)
    report = fx(csv_bytes(FX_COLUMNS, [{"currency": "EUR", "month": "2026-03", "rate": "2"}]))
    assert report.errors[0].message.startswith("March 2026 is locked")
    assert Expense.objects.get().amount_reporting == Decimal("10.00")


@pytest.mark.parametrize(
    ("currency", "rate"),
    [("ABC", "1"), ("USD", "1"), ("EUR", "0"), ("EUR", "-2"), ("EUR", "1.123456789"), ("EUR", "12345678901")],
)
def test_the_importer_refuses_a_rate_in_the_words_of_the_one_rate_rule(currency, rate):
    """Same rule, same message as the form, the API and the admin (budgets.services.fx.fx_rate_errors)."""
    from budgets.services.fx import fx_rate_errors

    expected = fx_rate_errors(currency=currency, month=dt.date(2026, 3, 1), rate=Decimal(rate))
    report = fx(csv_bytes(FX_COLUMNS, [{"currency": currency, "month": "2026-03", "rate": rate}]))

    assert {error.column: error.message for error in report.errors} == expected
    assert not FxRate.objects.exists()
