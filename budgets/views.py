"""Finance pages: budget grid, expenses, imports, FX rates, period locks, audit log.

Views parse the request, ask the policy, call a service or a selector and
render; no rule is decided here.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from budgets.choices import Payer
from budgets.filtersets import ExpenseFilterSet, FxRateFilterSet
from budgets.forms import (
    AuditFilterForm,
    BudgetGridForm,
    ExpenseForm,
    FxRateForm,
    ImportUploadForm,
    PeriodLockForm,
    UnlockForm,
    add_service_errors,
)
from budgets.models import Expense, FxRate, ImportRun, PeriodLock
from budgets.months import month_label, month_short_label
from budgets.selectors import (
    audit_log,
    budget_grid,
    budget_initiatives,
    expense_totals,
    recent_imports,
)
from budgets.services.actuals import expense_create, expense_delete, expense_update
from budgets.services.budgets import BudgetGridConflictError, budget_grid_save, budget_spread_annual
from budgets.services.fx import fx_rate_delete, fx_rate_set
from budgets.services.imports import (
    IMPORTERS,
    import_run,
    import_upload_discard,
    import_upload_load,
    import_upload_store,
    report_errors_csv,
)
from budgets.services.locks import locked_months, period_lock_create, period_unlock
from initiatives.models import Initiative
from initiatives.rules import visible_initiatives
from portfolio.fiscal import fiscal_year, fiscal_year_label, fiscal_year_months, parse_fiscal_year
from portfolio.pagination import shown, web_page_number
from portfolio.policy import can
from portfolio.text import canonical_code, unstorable_character

EXPENSES_PER_PAGE = 50
ERRORS_SHOWN = 500


def _require(request, action: str, obj=None) -> None:
    if not can(request.user, action, obj):
        raise PermissionDenied


def _current_fiscal_year() -> int:
    return fiscal_year(timezone.localdate())


def _requested_fiscal_year(request) -> int:
    """`?fiscal_year=FY2027` (or 2027); blank → the current one; anything else → the current one, with a notice."""
    given = request.GET.get("fiscal_year") or ""
    if not given.strip():
        return _current_fiscal_year()
    try:
        return parse_fiscal_year(given)
    except ValueError:
        current = _current_fiscal_year()
        label = fiscal_year_label(current)
        messages.warning(request, f"“{shown(given)}” is not a fiscal year like FY2027: showing {label}, this year.")
        return current


# --- landing ---------------------------------------------------------------------------


def finance_home(request):
    _require(request, "budgets.manage")
    today = timezone.localdate()
    this_month = today.replace(day=1)
    latest_lock = PeriodLock.objects.select_related("locked_by").first()
    context = {
        "tab": "home",
        "fiscal_year": _current_fiscal_year(),
        "fiscal_year_label": fiscal_year_label(_current_fiscal_year()),
        "latest_lock": latest_lock,
        "latest_import": ImportRun.objects.select_related("run_by").first(),
        "fx_this_month": FxRate.objects.filter(month=this_month).count(),
        "this_month_label": month_label(this_month),
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/home.html", context)


# --- budgets -----------------------------------------------------------------------------


def budget_index(request):
    _require(request, "budgets.manage")
    year = _requested_fiscal_year(request)
    query = (request.GET.get("q") or "").strip()
    initiatives = visible_initiatives(request.user, Initiative.objects.all())
    if query:
        initiatives = initiatives.filter(Q(code__iexact=query) | Q(title__icontains=query))
    initiatives = budget_initiatives(queryset=initiatives.order_by("code"), fiscal_year=year)
    paginator = Paginator(initiatives, 25)
    page = paginator.page(web_page_number(request, last=paginator.num_pages))
    current = _current_fiscal_year()
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
    _require(request, "budgets.manage")
    code = canonical_code(request.GET.get("code") or "")
    year = request.GET.get("fiscal_year") or fiscal_year_label(_current_fiscal_year())
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
    _require(request, "initiative.view_finances", initiative)
    try:
        year = parse_fiscal_year(fiscal_year)
    except ValueError:
        raise Http404("not a fiscal year") from None
    can_edit = can(request.user, "budgets.manage")
    grid = budget_grid(initiative=initiative, fiscal_year=year)
    conflict = None
    if request.method == "POST":
        _require(request, "budgets.manage")
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
            {"label": month_short_label(month), "locked": month in grid.locked, "month": month} for month in grid.months
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
        spread = budget_spread_annual(annual=annual, months=grid.months, locked=grid.locked, fixed=fixed)
    except ValidationError as error:
        form.add_error(form.annual_name(category), error.message_dict.get("annual", error.messages))
        return form
    data = form.data.copy()
    for month, amount in spread.items():
        data[form.cell_name(month, category)] = f"{amount:.2f}"
    data[form.annual_name(category)] = ""
    refreshed = BudgetGridForm(data, grid=grid)
    refreshed.is_valid()
    refreshed.spread_notice = (
        f"{annual:,.2f} spread over {len(spread)} month{'s' if len(spread) != 1 else ''} of "
        f"{dict(grid.categories)[category]}. Review the row, then save."
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


# --- expenses --------------------------------------------------------------------------------


def expense_list(request):
    _require(request, "expenses.manage")
    filterset = ExpenseFilterSet(request.GET or None, queryset=Expense.objects.all())
    queryset = filterset.qs if filterset.is_bound else Expense.objects.all()
    totals = expense_totals(queryset)
    pages = max(1, math.ceil(totals["count"] / EXPENSES_PER_PAGE))
    page = web_page_number(request, last=pages)
    offset = (page - 1) * EXPENSES_PER_PAGE
    expenses = list(
        queryset.select_related("initiative").only(
            "id",
            *Expense.RECORD_FIELDS,
            "initiative__code",
            "initiative__title",
        )[offset : offset + EXPENSES_PER_PAGE]
    )
    locked = locked_months()
    for expense in expenses:
        expense.is_locked = expense.incurred_on.replace(day=1) in locked
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "tab": "expenses",
        "filterset": filterset,
        "expenses": expenses,
        "totals": totals,
        "page": page,
        "pages": pages,
        "first_row": offset + 1 if expenses else 0,
        "last_row": offset + len(expenses),
        "query": query.urlencode(),
        "reporting_currency": settings.REPORTING_CURRENCY,
        "payers": Payer,
    }
    return render(request, "budgets/expense_list.html", context)


@require_http_methods(["GET", "POST"])
def expense_create_view(request):
    _require(request, "expenses.manage")
    form = ExpenseForm(request.POST or None, initial={"initiative": request.GET.get("initiative", "")})
    if request.method == "POST" and form.is_valid():
        try:
            expense = expense_create(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error, lock_field="incurred_on")
        else:
            messages.success(
                request,
                f"Expense of {expense.amount:,.2f} {expense.currency} on {expense.initiative.code} recorded "
                f"({expense.amount_reporting:,.2f} {settings.REPORTING_CURRENCY}).",
            )
            return redirect(f"{reverse('budgets:expense_list')}?initiative={expense.initiative.code}")
    return render(request, "budgets/expense_form.html", {"tab": "expenses", "form": form, "expense": None})


@require_http_methods(["GET", "POST"])
def expense_update_view(request, pk: int):
    _require(request, "expenses.manage")
    expense = get_object_or_404(Expense.objects.select_related("initiative"), pk=pk)
    initial = {name: getattr(expense, name) for name in ExpenseForm.base_fields}
    initial["initiative"] = expense.initiative.code
    form = ExpenseForm(request.POST or None, initial=initial)
    locked = expense.incurred_on.replace(day=1) in locked_months([expense.incurred_on])
    if request.method == "POST" and form.is_valid():
        try:
            expense_update(expense=expense, data=form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error, lock_field="incurred_on")
        else:
            messages.success(request, "Expense saved.")
            return redirect(f"{reverse('budgets:expense_list')}?initiative={form.cleaned_data['initiative'].code}")
    context = {"tab": "expenses", "form": form, "expense": expense, "locked": locked}
    return render(request, "budgets/expense_form.html", context)


@require_http_methods(["GET", "POST"])
def expense_delete_view(request, pk: int):
    _require(request, "expenses.manage")
    expense = get_object_or_404(Expense.objects.select_related("initiative"), pk=pk)
    error = None
    if request.method == "POST":
        try:
            expense_delete(expense=expense, by=request.user)
        except ValidationError as refusal:
            error = refusal.messages[0]
        else:
            messages.success(request, f"Expense of {expense.amount:,.2f} {expense.currency} deleted.")
            return redirect(f"{reverse('budgets:expense_list')}?initiative={expense.initiative.code}")
    locked = bool(locked_months([expense.incurred_on]))
    context = {"tab": "expenses", "expense": expense, "error": error, "locked": locked}
    return render(request, "budgets/expense_confirm_delete.html", context, status=400 if error else 200)


# --- imports ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def import_upload(request):
    _require(request, "imports.run")
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind", "actuals")}
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = import_upload_store(data=data, kind=form.cleaned_data["kind"], file_name=upload.name, by=request.user)
        return redirect("budgets:import_preview", token=token)
    context = {
        "tab": "imports",
        "form": form,
        "runs": recent_imports(),
        "importers": IMPORTERS,
        "limit_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "budgets/import_upload.html", context, status=400 if form.errors else 200)


def _load_upload(request, token: str) -> tuple[dict, bytes]:
    try:
        return import_upload_load(token=token, by=request.user)
    except LookupError:
        raise Http404("This upload is unknown or has expired; upload the file again.") from None


@require_http_methods(["GET", "POST"])
def import_preview(request, token: str):
    """GET: validate without saving and show the summary or every error. POST: import it for real."""
    _require(request, "imports.run")
    meta, data = _load_upload(request, token)
    confirm = request.method == "POST"
    report = import_run(
        kind=meta["kind"], data=data, file_name=meta["file_name"], by=request.user, dry_run=not confirm, via="web"
    )
    if confirm and report.ok:
        import_upload_discard(token=token)
        level = messages.SUCCESS if report.saved else messages.INFO
        messages.add_message(request, level, report.message)
        return redirect("budgets:import_upload")
    context = {
        "tab": "imports",
        "report": report,
        "token": token,
        "errors_shown": report.errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, len(report.errors) - ERRORS_SHOWN),
        "confirm_failed": confirm,
        "importer": IMPORTERS[meta["kind"]],
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/import_preview.html", context, status=400 if report.errors else 200)


def import_errors_csv(request, token: str):
    _require(request, "imports.run")
    meta, data = _load_upload(request, token)
    report = import_run(kind=meta["kind"], data=data, file_name=meta["file_name"], by=request.user, dry_run=True)
    response = HttpResponse(report_errors_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="errors-{meta["kind"]}.csv"'
    return response


@require_POST
def import_cancel(request, token: str):
    _require(request, "imports.run")
    _load_upload(request, token)
    import_upload_discard(token=token)
    messages.info(request, "Upload discarded. Nothing was imported.")
    return redirect("budgets:import_upload")


def import_template(request, kind: str):
    """An example file with the exact header (PRODUCT.md §4) and one sample row."""
    _require(request, "imports.run")
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise Http404
    today = timezone.localdate()
    samples = {
        "actuals": f"INI-0001,{today:%Y-%m}-15,1250.00,EUR,marketing,agency,Studio Nord,Campaign assets,ERP-000123",
        "budget": f"INI-0001,{today:%Y-%m},labor,12000.00",
        "fx_rates": f"EUR,{today:%Y-%m},1.08500000",
    }
    body = ",".join(importer.columns) + "\r\n" + samples[kind] + "\r\n"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response


# --- FX rates -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def fx_rate_list(request):
    _require(request, "fx.manage")
    form = FxRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fx, created, recomputed = fx_rate_set(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error, lock_field="month")
        else:
            verb = "added" if created else "saved"
            messages.success(
                request,
                f"{fx.currency} rate for {month_label(fx.month)} {verb}: {fx.rate.normalize():f}. "
                f"{recomputed:,} expense{'s' if recomputed != 1 else ''} recomputed.",
            )
            return redirect("budgets:fx_rate_list")
    filterset = FxRateFilterSet(request.GET or None, queryset=FxRate.objects.all())
    paginator = Paginator(filterset.qs, 50)
    page = paginator.page(web_page_number(request, last=paginator.num_pages))
    locked = locked_months()
    for rate in page:
        rate.is_locked = rate.month in locked
        rate.inverse = f"{(Decimal(1) / rate.rate):.4f}"
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "tab": "fx",
        "form": form,
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/fx_rate_list.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def fx_rate_update(request, pk: int):
    _require(request, "fx.manage")
    fx = get_object_or_404(FxRate, pk=pk)
    form = FxRateForm(request.POST or None, initial={"currency": fx.currency, "month": fx.month, "rate": fx.rate})
    form.fields["currency"].disabled = True
    form.fields["month"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            _, _, recomputed = fx_rate_set(
                currency=fx.currency, month=fx.month, rate=form.cleaned_data["rate"], by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"{fx.currency} rate for {month_label(fx.month)} saved; {recomputed:,} expenses recomputed.",
            )
            return redirect("budgets:fx_rate_list")
    locked = bool(locked_months([fx.month]))
    context = {"tab": "fx", "form": form, "fx": fx, "locked": locked, "month": month_label(fx.month)}
    return render(request, "budgets/fx_rate_form.html", context, status=400 if form.errors else 200)


@require_POST
def fx_rate_delete_view(request, pk: int):
    _require(request, "fx.manage")
    fx = get_object_or_404(FxRate, pk=pk)
    try:
        fx_rate_delete(fx_rate=fx, by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{fx.currency} rate for {month_label(fx.month)} deleted.")
    return redirect("budgets:fx_rate_list")


# --- period locks --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def lock_list(request):
    _require(request, "locks.manage")
    year = _requested_fiscal_year(request)
    form = PeriodLockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lock = period_lock_create(**form.cleaned_data, by=request.user)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{month_label(lock.month)} is now locked.")
            return redirect(f"{reverse('budgets:lock_list')}?fiscal_year={fiscal_year_label(year)}")
    months = fiscal_year_months(year)
    locks = {lock.month: lock for lock in PeriodLock.objects.filter(month__in=months).select_related("locked_by")}
    today = timezone.localdate().replace(day=1)
    calendar = [
        {
            "month": month,
            "label": month_label(month),
            "value": f"{month:%Y-%m}",
            "lock": locks.get(month),
            "is_past": month < today,
            "is_current": month == today,
        }
        for month in months
    ]
    context = {
        "tab": "locks",
        "form": form,
        "calendar": calendar,
        "unlock_form": UnlockForm(),
        "all_locks": PeriodLock.objects.select_related("locked_by")[:24],
        "fiscal_year_label": fiscal_year_label(year),
        "previous_year": fiscal_year_label(year - 1),
        "next_year": fiscal_year_label(year + 1),
    }
    return render(request, "budgets/lock_list.html", context, status=400 if form.errors else 200)


@require_POST
def lock_unlock(request, pk: int):
    _require(request, "locks.manage")
    lock = get_object_or_404(PeriodLock, pk=pk)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Say why {month_label(lock.month)} is being reopened; it was not unlocked.")
    else:
        period_unlock(lock=lock, reason=form.cleaned_data["reason"], by=request.user)
        messages.success(request, f"{month_label(lock.month)} is open again.")
    return redirect(f"{reverse('budgets:lock_list')}?fiscal_year={fiscal_year_label(fiscal_year(lock.month))}")


# --- audit log -------------------------------------------------------------------------------------


def audit_log_view(request):
    _require(request, "audit.view")
    form = AuditFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("model"):
            filters["models"] = [data["model"]]
        if data.get("user"):
            filters["user_id"] = data["user"].pk
        if data.get("date_from"):
            filters["date_from"] = data["date_from"]
        if data.get("date_to"):
            filters["date_to"] = data["date_to"]
        if data.get("initiative"):
            initiative = Initiative.objects.filter(code=canonical_code(data["initiative"])).first()
            filters["initiative_id"] = initiative.pk if initiative else -1
    page_number = web_page_number(request)  # the log is not counted: a page past its end comes back empty
    page = audit_log(**filters, page=page_number)
    if not page.entries and page_number > 1:
        messages.warning(request, f"There is no page {page_number}: the log ends before it. Showing the first page.")
        page = audit_log(**filters, page=1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"tab": "audit", "form": form, "page": page, "query": query.urlencode()}
    return render(request, "budgets/audit_log.html", context)
