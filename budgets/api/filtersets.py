"""FilterSets of the finance models that have no HTML list yet (budget lines, locks).

Expenses and FX rates reuse `budgets.filtersets` (one FilterSet per model); if a
page ever lists budget lines or locks, these move there.
"""

from __future__ import annotations

import django_filters
from django import forms

from budgets.choices import Category
from budgets.filtersets import FilterForm, MonthFilter
from budgets.models import BudgetLine, PeriodLock
from portfolio.filters import ChoiceValueFilter, CodeFilter
from portfolio.fiscal import fiscal_year_bounds, parse_fiscal_year


class FiscalYearFormField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            year = parse_fiscal_year(value)
            fiscal_year_bounds(year)  # a year the calendar can hold
        except (ValueError, OverflowError):
            # The value goes in as a param: a message is a %-format string, and the value may hold a `%`.
            raise forms.ValidationError(
                "“%(value)s” is not a fiscal year like FY2027.", code="invalid", params={"value": value}
            ) from None
        return year


class FiscalYearFilter(django_filters.CharFilter):
    """`FY2027` or `2027` → the months of that fiscal year (on the `month` field)."""

    field_class = FiscalYearFormField

    def filter(self, qs, value):
        if value is None:
            return qs
        first, last = fiscal_year_bounds(value)
        return qs.filter(**{f"{self.field_name}__gte": first, f"{self.field_name}__lte": last})


class BudgetLineFilterSet(django_filters.FilterSet):
    initiative = CodeFilter(field_name="initiative__code", label="Initiative code")
    month = MonthFilter(field_name="month", label="Month (YYYY-MM)")
    fiscal_year = FiscalYearFilter(field_name="month", label="Fiscal year (FY2027)")
    category = ChoiceValueFilter(choices=Category.choices)

    class Meta:
        model = BudgetLine
        form = FilterForm
        fields = ["initiative", "month", "fiscal_year", "category"]


class PeriodLockFilterSet(django_filters.FilterSet):
    month = MonthFilter(field_name="month", label="Month (YYYY-MM)")
    fiscal_year = FiscalYearFilter(field_name="month", label="Fiscal year (FY2027)")

    class Meta:
        model = PeriodLock
        form = FilterForm
        fields = ["month", "fiscal_year"]
