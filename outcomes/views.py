"""The outcome pages under /outcomes/ (PRODUCT.md §3b): an initiative's KPIs and their measurements.

Thin: whoever may see the initiative reads its KPIs (404 otherwise, as on the initiative's page); the
policy decides who defines them (`outcome.edit`) and who records measurements (`outcome.measure`), and
`outcomes.services` decides what is accepted, its refusals shown under the field they name.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from budgets.forms import add_service_errors
from initiatives.models import Initiative
from initiatives.selectors import initiative_detail_queryset, initiative_queryset
from portfolio.policy import can

from . import services
from .forms import KpiForm, MeasurementForm
from .models import KPIS_PER_INITIATIVE, OutcomeKpi, OutcomeMeasurement
from .templatetags.outcome_tags import SPARKLINE_POINTS, kpi_state, sparkline

MEASUREMENTS_SHOWN = 100  # the latest measurements listed per KPI (the sparkline draws fewer)


def _initiative(request: HttpRequest, code: str) -> Initiative:
    return get_object_or_404(initiative_detail_queryset(user=request.user), code=code)


def _kpi(request: HttpRequest, pk: int) -> OutcomeKpi:
    """The KPI if the user may see its initiative; 404 otherwise."""
    return get_object_or_404(
        OutcomeKpi.objects.select_related("initiative"),
        pk=pk,
        initiative__in=initiative_queryset(user=request.user).values("pk"),
    )


def _require(request: HttpRequest, action: str, initiative: Initiative) -> None:
    if not can(request.user, action, initiative):
        raise PermissionDenied


def _page(
    request: HttpRequest,
    initiative: Initiative,
    *,
    kpi_form: KpiForm | None = None,
    measure_forms: dict[int, MeasurementForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The initiative's KPIs with their latest measurements, and the forms the user may use."""
    may_edit = can(request.user, "outcome.edit", initiative)
    may_measure = can(request.user, "outcome.measure", initiative)
    recent = OutcomeMeasurement.objects.order_by("-measured_on")
    kpis = list(
        OutcomeKpi.objects.filter(initiative=initiative)
        .order_by("id")
        .prefetch_related(Prefetch("measurements", queryset=recent, to_attr="listed"))
    )
    measure_forms = measure_forms or {}
    today = services.today()
    rows = []
    for kpi in kpis:
        state = kpi_state(kpi)
        rows.append(
            {
                "kpi": kpi,
                "state": state,
                "sparkline": sparkline(kpi, kpi.listed[:SPARKLINE_POINTS][::-1], state),
                "measurements": kpi.listed[:MEASUREMENTS_SHOWN],
                "hidden": max(len(kpi.listed) - MEASUREMENTS_SHOWN, 0),
                "measure_form": measure_forms.get(kpi.pk)
                or MeasurementForm(prefix=f"m{kpi.pk}", initial={"measured_on": today}),
            }
        )
    context = {
        "initiative": initiative,
        "rows": rows,
        "may_edit": may_edit,
        "may_measure": may_measure,
        "may_add": may_edit and len(kpis) < KPIS_PER_INITIATIVE,
        "kpi_limit": KPIS_PER_INITIATIVE,
        "kpi_form": kpi_form or KpiForm(),
    }
    return render(request, "outcomes/initiative_outcomes.html", context, status=status)


@require_http_methods(["GET", "POST"])
def initiative_outcomes(request: HttpRequest, code: str) -> HttpResponse:
    """/outcomes/initiatives/<code>/: the KPIs and measurements; the owner's form adds a KPI (POST)."""
    initiative = _initiative(request, code)
    if request.method != "POST":
        return _page(request, initiative)
    _require(request, "outcome.edit", initiative)
    form = KpiForm(request.POST)
    if form.is_valid():
        try:
            kpi = services.kpi_create(initiative=initiative, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"KPI “{kpi.name}” added.")
            return redirect("outcomes:initiative", code=initiative.code)
    return _page(request, initiative, kpi_form=form, status=400)


@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """/outcomes/kpis/<pk>/edit/: change a KPI's definition (the owner, while `outcome.edit` allows)."""
    kpi = _kpi(request, pk)
    initiative = kpi.initiative
    _require(request, "outcome.edit", initiative)
    if request.method == "POST":
        form = KpiForm(request.POST)
        if form.is_valid():
            try:
                kpi = services.kpi_update(kpi=kpi, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"KPI “{kpi.name}” saved.")
                return redirect("outcomes:initiative", code=initiative.code)
    else:
        form = KpiForm.of(kpi)
    context = {"initiative": initiative, "kpi": kpi, "form": form}
    return render(request, "outcomes/kpi_edit.html", context, status=400 if form.errors else 200)


@require_POST
def kpi_delete(request: HttpRequest, pk: int) -> HttpResponse:
    kpi = _kpi(request, pk)
    _require(request, "outcome.edit", kpi.initiative)
    services.kpi_delete(kpi=kpi, by=request.user)
    messages.success(request, f"KPI “{kpi.name}” and its measurements removed.")
    return redirect("outcomes:initiative", code=kpi.initiative.code)


@require_POST
def measurement_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a KPI's value on a day (or correct that day's value): the owner, from approval on."""
    kpi = _kpi(request, pk)
    initiative = kpi.initiative
    _require(request, "outcome.measure", initiative)
    form = MeasurementForm(request.POST, prefix=f"m{kpi.pk}")
    if form.is_valid():
        try:
            services.measurement_record(kpi=kpi, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Measurement of “{kpi.name}” recorded.")
            return redirect(f"{reverse('outcomes:initiative', args=[initiative.code])}#kpi-{kpi.pk}")
    return _page(request, initiative, measure_forms={kpi.pk: form}, status=400)


@require_POST
def measurement_delete(request: HttpRequest, pk: int) -> HttpResponse:
    measurement = get_object_or_404(OutcomeMeasurement.objects.select_related("kpi"), pk=pk)
    kpi = _kpi(request, measurement.kpi_id)
    _require(request, "outcome.measure", kpi.initiative)
    services.measurement_delete(measurement=measurement, by=request.user)
    messages.success(request, f"Measurement of “{kpi.name}” on {measurement.measured_on:%b %-d, %Y} removed.")
    return redirect("outcomes:initiative", code=kpi.initiative.code)
