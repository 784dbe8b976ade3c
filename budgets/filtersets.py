"""One FilterSet per model, shared by the HTML lists and the API (NetBox style)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Max, Min

from budgets.choices import Category, Payer
from budgets.currencies import currency_choices
from budgets.forms import BootstrapFormMixin
from budgets.models import Expense, FxRate
from budgets.months import month_bounds, month_choices, parse_year_month
from portfolio.filters import ChoiceValueFilter, CodeFilter


class FilterForm(BootstrapFormMixin, forms.Form):
    """Filter forms render with Bootstrap classes like every other form."""


class MonthSelect(forms.Select):
    """A month picker that reads: "Any month", then "March 2026"… newest first, grouped by year.

    The browser's own month input showed `--------- ----` until something was
    picked. `months` gives the (first, last) month to offer and is only called when
    the widget renders, never when a FilterSet just filters (as the API does).
    """

    def __init__(self, attrs=None, months=None):
        super().__init__(attrs)
        self.months = months

    def get_context(self, name, value, attrs):
        first, last = self.months() if self.months is not None else (None, None)
        selected = value if isinstance(value, str) else ""
        self.choices = month_choices(first, last, selected=selected)
        return super().get_context(name, value, attrs)


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
    """`2026-03` → the half-open date range of that month (so the date index is used).

    Any `YYYY-MM` filters (the API takes any month); the HTML select offers the
    months the filtered records span.
    """

    field_class = YearMonthFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MonthSelect())
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        field = super().field
        if isinstance(field.widget, MonthSelect):
            field.widget.months = self.month_range
        return field

    def month_range(self) -> tuple[dt.date | None, dt.date | None]:
        """The first and last dates of the filter's field over the FilterSet's records (two index lookups)."""
        span = self.parent.queryset.aggregate(first=Min(self.field_name), last=Max(self.field_name))
        return span["first"], span["last"]

    def filter(self, qs, value):
        if value is None:
            return qs
        first, after = month_bounds(value)
        return qs.filter(**{f"{self.field_name}__gte": first, f"{self.field_name}__lt": after})


class ExpenseFilterSet(django_filters.FilterSet):
    # Codes are stored upper case; a join on the code keeps the (initiative, incurred_on) index in play.
    initiative = CodeFilter(
        field_name="initiative__code",
        label="Initiative",
        widget=forms.TextInput(attrs={"placeholder": "INI-0001"}),
    )
    month = MonthFilter(field_name="incurred_on", label="Month")
    paid_by = ChoiceValueFilter(choices=Payer.choices, label="Paid by", empty_label="Any payer")
    category = ChoiceValueFilter(choices=Category.choices, label="Category", empty_label="Any category")
    currency = ChoiceValueFilter(choices=currency_choices, label="Currency", empty_label="Any currency")
    source = django_filters.CharFilter(
        field_name="source", label="Source", widget=forms.TextInput(attrs={"placeholder": "erp, manual…"})
    )

    class Meta:
        model = Expense
        form = FilterForm
        fields = ["initiative", "month", "paid_by", "category", "currency", "source"]


class FxRateFilterSet(django_filters.FilterSet):
    currency = ChoiceValueFilter(choices=currency_choices, label="Currency", empty_label="Any currency")
    month = MonthFilter(field_name="month", label="Month")

    class Meta:
        model = FxRate
        form = FilterForm
        fields = ["currency", "month"]
