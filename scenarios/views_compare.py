"""The comparison page and its exports (PRODUCT.md §3a): the live plan and up to three scenarios side by side.

Thin: `CompareForm` reads the fiscal year and the scenarios (those the viewer may see, three at most);
`scenarios.comparison` computes every figure on read; `scenarios.exports` writes the downloads.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from initiatives.filtersets import fiscal_year_choices
from portfolio import fiscal
from portfolio.policy import can

from . import comparison as engine
from . import exports, selectors
from .templatetags.scenario_tags import FIGURE_ROWS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SORTS = {name: name.replace("_", " ") for name in engine.DELTAS}


class CompareForm(forms.Form):
    """Which fiscal year, which scenarios (up to three of those the viewer may see), how the differences sort."""

    fiscal_year = forms.TypedChoiceField(label="Fiscal year", coerce=int, choices=())
    scenarios = forms.ModelMultipleChoiceField(
        label="Scenarios", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    sort = forms.ChoiceField(label="Sort the differences by", choices=list(SORTS.items()), required=False)

    def __init__(self, data, *, user):
        data = data.copy()
        data.setdefault("fiscal_year", str(fiscal.fiscal_year(timezone.localdate())))
        super().__init__(data)
        self.fields["fiscal_year"].choices = fiscal_year_choices()
        self.fields["scenarios"].queryset = selectors.visible_scenarios(user).order_by("name", "pk")
        for name in ("fiscal_year", "sort"):
            self.fields[name].widget.attrs["class"] = "form-select"
        self.fields["scenarios"].widget.attrs["class"] = "form-check-input"

    def clean_scenarios(self):
        chosen = self.cleaned_data["scenarios"]
        if len(chosen) > engine.MAX_SCENARIOS:
            raise forms.ValidationError(f"Compare at most {engine.MAX_SCENARIOS} scenarios with the live plan.")
        return chosen


def _compared(request: HttpRequest):
    if not can(request.user, "scenarios.view"):
        raise PermissionDenied
    form = CompareForm(request.GET, user=request.user)
    if not form.is_valid():
        return form, None
    chosen = list(form.cleaned_data["scenarios"])
    return form, engine.comparison(fiscal_year=form.cleaned_data["fiscal_year"], scenarios=chosen)


def _bar(figures) -> dict:
    """Marketing's and IT's parts of the plan as widths (percent of the plan) for the chart."""
    total = figures.planned_total
    marketing = figures.planned_marketing * 100 / total if total else Decimal(0)
    return {"marketing": f"{marketing:.2f}", "it": f"{100 - marketing:.2f}" if total else "0"}


@require_GET
def scenario_compare(request: HttpRequest) -> HttpResponse:
    """/scenarios/compare/: the figures of the live plan and the chosen scenarios, the chart, the differences."""
    form, result = _compared(request)
    context = {"form": form, "result": result}
    if result is not None:
        sort = form.cleaned_data.get("sort") or "planned_total"
        context.update(
            columns=[{"column": column, "bar": _bar(column.overall)} for column in result.columns],
            differences=engine.sorted_differences(result.differences, by=sort, descending=sort != "lane")[:200],
            fiscal_year_label=fiscal.fiscal_year_label(result.fiscal_year),
            figure_rows=FIGURE_ROWS,
            query=request.GET.urlencode(),
        )
    return render(request, "scenarios/compare.html", context, status=200 if result is not None else 400)


@require_GET
def scenario_compare_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """/scenarios/compare.csv and .xlsx: the same comparison as the page (`differences=1`: the CSV of differences)."""
    form, result = _compared(request)
    if result is None:
        return render(request, "scenarios/compare.html", {"form": form, "result": None}, status=400)
    name = f"scenario-comparison-{fiscal.fiscal_year_label(result.fiscal_year)}"
    if fmt == "xlsx":
        out = io.BytesIO()
        exports.write_xlsx(result, out)
        response = HttpResponse(out.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    text = io.StringIO()
    differences = request.GET.get("differences") == "1"
    exports.write_csv(result, text, differences=differences)
    response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
    suffix = "-differences" if differences else ""
    response["Content-Disposition"] = f'attachment; filename="{name}{suffix}.csv"'
    return response
