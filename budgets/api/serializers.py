"""Serializers of the finance endpoints: budget lines, expenses, FX rates, locks, the split and its runs.

Shape only: types, enumerations and the sizes of the columns. Every rule (period
locks, FX conversion, amounts ≥ 0 or never zero, ISO currency codes, duplicates) is
applied by `budgets.services`, whose field messages come back as the 400 body: an amount
field only parses the number, the services judge it by its rule in `budgets.amounts`.
Money is a decimal string with two places (`"1234.50"`), never a float.
"""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from budgets.amounts import MONEY_WHOLE_DIGITS, validate_budget_amount, validate_expense_amount
from budgets.choices import Category, Payer
from budgets.currencies import validate_currency
from budgets.models import MONEY, BudgetLine, Expense, FxRate, PeriodLock
from budgets.months import parse_year_month
from initiatives.api.serializers import PersonField, VisibleInitiativeField
from portfolio.api import ValueOrLabelChoiceField
from portfolio.fiscal import fiscal_year_label

MONTH_PATTERN = r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"})
class MonthField(serializers.Field):
    """A calendar month as `YYYY-MM` (held as the date of its first day)."""

    default_error_messages = {"invalid": "Give a month like 2026-03 (YYYY-MM)."}

    def to_internal_value(self, data) -> dt.date:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_year_month(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"


@extend_schema_field({"type": "string", "pattern": r"^FY[0-9]{4}$", "example": "FY2027"})
class FiscalYearField(serializers.Field):
    """A fiscal year as its label, `FY2027` (named after the calendar year it ends in)."""

    def to_representation(self, value: int) -> str:
        return fiscal_year_label(value)


def money(**kwargs) -> serializers.DecimalField:
    """A money amount as a decimal string with two places."""
    return serializers.DecimalField(max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"], **kwargs)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": rf"^-?\d{{0,{MONEY_WHOLE_DIGITS}}}(?:\.\d{{0,2}})?$"}
)
class AmountInputField(serializers.DecimalField):
    """A money amount a client sends: parsed here, judged by its rule in `budgets.amounts` (the one of
    the forms, the importers and the services, with the same messages) given as the field's validator,
    so a 400 names every bad field at once.

    The field refuses only what is not a number (or a string of more than 1,000 characters).
    """

    def __init__(self, **kwargs):
        super().__init__(max_digits=None, decimal_places=None, **kwargs)


# --- budget lines ------------------------------------------------------------------------


class BudgetLineSerializer(serializers.ModelSerializer):
    initiative = serializers.SlugRelatedField(slug_field="code", read_only=True)
    month = MonthField(read_only=True)
    amount = money(read_only=True)

    class Meta:
        model = BudgetLine
        fields = ["id", "initiative", "month", "category", "amount"]
        read_only_fields = fields


class BudgetLineInputSerializer(serializers.Serializer):
    """Sets the planned amount of one (initiative, month, category): creates the line or changes it."""

    initiative = VisibleInitiativeField(help_text="The initiative's code, e.g. INI-0042.")
    month = MonthField()
    category = ValueOrLabelChoiceField(choices=Category.choices)
    amount = AmountInputField(
        help_text="Planned spend in reporting currency, ≥ 0.", validators=[validate_budget_amount]
    )


class BudgetLineUpdateSerializer(serializers.Serializer):
    """Moves a line to another month or category, or changes its amount (the initiative stays)."""

    month = MonthField()
    category = ValueOrLabelChoiceField(choices=Category.choices)
    amount = AmountInputField(validators=[validate_budget_amount])


# --- expenses ----------------------------------------------------------------------------


class ExpenseSerializer(serializers.ModelSerializer):
    initiative = serializers.SlugRelatedField(slug_field="code", read_only=True)
    amount = money(read_only=True, help_text="In `currency`; negative for a credit or reversal.")
    amount_reporting = money(read_only=True, help_text="`amount` converted at the month's FX rate, half-up.")

    class Meta:
        model = Expense
        fields = [
            "id",
            "initiative",
            *Expense.RECORD_FIELDS,
            "created_at",
        ]
        read_only_fields = fields


class ExpenseUpdateSerializer(serializers.Serializer):
    """The editable fields of an expense (PUT: all of them; PATCH: some)."""

    initiative = VisibleInitiativeField(help_text="The initiative's code, e.g. INI-0042.")
    incurred_on = serializers.DateField()
    amount = AmountInputField(
        help_text="In `currency`; not zero; negative for a credit or reversal.", validators=[validate_expense_amount]
    )
    currency = serializers.CharField(
        help_text="ISO 4217 code, e.g. EUR; converted at the month's FX rate.", validators=[validate_currency]
    )
    paid_by = ValueOrLabelChoiceField(choices=Payer.choices, help_text="Whose cost centre was charged.")
    category = ValueOrLabelChoiceField(choices=Category.choices)
    vendor = serializers.CharField(allow_blank=True, required=False, default="")
    description = serializers.CharField(allow_blank=True, required=False, default="")


class ExpenseInputSerializer(ExpenseUpdateSerializer):
    """A new expense. `source` + `external_ref` identify a document of another system: sending the
    same pair twice is refused, so a retried upload never records the expense twice."""

    source = serializers.CharField(
        max_length=Expense._meta.get_field("source").max_length, required=False, default="api"
    )
    external_ref = serializers.CharField(allow_null=True, allow_blank=True, required=False, default=None)


# A list of expenses is created all or nothing; this bounds one request.
BULK_MAX = 1000


# --- FX rates ---------------------------------------------------------------------------------


class FxRateSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)
    rate = serializers.DecimalField(max_digits=18, decimal_places=8, read_only=True)

    class Meta:
        model = FxRate
        fields = ["id", "currency", "month", "rate"]
        read_only_fields = fields


class FxRateInputSerializer(serializers.Serializer):
    """Sets the rate of a currency for a month (creates or changes it); that month's expenses are reconverted."""

    currency = serializers.CharField(help_text="ISO 4217 code; not the reporting currency (its rate is 1).")
    month = MonthField()
    rate = serializers.DecimalField(
        max_digits=18, decimal_places=8, help_text="Units of reporting currency per one unit of `currency`."
    )


class FxRateUpdateSerializer(serializers.Serializer):
    rate = serializers.DecimalField(
        max_digits=18, decimal_places=8, help_text="Units of reporting currency per one unit of the currency."
    )


# --- period locks ---------------------------------------------------------------------------


class PeriodLockSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)
    locked_by = PersonField(read_only=True)

    class Meta:
        model = PeriodLock
        fields = ["id", "month", "reason", "locked_by", "locked_at"]
        read_only_fields = fields


class PeriodLockInputSerializer(serializers.Serializer):
    month = MonthField()
    reason = serializers.CharField(allow_blank=True, help_text="Why the month is closed, e.g. 'March close done'.")


class UnlockSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="Why the month is reopened (kept in its history).")
