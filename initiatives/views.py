"""Web pages of initiatives. Thin: they ask `portfolio.policy`, read through selectors and write through services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portfolio import policy
from portfolio.fiscal import fiscal_year, fiscal_year_label
from portfolio.pagination import shown, web_page_number

from . import agreements, platforms, selectors, services, workflow
from .choices import Status
from .filtersets import InitiativeFilterSet
from .forms import ChangeProposalForm, HealthForm, InitiativeForm, ReasonForm, apply_service_errors
from .lane_assessment import QUESTIONS, assess_lane, justification_required
from .models import Initiative, InitiativeChangeProposal
from .rules import sponsor_side

PAGE_SIZES = (25, 50, 100)


class CountedPaginator(Paginator):
    """A paginator told its count (from the status counts query) instead of running its own COUNT(*)."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def _visible(request, code: str) -> Initiative:
    """The initiative if the user may see it; 404 otherwise (its existence is not disclosed)."""
    return get_object_or_404(selectors.initiative_detail_queryset(user=request.user), code=code)


def _plan_total(request, initiative: Initiative):
    """The initiative's plan (sum of its budget lines) for who may see its finances; None otherwise or
    before finance enters one."""
    if not policy.can(request.user, "initiative.view_finances", initiative):
        return None
    return selectors.initiative_plan_total(initiative=initiative)


def _posted(request):
    """The POST data to bind a form to (even when empty), or None on GET."""
    return request.POST if request.method == "POST" else None


def _require(request, action: str, obj=None) -> None:
    if not policy.can(request.user, action, obj):
        raise PermissionDenied


# --- list ------------------------------------------------------------------------------


def _per_page(request) -> int:
    """`?per_page=` when it is one of PAGE_SIZES; otherwise the first, with a notice."""
    given = request.GET.get("per_page", "").strip()
    if not given or given in {str(size) for size in PAGE_SIZES}:
        return int(given or PAGE_SIZES[0])
    sizes = ", ".join(str(size) for size in PAGE_SIZES[:-1]) + f" or {PAGE_SIZES[-1]}"
    messages.warning(request, f"“{shown(given)}” is not a page size here ({sizes}): showing {PAGE_SIZES[0]} a page.")
    return PAGE_SIZES[0]


@require_GET
def initiative_list(request):
    """Search, filters, counts per status, sortable columns and pages, in a fixed number of queries."""
    base = selectors.initiative_queryset(user=request.user).defer("summary", "lane_assessment", "lane_justification")
    filterset = InitiativeFilterSet(request.GET, queryset=base, request=request)
    without_status = request.GET.copy()
    for key in ("status", "sort", "page", "per_page"):
        without_status.pop(key, None)
    counts = selectors.status_counts(InitiativeFilterSet(without_status, queryset=base, request=request).qs)
    filterset.is_valid()
    status = filterset.form.cleaned_data.get("status") or ""
    total = counts.get(status, 0) if status else sum(counts.values())

    per_page = _per_page(request)
    paginator = CountedPaginator(filterset.qs, per_page, count=total)
    page = paginator.page(web_page_number(request, last=paginator.num_pages))
    page.object_list = selectors.page_with_plan_and_actual(filterset.qs, page.object_list, user=request.user)

    active_filters = [
        name
        for name in (
            *("q", "lane", "health", "side", "sponsor", "fiscal_year", "quarter", "mine"),
            *platforms.LIST_FILTERS,
        )
        if filterset.form.cleaned_data.get(name)
    ]
    return render(
        request,
        "initiatives/initiative_list.html",
        {
            "filterset": filterset,
            "page": page,
            "paginator": paginator,
            "status_counts": counts,
            "status_tabs": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
            "all_count": sum(counts.values()),
            "current_status": status,
            "current_status_label": Status(status).label if status else "",
            "active_filter_count": len(active_filters),
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "may_create": policy.can(request.user, "initiative.create"),
            "may_add_to_scenario": policy.can(request.user, "scenarios.create"),
            "platform_filters": platforms.list_filter_notes(filterset.form.cleaned_data),
            "own_finances_only": not policy.sees_everything(request.user),
        },
    )


@require_GET
def approvals(request):
    """What waits for the current executive: sign-offs of submitted initiatives and changes to running ones."""
    return render(
        request,
        "initiatives/approvals.html",
        {
            "sign_offs": list(selectors.pending_sign_offs(user=request.user)[:200]),
            "proposals": list(selectors.pending_change_proposals(user=request.user)[:200]),
            "is_executive": policy.is_executive(request.user),
        },
    )


# --- filing ------------------------------------------------------------------------------


def _assessment_context(form: InitiativeForm) -> dict[str, Any]:
    assessment = assess_lane(form.assessment_answers())
    chosen = form.chosen_lane()
    return {
        "assessment": assessment,
        "question_count": len(QUESTIONS),
        "answered_count": len(QUESTIONS) - len(assessment.missing),
        "chosen_lane": chosen,
        "lane_preselected": form.lane_preselect(assessment.recommended),
        "needs_justification": justification_required(chosen_lane=chosen, recommended=assessment.recommended),
    }


def _render_form(request, form: InitiativeForm, initiative: Initiative | None, status: int = 200):
    return render(
        request,
        "initiatives/initiative_form.html",
        {"form": form, "initiative": initiative, **_assessment_context(form)},
        status=status,
    )


def _submitting(request) -> bool:
    """The filing form's "Save and submit" button (on POST), or a submission sent back to the form (GET)."""
    source = request.POST if request.method == "POST" else request.GET
    return source.get("intent") == "submit"


def _submit_after_save(request, form: InitiativeForm, initiative: Initiative, *, created: bool = False):
    """Take the submit step right after "Save and submit" saved the form; the form again when refused.

    A new initiative refused at the submit step is already saved as a draft: the owner goes on on its
    edit page (`?intent=submit`), never on the create form, whose next post would file a second draft.
    """
    step = workflow.status_step("submit", initiative.status)
    try:
        services.initiative_transition(initiative=initiative, by=request.user, verb="submit")
    except ValidationError as error:
        if created:
            messages.warning(request, f"{initiative.code} was saved as a draft but not submitted: see below.")
            return redirect(f"{reverse('initiatives:edit', args=[initiative.code])}?intent=submit")
        apply_service_errors(form, error)
        return _render_form(request, form, initiative, status=400)
    except PermissionDenied:
        messages.warning(request, "It was saved but not submitted: its status changed meanwhile.")
    else:
        messages.success(request, step.notice(code=initiative.code))
    return redirect("initiatives:detail", code=initiative.code)


@require_http_methods(["GET", "POST"])
def initiative_create(request):
    _require(request, "initiative.create")
    form = InitiativeForm(_posted(request), user=request.user, submitting=_submitting(request))
    if request.method == "POST" and form.is_valid():
        try:
            initiative = services.initiative_create(by=request.user, **form.service_kwargs())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if form.submitting:
                return _submit_after_save(request, form, initiative, created=True)
            messages.success(request, f"{initiative.code} was saved as a draft. Submit it when it is ready.")
            return redirect("initiatives:detail", code=initiative.code)
    return _render_form(request, form, None, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
def initiative_edit(request, code: str):
    """Edit a draft or rejected initiative. `?intent=submit` (where a refused submission sends the owner)
    shows the saved values with what submitting still needs marked next to its field."""
    initiative = _visible(request, code)
    _require(request, "initiative.edit", initiative)
    submitting = _submitting(request)
    data = _posted(request)
    if data is None and submitting:
        data = InitiativeForm.data_from(initiative)
    form = InitiativeForm(data, user=request.user, instance=initiative, submitting=submitting)
    if request.method == "POST" and form.is_valid():
        try:
            services.initiative_update(initiative=initiative, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.error(request, "This initiative can no longer be edited: someone changed its status meanwhile.")
            return redirect("initiatives:detail", code=initiative.code)
        else:
            if submitting:
                return _submit_after_save(request, form, initiative)
            messages.success(request, f"Your changes to {initiative.code} were saved.")
            return redirect("initiatives:detail", code=initiative.code)
    elif request.method == "GET" and submitting:
        form.is_valid()  # mark what submitting needs; a GET is never an error
        return _render_form(request, form, initiative)
    return _render_form(request, form, initiative, status=400 if form.is_bound else 200)


@require_GET
def lane_assessment_preview(request):
    """The recommended lane and its reasons for the answers so far (an htmx fragment of the filing form)."""
    form = InitiativeForm(request.GET, user=request.user)
    return render(request, "initiatives/_lane_recommendation.html", _assessment_context(form))


# --- detail ------------------------------------------------------------------------------


def _budget_grid_year(initiative) -> int:
    """The fiscal year whose budget grid the detail page offers: this one, within the initiative's years."""
    first, last = fiscal_year(initiative.start_date), fiscal_year(initiative.end_date)
    return min(max(fiscal_year(timezone.localdate()), first), max(first, last))


@dataclass(frozen=True)
class StepButton:
    """A workflow step offered on the initiative's page: one click (POST `url`), or a page to say why."""

    step: workflow.Step
    url: str
    one_click: bool  # no reason needed: the button takes the step at once

    @property
    def css(self) -> str:
        if self.step.quiet:
            return "btn-outline-secondary"
        return f"btn-{self.step.tone}" if self.one_click else f"btn-outline-{self.step.tone}"


def _step_button(step: workflow.Step, initiative: Initiative) -> StepButton:
    if step is workflow.PROPOSE_CHANGE:
        return StepButton(step, reverse("initiatives:propose", args=[initiative.code]), one_click=False)
    url = reverse("initiatives:transition", args=[initiative.code, step.verb])
    return StepButton(step, url, one_click=not workflow.reason_required(step))


def _proposal_button(step: workflow.Step, initiative: Initiative, proposal: InitiativeChangeProposal) -> StepButton:
    url = reverse("initiatives:change_decide", args=[initiative.code, proposal.pk, step.verb])
    return StepButton(step, url, one_click=not workflow.reason_required(step))


@require_GET
def initiative_detail(request, code: str):
    initiative = _visible(request, code)
    user = request.user
    allowed = {step.verb: policy.can(user, step.action, initiative) for step in workflow.INITIATIVE_STEPS}
    allowed["edit"] = policy.can(user, "initiative.edit", initiative)
    allowed["view_finances"] = policy.can(user, "initiative.view_finances", initiative)

    proposals = selectors.initiative_proposals(initiative=initiative)
    for proposal in proposals:
        proposal.initiative = initiative
    pending = next((p for p in proposals if p.is_pending), None)
    allowed["propose_change"] = allowed["propose_change"] and pending is None  # one pending change at a time
    buttons = [
        _step_button(step, initiative)
        for step in workflow.ACTION_BAR
        if initiative.status in step.from_states and allowed[step.verb]
    ]
    timeline = selectors.initiative_timeline(initiative=initiative)
    last_rejection = next((t for t in timeline if t.action == "reject"), None)
    platform_list, dependents = selectors.initiative_platform_lists(initiative=initiative, user=user)
    platform_risk_count = platforms.mark_risky_platforms([(initiative, platform_list)])[initiative.pk]
    agreement_list = agreements.agreement_timeline(initiative)
    this_month = agreements.current_month()
    context = {
        "initiative": initiative,
        "allowed": allowed,
        "buttons": buttons,
        "any_action": bool(buttons) or allowed["edit"],
        "assessment": assess_lane(initiative.lane_assessment or {}),
        "answers": _answers(initiative),
        "timeline": timeline,
        "history": selectors.initiative_history(initiative=initiative),
        "proposals": proposals,
        "agreements": agreement_list,
        "agreement_in_force": agreements.agreement_in_force(agreement_list, this_month),
        "this_month": this_month,
        "pending_proposal": pending,
        "pending_buttons": [
            _proposal_button(step, initiative, pending)
            for step in workflow.PROPOSAL_STEPS
            if policy.can(user, step.action, pending)
        ]
        if pending
        else [],
        "last_rejection": last_rejection if initiative.status == Status.REJECTED else None,
        "platforms": platform_list,
        "platform_risk_count": platform_risk_count,
        "dependents": dependents,
        "health_form": HealthForm(initial={"health": initiative.health}) if allowed["update_health"] else None,
        "health_step": workflow.UPDATE_HEALTH,
        "sponsor_side": sponsor_side(user, initiative),
        "reporting_currency": settings.REPORTING_CURRENCY,
        "submission_errors": services.initiative_submission_errors(initiative=initiative)
        if allowed["submit"] and initiative.status in workflow.EDITABLE
        else {},
        "plan_total": _plan_total(request, initiative),
        "budget_grid_year": fiscal_year_label(_budget_grid_year(initiative)),
        "sign_offs": [
            ("Marketing sponsor", initiative.marketing_sponsor, initiative.marketing_approved_at, "marketing"),
            ("IT sponsor", initiative.it_sponsor, initiative.it_approved_at, "it"),
        ],
    }
    return render(request, "initiatives/initiative_detail.html", context)


def _answers(initiative: Initiative) -> list[tuple[str, str]]:
    given = initiative.lane_assessment or {}
    return [(q.text, dict(q.choices).get(given.get(q.key), "—")) for q in QUESTIONS]


# --- workflow ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def initiative_transition(request, code: str, action: str):
    """Confirm (GET) and perform (POST) one status step of the workflow table (`action` is its verb)."""
    initiative = _visible(request, code)
    step = workflow.status_step(action, initiative.status)
    if step is None:
        raise PermissionDenied
    _require(request, step.action, initiative)
    form = ReasonForm(_posted(request), step=step)
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.initiative_transition(
                initiative=initiative, by=request.user, verb=step.verb, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            if _lacks_filing_fields(error, form) and policy.can(request.user, "initiative.edit", initiative):
                # What submitting lacks is a field of the filing form: show it there, next to the field.
                messages.error(request, f"{initiative.code} was not submitted: " + " ".join(error.messages))
                return redirect(reverse("initiatives:edit", args=[initiative.code]) + "?intent=submit")
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.warning(
                request, "Nothing was done: the initiative changed meanwhile. Here is where it stands now."
            )
            return redirect("initiatives:detail", code=initiative.code)
        else:
            messages.success(request, step.notice(code=initiative.code, reached=updated.status == step.to_state))
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/confirm.html",
        {
            "initiative": initiative,
            "form": form,
            "step": step,
            "action_url": request.path,
            "shows_money": step.to_state in (Status.SUBMITTED, Status.APPROVED, Status.REJECTED),
            "plan_total": _plan_total(request, initiative),
        },
        status=400 if form.is_bound else 200,
    )


def _lacks_filing_fields(error: ValidationError, form) -> bool:
    """The service refused for a field the confirmation form does not have (the estimate, to submit)."""
    return hasattr(error, "error_dict") and any(field not in form.fields for field in error.error_dict)


@require_POST
def initiative_health(request, code: str):
    initiative = _visible(request, code)
    _require(request, workflow.UPDATE_HEALTH.action, initiative)
    form = HealthForm(request.POST)
    if form.is_valid():
        try:
            services.initiative_update_health(initiative=initiative, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for messages_ in error.message_dict.values():
                for message in messages_:
                    messages.error(request, message)
        except PermissionDenied:
            messages.warning(request, "Health can no longer be updated: the initiative changed meanwhile.")
        else:
            notice = workflow.UPDATE_HEALTH.notice(code=initiative.code, health=form.cleaned_data["health"])
            messages.success(request, notice)
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("initiatives:detail", code=initiative.code)


# --- change proposals ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def change_proposal_create(request, code: str):
    initiative = _visible(request, code)
    _require(request, workflow.PROPOSE_CHANGE.action, initiative)
    form = ChangeProposalForm(_posted(request), initiative=initiative)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_proposal_create(initiative=initiative, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.warning(request, "Nothing was proposed: the initiative changed meanwhile.")
            return redirect("initiatives:detail", code=initiative.code)
        else:
            messages.success(request, workflow.PROPOSE_CHANGE.notice(code=initiative.code))
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/change_proposal_form.html",
        {"initiative": initiative, "form": form, "plan_total": _plan_total(request, initiative)},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
def change_proposal_decide(request, code: str, pk: int, decision: str):
    """Confirm (GET) and take (POST) one change proposal step of the workflow table (`decision` is its verb)."""
    initiative = _visible(request, code)
    proposal = get_object_or_404(InitiativeChangeProposal, pk=pk, initiative=initiative)
    proposal.initiative = initiative
    step = workflow.proposal_step(decision)
    if step is None:
        raise PermissionDenied
    _require(request, step.action, proposal)
    form = ReasonForm(_posted(request), step=step)
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.change_proposal_decide(
                proposal=proposal, by=request.user, verb=step.verb, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.warning(request, "Nothing was done: the change was decided meanwhile.")
            return redirect("initiatives:detail", code=initiative.code)
        else:
            messages.success(request, step.notice(code=initiative.code, reached=updated.status == step.to_state))
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/change_proposal_decide.html",
        {
            "initiative": initiative,
            "proposal": proposal,
            "form": form,
            "step": step,
            "action_url": reverse("initiatives:change_decide", args=[initiative.code, proposal.pk, step.verb]),
            "plan_total": _plan_total(request, initiative),
        },
        status=400 if form.is_bound else 200,
    )
