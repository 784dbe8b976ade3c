"""The expense pages: the list with its filters and totals, create, edit, delete."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from budgets.choices import Payer
from budgets.filtersets import ExpenseFilterSet
from budgets.forms import (
    ExpenseForm,
    add_service_errors,
)
from budgets.models import Expense
from budgets.selectors import (
    expense_totals,
)
from budgets.services.actuals import expense_create, expense_delete, expense_update
from budgets.services.locks import locked_months
from budgets.views.common import require
from portfolio.pagination import web_page_number

EXPENSES_PER_PAGE = 50


# --- expenses --------------------------------------------------------------------------------


def expense_list(request):
    require(request, "expenses.manage")
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
    require(request, "expenses.manage")
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
    require(request, "expenses.manage")
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
    require(request, "expenses.manage")
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
