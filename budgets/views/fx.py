"""The FX-rate pages: the list with its form, edit, delete."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from budgets.filtersets import FxRateFilterSet
from budgets.forms import (
    FxRateForm,
    add_service_errors,
)
from budgets.models import FxRate
from budgets.months import month_label
from budgets.services.fx import fx_rate_delete, fx_rate_set
from budgets.services.locks import locked_months
from budgets.views.common import require
from portfolio.pagination import web_page_number
from portfolio.policy import can

# --- FX rates -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def fx_rate_list(request):
    """The rates, for all who see the whole portfolio; the form to add one, for finance alone."""
    require(request, "fx.manage" if request.method == "POST" else "fx.view")
    may_manage = can(request.user, "fx.manage")
    form = FxRateForm(request.POST or None) if may_manage else None
    if form is not None and request.method == "POST" and form.is_valid():
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
        "may_manage": may_manage,
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/fx_rate_list.html", context, status=400 if form and form.errors else 200)


@require_http_methods(["GET", "POST"])
def fx_rate_update(request, pk: int):
    require(request, "fx.manage")
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
    require(request, "fx.manage")
    fx = get_object_or_404(FxRate, pk=pk)
    try:
        fx_rate_delete(fx_rate=fx, by=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{fx.currency} rate for {month_label(fx.month)} deleted.")
    return redirect("budgets:fx_rate_list")
