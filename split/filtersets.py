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
from portfolio.filters import ChoiceValueFilter, CodeFilter, ParameterField
from portfolio.fiscal import parse_fiscal_year
from split.models import SplitRow

QUARTER_SPELLINGS = ["1", "2", "3", "4", "Q1", "Q2", "Q3", "Q4"]


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
