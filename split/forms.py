"""Forms of the settlement pages: settle whole fiscal quarters or a range of closed months; reverse.

Thin: they offer what `split.settlements` says may be settled and read what finance typed; the
service decides (its messages land under the field they concern).
"""

from __future__ import annotations

import datetime as dt

from django import forms

from budgets.forms import BootstrapFormMixin
from budgets.months import month_label, parse_year_month
from portfolio.fiscal import fiscal_year_label
from split.settlements import REFERENCE_MAX_LENGTH, months_between, settleable_months, settleable_quarters


def quarter_value(year: int, quarter: int) -> str:
    return f"{fiscal_year_label(year)}-Q{quarter}"


class SettlementForm(BootstrapFormMixin, forms.Form):
    """A whole fiscal quarter, or a first and last month (both closed and unsettled), and the ERP reference."""

    quarter = forms.ChoiceField(
        required=False, label="Fiscal quarter", help_text="Whole quarters whose three months are closed and unsettled."
    )
    first_month = forms.ChoiceField(required=False, label="From month")
    last_month = forms.ChoiceField(required=False, label="To month")
    reference = forms.CharField(
        max_length=REFERENCE_MAX_LENGTH,
        label="ERP reference",
        help_text="The ERP document that books the settlement, e.g. JE-2026-0412.",
        error_messages={"required": "Enter the ERP reference of the settlement."},
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.available_months = settleable_months()
        self.available_quarters = settleable_quarters(self.available_months)
        quarters = {
            quarter_value(year, quarter): (
                f"{fiscal_year_label(year)} Q{quarter} ({month_label(months[0])} – {month_label(months[-1])})"
            )
            for year, quarter, months in self.available_quarters
        }
        self.quarter_months = {
            quarter_value(year, quarter): months for year, quarter, months in self.available_quarters
        }
        empty = "Choose a quarter, or a range below" if quarters else "No whole quarter is closed and unsettled"
        self.fields["quarter"].choices = [("", empty), *quarters.items()]
        months = [(f"{month:%Y-%m}", month_label(month)) for month in self.available_months]
        self.fields["first_month"].choices = [("", "First month"), *months]
        self.fields["last_month"].choices = [("", "Last month"), *months]

    def clean(self):
        data = super().clean()
        quarter, first, last = data.get("quarter"), data.get("first_month"), data.get("last_month")
        if quarter:
            data["months"] = self.quarter_months[quarter]
            data["months_field"] = "quarter"
        elif first and last:
            first_month, last_month = parse_year_month(first), parse_year_month(last)
            if last_month < first_month:
                self.add_error("last_month", "The last month cannot be before the first.")
            data["months"] = months_between(first_month, last_month)
            data["months_field"] = "first_month"
        elif first or last:
            self.add_error("last_month" if first else "first_month", "Choose both the first and the last month.")
        else:
            self.add_error("quarter", "Choose a fiscal quarter, or the first and last month of a range.")
        return data

    @property
    def months(self) -> list[dt.date]:
        return self.cleaned_data.get("months", [])


class SettlementReverseForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason",
        error_messages={"required": "Say why the settlement is being reversed."},
    )
