"""Forms of the finance pages. They parse and show errors; the rules live in budgets.services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from budgets.amounts import validate_budget_amount, validate_expense_amount
from budgets.choices import Category, Payer
from budgets.currencies import currency_choices
from budgets.months import month_short_label, parse_year_month
from budgets.selectors import AUDITED, BudgetGridData
from budgets.services.imports import IMPORTERS
from budgets.services.locks import PeriodLockedError
from initiatives.choices import Role
from initiatives.models import Initiative
from portfolio.text import canonical_code

# An amount field only parses the number typed; budgets.amounts judges it (the rule the API,
# the services and the importers apply too), so every path gives the same message.
AMOUNT_ERRORS = {"invalid": "Type an amount like 1250.00."}


def add_service_errors(form: forms.Form, error, *, lock_field: str | None = None) -> None:
    """Show a service's ValidationError on the form: under the field it names, else at the top.

    A locked month is shown under `lock_field` (the form's date or month field) when given.
    """
    if isinstance(error, PeriodLockedError) and lock_field in form.fields:
        form.add_error(lock_field, error.messages)
    elif hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class BootstrapFormMixin:
    """Give every widget its Bootstrap 5 class, so templates render fields with one include."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for bound_field in self.fields.values():
            widget = bound_field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (the browser's month picker); cleans to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def prepare_value(self, value):
        if isinstance(value, dt.date):
            return f"{value:%Y-%m}"
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_year_month(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None


class ExpenseForm(BootstrapFormMixin, forms.Form):
    initiative = forms.CharField(
        label="Initiative code", max_length=16, widget=forms.TextInput(attrs={"placeholder": "INI-0001"})
    )
    incurred_on = forms.DateField(label="Incurred on", widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(
        validators=[validate_expense_amount],
        error_messages=AMOUNT_ERRORS,
        help_text="In the expense's currency. Negative for a credit or reversal; never zero.",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    currency = forms.ChoiceField(choices=currency_choices)
    paid_by = forms.ChoiceField(
        label="Paid by", choices=Payer.choices, help_text="Whose cost centre was charged.", widget=forms.RadioSelect
    )
    category = forms.ChoiceField(choices=Category.choices)
    vendor = forms.CharField(max_length=200, required=False)
    description = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = settings.REPORTING_CURRENCY

    def clean_initiative(self) -> Initiative:
        code = canonical_code(self.cleaned_data["initiative"])
        initiative = Initiative.objects.filter(code=code).first()
        if initiative is None:
            raise forms.ValidationError(f"There is no initiative {code}.")
        return initiative


class FxRateForm(BootstrapFormMixin, forms.Form):
    currency = forms.ChoiceField(choices=())
    month = MonthField()
    rate = forms.DecimalField(
        max_digits=18,
        decimal_places=8,
        min_value=Decimal("0.00000001"),
        help_text="Units of reporting currency per one unit of this currency.",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [
            (code, label) for code, label in currency_choices() if code != settings.REPORTING_CURRENCY
        ]
        self.fields["currency"].initial = "EUR" if settings.REPORTING_CURRENCY != "EUR" else "USD"
        self.fields["rate"].help_text = f"Units of {settings.REPORTING_CURRENCY} per one unit of this currency."


class PeriodLockForm(BootstrapFormMixin, forms.Form):
    month = MonthField()
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"placeholder": "March close completed"}))


class UnlockForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.TextInput(attrs={"placeholder": "Why reopen it? (kept in the history)"})
    )


class ImportUploadForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="What the file holds",
        choices=[(kind, importer.label) for kind, importer in IMPORTERS.items()],
        widget=forms.RadioSelect,
    )
    file = forms.FileField(label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
            raise forms.ValidationError(
                f"The file is {upload.size / (1024 * 1024):.1f} MB; the limit is {limit:g} MB. Nothing was saved."
            )
        return upload


class AuditFilterForm(BootstrapFormMixin, forms.Form):
    model = forms.ChoiceField(
        # A callable: apps above budgets add their records to AUDITED when they are ready.
        required=False,
        choices=lambda: [("", "All records")] + [(key, a.label) for key, a in AUDITED.items()],
    )
    user = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    initiative = forms.CharField(
        required=False, max_length=16, widget=forms.TextInput(attrs={"placeholder": "INI-0001"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # People who can change finance records: finance and administrators.
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(Q(groups__name=Role.FINANCE) | Q(groups__name=Role.ADMIN) | Q(is_superuser=True))
            .distinct()
            .order_by("username")
        )
        self.fields["user"].label_from_instance = lambda user: user.get_full_name() or user.get_username()


class BudgetGridForm(forms.Form):
    """One field per (month, category) cell, the version the grid was built from, and one annual field per row.

    Cells of locked months are disabled, and so are the empty cells of months outside the
    initiative's dates (a line stranded there before the rule stays editable, so it can be
    cleared): the browser does not send them and the form keeps their stored value. A value
    posted for one all the same (a page loaded before the month was locked or the dates
    changed, a forged request) is passed on as a change when it differs from the stored one,
    so the save is refused with the month named, rather than the value being dropped in silence.
    """

    version = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, grid: BudgetGridData, readonly: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.grid = grid
        self.readonly = readonly
        self.refused_changes: dict[tuple[dt.date, str], Decimal | None] = {}
        self.fields["version"].initial = grid.version
        for month in grid.months:
            for category, label in grid.categories:
                cell_label = f"{label}, {month_short_label(month)}"
                stored = grid.amounts.get((month, category))
                self.fields[self.cell_name(month, category)] = forms.DecimalField(
                    validators=[validate_budget_amount],
                    required=False,
                    label=cell_label,
                    error_messages=AMOUNT_ERRORS,
                    initial=stored,
                    disabled=readonly or month in grid.locked or (month in grid.outside and stored is None),
                    widget=forms.NumberInput(
                        attrs={
                            "step": "0.01",
                            "min": "0",
                            "class": "form-control grid-cell",
                            "aria-label": cell_label,
                            "data-stored": "" if stored is None else f"{stored:.2f}",
                        }
                    ),
                )
        for category, label in grid.categories:
            self.fields[self.annual_name(category)] = forms.DecimalField(
                validators=[validate_budget_amount],
                required=False,
                label=f"{label}: annual amount",
                error_messages=AMOUNT_ERRORS,
                disabled=readonly,
                widget=forms.NumberInput(
                    attrs={"step": "0.01", "min": "0", "placeholder": "Year", "class": "form-control annual-input"}
                ),
            )

    def clean(self):
        cleaned = super().clean()
        if self.readonly:
            return cleaned
        for month in self.grid.months:
            for category, _ in self.grid.categories:
                name = self.cell_name(month, category)
                field = self.fields[name]
                if not field.disabled:
                    continue
                posted = field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                if posted is None:
                    continue  # not sent, as a browser does with a disabled input
                try:
                    typed = field.to_python(posted)
                except forms.ValidationError as error:
                    self.add_error(name, error)
                    continue
                if typed != self.grid.amounts.get((month, category)):
                    self.refused_changes[(month, category)] = typed
        return cleaned

    @staticmethod
    def cell_name(month: dt.date, category: str) -> str:
        return f"cell_{month:%Y%m}_{category}"

    @staticmethod
    def annual_name(category: str) -> str:
        return f"annual_{category}"

    def cell_amounts(self) -> dict[tuple[dt.date, str], Decimal | None]:
        """The cleaned value of every editable cell (None for blank), and of every disabled cell posted changed."""
        return {
            **{
                (month, category): self.cleaned_data.get(self.cell_name(month, category))
                for month in self.grid.months
                for category, _ in self.grid.categories
                if not self.fields[self.cell_name(month, category)].disabled
            },
            **self.refused_changes,
        }
