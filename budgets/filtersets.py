"""One FilterSet per model, shared by the HTML lists and the API (NetBox style)."""

from __future__ import annotations

import django_filters
from django import forms

from budgets.choices import Category, Payer
from budgets.currencies import currency_choices
from budgets.forms import BootstrapFormMixin
from budgets.models import Expense, FxRate
from budgets.months import month_bounds, parse_year_month


class FilterForm(BootstrapFormMixin, forms.Form):
    """Filter forms render with Bootstrap classes like every other form."""


class YearMonthFormField(forms.CharField):
    """`2026-03` → date(2026, 3, 1); anything else is a field error (the API's 400, the page's notice)."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return parse_year_month(value)
        except ValueError:
            # The value goes in as a param: a message is a %-format string, and the value may hold a `%`.
            raise forms.ValidationError(
                "“%(value)s” is not a month like 2026-03 (YYYY-MM).", code="invalid", params={"value": value}
            ) from None


class MonthFilter(django_filters.CharFilter):
    """`2026-03` → the half-open date range of that month (so the date index is used)."""

    field_class = YearMonthFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        first, after = month_bounds(value)
        return qs.filter(**{f"{self.field_name}__gte": first, f"{self.field_name}__lt": after})


class ExpenseFilterSet(django_filters.FilterSet):
    initiative = django_filters.CharFilter(
        field_name="initiative__code",
        lookup_expr="exact",
        label="Initiative",
        widget=forms.TextInput(attrs={"placeholder": "INI-0001"}),
        method="filter_initiative",
    )
    month = MonthFilter(field_name="incurred_on", label="Month")
    paid_by = django_filters.ChoiceFilter(choices=Payer.choices, label="Paid by", empty_label="Any payer")
    category = django_filters.ChoiceFilter(choices=Category.choices, label="Category", empty_label="Any category")
    currency = django_filters.ChoiceFilter(choices=currency_choices, label="Currency", empty_label="Any currency")
    source = django_filters.CharFilter(
        field_name="source", label="Source", widget=forms.TextInput(attrs={"placeholder": "erp, manual…"})
    )

    class Meta:
        model = Expense
        form = FilterForm
        fields = ["initiative", "month", "paid_by", "category", "currency", "source"]

    def filter_initiative(self, queryset, name, value):
        # Codes are stored upper case; a join on the code keeps the (initiative, incurred_on) index in play.
        return queryset.filter(initiative__code=value.strip().upper())


class FxRateFilterSet(django_filters.FilterSet):
    currency = django_filters.ChoiceFilter(choices=currency_choices, label="Currency", empty_label="Any currency")
    month = MonthFilter(field_name="month", label="Month")

    class Meta:
        model = FxRate
        form = FilterForm
        fields = ["currency", "month"]
