"""The finance landing page and the budget pages: the index, the jump box, one initiative's budget grid for a year."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from budgets.forms import (
    BudgetGridForm,
    add_service_errors,
)
from budgets.models import FxRate, ImportRun, PeriodLock
from budgets.months import month_label, month_short_label
from budgets.selectors import approved_without_budget, budget_grid, budget_initiatives
from budgets.services.budgets import BudgetGridConflictError, budget_grid_save, budget_spread_annual
from budgets.views.common import current_fiscal_year, requested_fiscal_year, require
from initiatives.models import Initiative
from initiatives.rules import visible_initiatives
from portfolio.fiscal import fiscal_year, fiscal_year_label, parse_fiscal_year
from portfolio.pagination import web_page_number
from portfolio.policy import can
from portfolio.text import canonical_code, unstorable_character

# --- landing ---------------------------------------------------------------------------


HOME_WAITING_LIMIT = 10  # the overview stays an overview: the ten that start first


def _grid_year_label(initiative: Initiative, current: int) -> str:
    """The fiscal year whose grid to open first: this one, within the initiative's years."""
    first, last = fiscal_year(initiative.start_date), fiscal_year(initiative.end_date)
    return fiscal_year_label(min(max(current, first), max(first, last)))


def finance_home(request):
    require(request, "budgets.manage")
    today = timezone.localdate()
    this_month = today.replace(day=1)
    latest_lock = PeriodLock.objects.select_related("locked_by").first()
    waiting, waiting_count = approved_without_budget(user=request.user, limit=HOME_WAITING_LIMIT)
    for initiative in waiting:
        initiative.grid_year_label = _grid_year_label(initiative, current_fiscal_year())
    context = {
        "without_budget": waiting,
        "without_budget_count": waiting_count,
        "tab": "home",
        "fiscal_year": current_fiscal_year(),
        "fiscal_year_label": fiscal_year_label(current_fiscal_year()),
        "latest_lock": latest_lock,
        "latest_import": ImportRun.objects.select_related("run_by").first(),
        "fx_this_month": FxRate.objects.filter(month=this_month).count(),
        "this_month_label": month_label(this_month),
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/home.html", context)


# --- budgets -----------------------------------------------------------------------------


def budget_index(request):
    require(request, "budgets.manage")
    year = requested_fiscal_year(request)
    query = (request.GET.get("q") or "").strip()
    initiatives = visible_initiatives(request.user, Initiative.objects.all())
    if query:
        initiatives = initiatives.filter(Q(code__iexact=query) | Q(title__icontains=query))
    initiatives = budget_initiatives(queryset=initiatives.order_by("code"), fiscal_year=year)
    paginator = Paginator(initiatives, 25)
    page = paginator.page(web_page_number(request, last=paginator.num_pages))
    current = current_fiscal_year()
    context = {
        "tab": "budgets",
        "page": page,
        "query": query,
        "fiscal_year": year,
        "fiscal_year_label": fiscal_year_label(year),
        "fiscal_years": [fiscal_year_label(y) for y in range(current - 2, current + 3)],
    }
    return render(request, "budgets/budget_index.html", context)


def budget_jump(request):
    """The landing page's "open a grid" box: code + fiscal year → the grid."""
    require(request, "budgets.manage")
    code = canonical_code(request.GET.get("code") or "")
    year = request.GET.get("fiscal_year") or fiscal_year_label(current_fiscal_year())
    if unstorable_character(code) is not None:
        messages.error(request, "That is not an initiative code.")
        return redirect("budgets:budget_index")
    if not Initiative.objects.filter(code=code).exists():
        messages.error(request, f"There is no initiative {code or '(no code given)'}.")
        return redirect("budgets:budget_index")
    return redirect("budgets:budget_grid", code=code, fiscal_year=year)


@require_http_methods(["GET", "POST"])
def budget_grid_view(request, code: str, fiscal_year: str):
    initiative = get_object_or_404(visible_initiatives(request.user, Initiative.objects.all()), code=code)
    require(request, "initiative.view_finances", initiative)
    try:
        year = parse_fiscal_year(fiscal_year)
    except ValueError:
        raise Http404("not a fiscal year") from None
    can_edit = can(request.user, "budgets.manage")
    grid = budget_grid(initiative=initiative, fiscal_year=year)
    conflict = None
    if request.method == "POST":
        require(request, "budgets.manage")
        form = BudgetGridForm(request.POST, grid=grid)
        if form.is_valid():
            action = request.POST.get("action", "save")
            if action.startswith("spread:"):
                form = _spread(form, grid, action.removeprefix("spread:"))
            else:
                try:
                    result = budget_grid_save(
                        initiative=initiative,
                        fiscal_year=year,
                        amounts=form.cell_amounts(),
                        expected_version=form.cleaned_data["version"],
                        by=request.user,
                    )
                except BudgetGridConflictError as error:
                    conflict = {"message": error.messages[0], "cells": _typed_changes(form, grid)}
                    grid = budget_grid(initiative=initiative, fiscal_year=year)
                    form = BudgetGridForm(grid=grid)
                except ValidationError as error:
                    add_service_errors(form, error)
                else:
                    if result.changed:
                        messages.success(
                            request,
                            f"Budget {fiscal_year_label(year)} of {initiative.code} saved: "
                            f"{len(result.added)} added, {len(result.updated)} changed, {len(result.removed)} removed.",
                        )
                    else:
                        messages.info(request, "Nothing changed: the grid already held those figures.")
                    return redirect("budgets:budget_grid", code=initiative.code, fiscal_year=fiscal_year_label(year))
    else:
        form = BudgetGridForm(grid=grid, readonly=not can_edit)
    context = {
        "tab": "budgets",
        "initiative": initiative,
        "grid": grid,
        "form": form,
        "rows": _grid_rows(form, grid),
        "month_headers": [
            {
                "label": month_short_label(month),
                "locked": month in grid.locked,
                "outside": month in grid.outside,
                "month": month,
            }
            for month in grid.months
        ],
        "can_edit": can_edit,
        "fiscal_year_label": fiscal_year_label(year),
        "previous_year": fiscal_year_label(year - 1),
        "next_year": fiscal_year_label(year + 1),
        "conflict": conflict,
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/budget_grid.html", context)


def _spread(form: BudgetGridForm, grid, category: str) -> BudgetGridForm:
    """Fill one row from its annual amount (not saved: the user reviews and saves)."""
    if category not in dict(grid.categories):
        form.add_error(None, "Unknown row to spread.")
        return form
    annual = form.cleaned_data.get(form.annual_name(category))
    if annual is None:
        form.add_error(form.annual_name(category), "Type the annual amount to spread over the months.")
        return form
    fixed = {month: grid.amounts.get((month, category)) for month in grid.locked}
    try:
        spread = budget_spread_annual(
            initiative=grid.initiative, fiscal_year=grid.fiscal_year, annual=annual, locked=grid.locked, fixed=fixed
        )
    except ValidationError as error:
        form.add_error(form.annual_name(category), error.message_dict.get("annual", error.messages))
        return form
    data = form.data.copy()
    for month, amount in spread.items():
        data[form.cell_name(month, category)] = f"{amount:.2f}"
    data[form.annual_name(category)] = ""
    refreshed = BudgetGridForm(data, grid=grid)
    refreshed.is_valid()
    months = sorted(spread)
    notes = []
    if grid.outside:
        notes.append(f"{grid.initiative.code} runs {grid.running}")
    if grid.locked - grid.outside:
        notes.append("locked months keep their amount")
    refreshed.spread_notice = (
        f"{annual:,.2f} spread over {len(spread)} month{'s' if len(spread) != 1 else ''} of "
        f"{dict(grid.categories)[category]}, {month_short_label(months[0])} to {month_short_label(months[-1])}"
        f"{' (' + '; '.join(notes) + ')' if notes else ''}. Review the row, then save."
    )
    return refreshed


def _typed_changes(form: BudgetGridForm, grid) -> list[dict]:
    """The cells the user changed before their save hit a conflict, so they can re-enter them."""
    changes = []
    for (month, category), amount in form.cell_amounts().items():
        before = grid.amounts.get((month, category))
        if amount != before:
            changes.append(
                {
                    "cell": f"{dict(grid.categories)[category]}, {month_short_label(month)}",
                    "before": before,
                    "typed": amount,
                }
            )
    return changes


def _grid_rows(form: BudgetGridForm, grid) -> dict:
    """Months as rows, categories as columns: cells, month totals, category totals, actuals and variance."""

    def value_of(month, category) -> Decimal:
        cell = form[form.cell_name(month, category)]
        if cell.errors:  # shown under the cell; a refused value (a million digits) is not added up
            return Decimal(0)
        raw = cell.value()
        try:
            return Decimal(str(raw)) if raw not in (None, "") else Decimal(0)
        except ArithmeticError:
            return Decimal(0)

    months = []
    category_totals = {category: Decimal(0) for category, _ in grid.categories}
    for month in grid.months:
        cells = []
        month_total = Decimal(0)
        for category, _ in grid.categories:
            value = value_of(month, category)
            month_total += value
            category_totals[category] += value
            cells.append(form[form.cell_name(month, category)])
        actual = grid.actuals.get(month, Decimal(0))
        months.append(
            {
                "month": month,
                "label": month_short_label(month),
                "locked": month in grid.locked,
                "outside": month in grid.outside,
                "cells": cells,
                "total": month_total,
                "actual": actual,
                "variance": month_total - actual,
            }
        )
    grand_total = sum(category_totals.values(), Decimal(0))
    actual_total = sum(grid.actuals.get(month, Decimal(0)) for month in grid.months)
    return {
        "months": months,
        "categories": [
            {
                "category": category,
                "label": label,
                "total": category_totals[category],
                "annual": form[form.annual_name(category)],
            }
            for category, label in grid.categories
        ],
        "grand_total": grand_total,
        "actual_total": actual_total,
        "variance_total": grand_total - actual_total,
    }
