"""The period-lock pages: the list with its lock form, unlock."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from budgets.forms import (
    PeriodLockForm,
    UnlockForm,
    add_service_errors,
)
from budgets.models import PeriodLock
from budgets.months import month_label
from budgets.services.locks import period_lock_create, period_unlock
from budgets.views.common import requested_fiscal_year, require
from portfolio.fiscal import fiscal_year, fiscal_year_label, fiscal_year_months
from portfolio.policy import can

# --- period locks --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def lock_list(request):
    """The fiscal year's months and the locks, for all who see the whole portfolio; locking and unlocking,
    for finance alone."""
    require(request, "locks.manage" if request.method == "POST" else "locks.view")
    may_manage = can(request.user, "locks.manage")
    year = requested_fiscal_year(request)
    form = PeriodLockForm(request.POST or None) if may_manage else None
    if form is not None and request.method == "POST" and form.is_valid():
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
        "may_manage": may_manage,
        "calendar": calendar,
        "unlock_form": UnlockForm() if may_manage else None,
        "all_locks": PeriodLock.objects.select_related("locked_by")[:24],
        "fiscal_year_label": fiscal_year_label(year),
        "previous_year": fiscal_year_label(year - 1),
        "next_year": fiscal_year_label(year + 1),
    }
    return render(request, "budgets/lock_list.html", context, status=400 if form and form.errors else 200)


@require_POST
def lock_unlock(request, pk: int):
    require(request, "locks.manage")
    lock = get_object_or_404(PeriodLock, pk=pk)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Say why {month_label(lock.month)} is being reopened; it was not unlocked.")
    else:
        try:
            period_unlock(lock=lock, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:  # refused by an app above: a settled month
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{month_label(lock.month)} is open again.")
    return redirect(f"{reverse('budgets:lock_list')}?fiscal_year={fiscal_year_label(fiscal_year(lock.month))}")
