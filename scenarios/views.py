"""The scenario pages under /scenarios/ (PRODUCT.md §3a): list, create, and a scenario with its changes and
what became of their proposals. Thin: the policy decides who, `scenarios.services` decides what."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets.forms import add_service_errors
from initiatives.models import Initiative
from portfolio.policy import can

from . import selectors, services
from .forms import ADD_MANY_MAX, AddToScenarioForm, ChangeForm, ProposeForm, ScenarioForm
from .models import ScenarioChange


def _require(request: HttpRequest, action: str, obj=None) -> None:
    if not (can(request.user, action, obj) if obj is not None else can(request.user, action)):
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def scenario_list(request: HttpRequest) -> HttpResponse:
    """/scenarios/: every scenario (executives and finance) and the form to create one."""
    _require(request, "scenarios.view")
    form = ScenarioForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            scenario = services.scenario_create(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Scenario “{scenario.name}” created from the live plan.")
            return redirect("scenarios:detail", pk=scenario.pk)
    context = {
        "scenarios": selectors.visible_scenarios(request.user).order_by("-updated_at", "-id")[:200],
        "form": form,
        "may_create": can(request.user, "scenarios.create"),
    }
    return render(request, "scenarios/list.html", context, status=400 if form.errors else 200)


def _detail(request: HttpRequest, scenario, *, change_form=None, propose_form=None, status: int = 200):
    context = {
        "scenario": scenario,
        "rows": selectors.scenario_proposals(scenario),
        "not_proposed": services.unproposable(scenario),
        "may_change": can(request.user, "scenario.change", scenario),
        "change_form": change_form or ChangeForm(),
        "propose_form": propose_form or ProposeForm(),
    }
    return render(request, "scenarios/detail.html", context, status=status)


def _scenario(request: HttpRequest, pk: int):
    return get_object_or_404(selectors.visible_scenarios(request.user), pk=pk)


@require_GET
def scenario_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """/scenarios/<id>/: the changes, each with its proposal's state; the author's forms."""
    _require(request, "scenarios.view")
    return _detail(request, _scenario(request, pk))


@require_POST
def scenario_change_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "scenarios.view")
    scenario = _scenario(request, pk)
    _require(request, "scenario.change", scenario)
    form = ChangeForm(request.POST)
    if form.is_valid():
        try:
            services.scenario_change_set(scenario=scenario, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Change saved.")
            return redirect("scenarios:detail", pk=scenario.pk)
    return _detail(request, scenario, change_form=form, status=400)


@require_POST
def scenario_change_delete(request: HttpRequest, pk: int, change_pk: int) -> HttpResponse:
    _require(request, "scenarios.view")
    scenario = _scenario(request, pk)
    _require(request, "scenario.change", scenario)
    change = get_object_or_404(ScenarioChange, scenario=scenario, pk=change_pk)
    services.scenario_change_remove(change=change, by=request.user)
    messages.success(request, "Change removed.")
    return redirect("scenarios:detail", pk=scenario.pk)


@require_POST
def scenario_propose_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "scenarios.view")
    scenario = _scenario(request, pk)
    _require(request, "scenario.propose", scenario)
    form = ProposeForm(request.POST)
    if form.is_valid():
        try:
            proposals = services.scenario_propose(scenario=scenario, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{len(proposals)} change proposal(s) wait for both sponsors.")
            return redirect("scenarios:detail", pk=scenario.pk)
    return _detail(request, scenario, propose_form=form, status=400)


@require_http_methods(["GET", "POST"])
def scenario_add_many(request: HttpRequest) -> HttpResponse:
    """/scenarios/add/?initiative=INI-0001&initiative=…: "add to scenario…" from the initiative list. The
    same change to every selected initiative, in one of the user's scenarios or a new one: all or
    nothing (a refusal names the initiative's code, and a new scenario is not kept)."""
    _require(request, "scenarios.create")
    if request.method == "POST":
        form = AddToScenarioForm(request.POST, user=request.user)
        codes = request.POST.getlist("initiatives")
    else:
        codes = list(dict.fromkeys(code.strip() for code in request.GET.getlist("initiative") if code.strip()))
        form = AddToScenarioForm(user=request.user, initial={"initiatives": codes})
        if latest := form.fields["scenario"].queryset.first():
            form.initial["scenario"] = latest.pk  # the scenario the user worked on last
    if form.is_bound and form.is_valid():
        data = dict(form.cleaned_data)
        initiatives, scenario, new_name = data.pop("initiatives"), data.pop("scenario"), data.pop("new_name")
        try:
            with transaction.atomic():
                if scenario is None:
                    scenario = services.scenario_create(by=request.user, name=new_name)
                changes = services.scenario_changes_add_many(
                    scenario=scenario, by=request.user, initiatives=initiatives, **data
                )
        except ValidationError as error:
            if hasattr(error, "error_dict") and "name" in error.error_dict:
                error.error_dict["new_name"] = error.error_dict.pop("name")
            add_service_errors(form, error)
        else:
            messages.success(request, f"{len(changes)} change(s) saved in “{scenario.name}”.")
            return redirect("scenarios:detail", pk=scenario.pk)
    selected = list(Initiative.objects.filter(code__in=codes[: ADD_MANY_MAX + 1]).order_by("code"))
    context = {
        "form": form,
        "selected": selected,
        "unknown": sorted(set(codes) - {initiative.code for initiative in selected}),
        "too_many": len(codes) > ADD_MANY_MAX,
        "limit": ADD_MANY_MAX,
    }
    return render(request, "scenarios/add_many.html", context, status=400 if form.errors else 200)
