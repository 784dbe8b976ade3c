"""The split rows' one FilterSet: the filters of the finance exports, the API, the reports page and the dashboard.

`fiscal_year` (`FY2027` or `2027`), `quarter` (`Q3` or `3`), `lane` and `status` (value or label,
any case), `initiative` (a code, any case); blanks are no filter. A bad value is a message on its
parameter: the API's 400 (`portfolio.api.FilterBackend`), the reports page's notice, and
`SplitFilterError` for the exports and the dashboard (`split.selectors.SplitFilters.parse`, a thin
wrapper over this form). The OpenAPI parameters of `/api/split/` and `/api/split/summary/` are
documented from these filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from initiatives.choices import Lane, Status
from portfolio.fiscal import parse_fiscal_year
from portfolio.nul_guard import nul_parameter_message
from portfolio.text import canonical_code, choice_value, unstorable_character
from split.models import SplitRow

QUARTER_SPELLINGS = ["1", "2", "3", "4", "Q1", "Q2", "Q3", "Q4"]


class ParameterField(forms.CharField):
    """A query parameter's text, trimmed; one holding a NUL (or a lone surrogate) is refused by name.

    The database cannot compare such a value (a form's POST is not checked by the NUL guard).
    `parameter` is the parameter's name, set by the form.
    """

    parameter = ""

    def clean(self, value):
        if isinstance(value, str) and unstorable_character(value) is not None:
            raise forms.ValidationError(nul_parameter_message(self.parameter), code="nul")
        text = super().clean(value)
        return self.parse(text) if text else None

    def parse(self, text: str) -> Any:
        return text

    @staticmethod
    def refuse(message: str, text: str) -> forms.ValidationError:
        # The value goes in as a param: a message is a %-format string, and the value may hold a `%`.
        return forms.ValidationError(message, code="invalid", params={"value": text})


class FiscalYearField(ParameterField):
    def parse(self, text: str) -> int:
        try:
            return parse_fiscal_year(text)
        except ValueError:
            raise self.refuse("“%(value)s” is not a fiscal year like FY2027.", text) from None


class QuarterField(ParameterField):
    def parse(self, text: str) -> int:
        digits = text.upper().removeprefix("Q")
        if digits not in ("1", "2", "3", "4"):
            raise self.refuse("“%(value)s” is not a quarter: use 1–4 or Q1–Q4.", text)
        return int(digits)


class ChoiceValueField(ParameterField):
    """A choice by its value or its label, in any case (`portfolio.text.choice_value`) → its value."""

    def __init__(self, *, choices, noun: str, **kwargs):
        kwargs.pop("empty_label", None)
        kwargs.pop("null_label", None)
        super().__init__(**kwargs)
        self.choices, self.noun = choices, noun

    def parse(self, text: str) -> str:
        if (value := choice_value(self.choices, text)) is None:
            values = ", ".join(value for value, _ in self.choices)
            raise self.refuse(f"“%(value)s” is not a {self.noun}: use one of {values}.", text)
        return value


class CodeField(ParameterField):
    def parse(self, text: str) -> str:
        return canonical_code(text)


@extend_schema_field(
    {
        "type": "string",
        "description": "Fiscal year, `FY2027` or `2027` (named after the calendar year it ends in).",
    }
)
class FiscalYearFilter(django_filters.Filter):
    field_class = FiscalYearField


@extend_schema_field({"type": "string", "enum": QUARTER_SPELLINGS, "description": "Fiscal quarter: 1–4 or Q1–Q4."})
class QuarterFilter(django_filters.Filter):
    field_class = QuarterField


class ChoiceValueFilter(django_filters.ChoiceFilter):
    """Documented with the choices' values as its enum; also takes their labels, in any case."""

    field_class = ChoiceValueField


class CodeFilter(django_filters.CharFilter):
    field_class = CodeField


class SplitRowFilterForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.parameter = name  # for the NUL message


class SplitRowFilterSet(django_filters.FilterSet):
    fiscal_year = FiscalYearFilter(field_name="fiscal_year")
    quarter = QuarterFilter(field_name="fiscal_quarter")
    lane = ChoiceValueFilter(field_name="lane", choices=Lane.choices, noun="lane", help_text="Lane.")
    status = ChoiceValueFilter(
        field_name="status",
        choices=Status.choices,
        noun="status",
        help_text="The initiative's status at the recompute.",
    )
    initiative = CodeFilter(field_name="initiative_code", help_text="An initiative code, e.g. INI-0042.")

    class Meta:
        model = SplitRow
        form = SplitRowFilterForm
        fields = ["fiscal_year", "quarter", "lane", "status", "initiative"]

    @classmethod
    def validate(cls, params: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        """(cleaned values, {parameter: message}) of `params`; values are None where not given."""
        form = cls(data=params or {}, queryset=SplitRow.objects.none()).form
        if form.is_valid():
            return form.cleaned_data, {}
        messages = {
            name: " ".join(e["message"] for e in errors) for name, errors in form.errors.get_json_data().items()
        }
        return {}, messages

    @classmethod
    def apply(cls, queryset, values: Mapping[str, Any]):
        """`queryset` filtered by already-cleaned `values` (`SplitFilters`' fields): each filter's own lookup."""
        for name, filter_ in cls.base_filters.items():
            if (value := values.get(name)) is not None:
                queryset = filter_.filter(queryset, value)
        return queryset
