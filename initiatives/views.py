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

from . import selectors, services
from .choices import Status
from .filtersets import InitiativeFilterSet
from .forms import ChangeProposalForm, HealthForm, InitiativeForm, ReasonForm, apply_service_errors
from .lane_assessment import QUESTIONS, assess_lane, justification_required
from .models import Initiative, InitiativeChangeProposal

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

    active_filters = [
        name
        for name in ("q", "lane", "health", "side", "sponsor", "fiscal_year", "mine")
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


@require_http_methods(["GET", "POST"])
def initiative_create(request):
    _require(request, "initiative.create")
    form = InitiativeForm(_posted(request), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            initiative = services.initiative_create(by=request.user, **form.service_kwargs())
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, f"{initiative.code} was saved as a draft. Submit it when it is ready.")
            return redirect("initiatives:detail", code=initiative.code)
    return _render_form(request, form, None, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
def initiative_edit(request, code: str):
    initiative = _visible(request, code)
    _require(request, "initiative.edit", initiative)
    form = InitiativeForm(_posted(request), user=request.user, instance=initiative)
    if request.method == "POST" and form.is_valid():
        try:
            services.initiative_update(initiative=initiative, by=request.user, **form.service_kwargs())
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.error(request, "This initiative can no longer be edited: someone changed its status meanwhile.")
            return redirect("initiatives:detail", code=initiative.code)
        else:
            messages.success(request, f"Your changes to {initiative.code} were saved.")
            return redirect("initiatives:detail", code=initiative.code)
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


ACTION_BUTTONS = ("submit", "approve", "reject", "start", "complete", "cancel")


@require_GET
def initiative_detail(request, code: str):
    initiative = _visible(request, code)
    user = request.user
    allowed = {name: policy.can(user, f"initiative.{name}", initiative) for name in ACTION_BUTTONS}
    allowed["edit"] = policy.can(user, "initiative.edit", initiative)
    allowed["propose_change"] = policy.can(user, "initiative.propose_change", initiative)
    allowed["update_health"] = policy.can(user, "initiative.update_health", initiative)
    allowed["view_finances"] = policy.can(user, "initiative.view_finances", initiative)

    proposals = selectors.initiative_proposals(initiative=initiative)
    for proposal in proposals:
        proposal.initiative = initiative
    pending = next((p for p in proposals if p.is_pending), None)
    allowed["propose_change"] = allowed["propose_change"] and pending is None  # one pending change at a time
    timeline = selectors.initiative_timeline(initiative=initiative)
    last_rejection = next((t for t in timeline if t.action == "reject"), None)
    platforms, dependents = selectors.initiative_platform_lists(initiative=initiative, user=user)
    context = {
        "initiative": initiative,
        "allowed": allowed,
        "any_action": any(allowed[name] for name in (*ACTION_BUTTONS, "edit", "propose_change")),
        "assessment": assess_lane(initiative.lane_assessment or {}),
        "answers": _answers(initiative),
        "timeline": timeline,
        "history": selectors.initiative_history(initiative=initiative),
        "proposals": proposals,
        "pending_proposal": pending,
        "pending_allowed": {
            name: policy.can(user, f"change_proposal.{name}", pending) for name in ("approve", "reject", "withdraw")
        }
        if pending
        else {},
        "last_rejection": last_rejection if initiative.status == Status.REJECTED else None,
        "platforms": platforms,
        "dependents": dependents,
        "finance": selectors.initiative_finance_summary(initiative=initiative) if allowed["view_finances"] else None,
        "health_form": HealthForm(initial={"health": initiative.health}) if allowed["update_health"] else None,
        "sponsor_side": policy.sponsor_side(user, initiative),
        "reporting_currency": settings.REPORTING_CURRENCY,
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


@dataclass(frozen=True)
class Transition:
    service: Any
    title: str
    button: str
    done: str
    reason_required: bool = False
    reason_label: str = "Comment (optional)"
    button_class: str = "btn-primary"
    explain: str = ""


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(
        services.initiative_submit,
        "Submit for approval",
        "Submit for approval",
        "{code} was submitted: both sponsors have been notified.",
        explain="Both sponsors will be asked to approve it. You cannot edit it while it waits.",
    ),
    "approve": Transition(
        services.initiative_approve,
        "Approve",
        "Approve",
        "You approved {code}.",
        button_class="btn-success",
        explain="It becomes approved when both sponsors have approved it.",
    ),
    "reject": Transition(
        services.initiative_reject,
        "Reject",
        "Reject",
        "You rejected {code}; the owner has been told why.",
        reason_required=True,
        reason_label="Why are you rejecting it? What should the owner change?",
        button_class="btn-danger",
        explain="The owner may revise it and submit it again.",
    ),
    "start": Transition(
        services.initiative_start, "Start work", "Start work", "{code} is now in progress.", explain=""
    ),
    "complete": Transition(
        services.initiative_complete,
        "Mark as done",
        "Mark as done",
        "{code} is done.",
        button_class="btn-success",
    ),
    "cancel": Transition(
        services.initiative_cancel,
        "Cancel the initiative",
        "Cancel the initiative",
        "{code} was cancelled.",
        reason_required=True,
        reason_label="Why is it cancelled?",
        button_class="btn-danger",
        explain="Cancelling cannot be undone.",
    ),
}


@require_http_methods(["GET", "POST"])
def initiative_transition(request, code: str, action: str):
    """Confirm (GET) and perform (POST) one step of the workflow."""
    spec = TRANSITIONS.get(action)
    initiative = _visible(request, code)
    if spec is None:
        raise PermissionDenied
    _require(request, f"initiative.{action}", initiative)
    form = ReasonForm(_posted(request), required=spec.reason_required, label=spec.reason_label)
    if request.method == "POST" and form.is_valid():
        try:
            spec.service(initiative=initiative, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.warning(
                request, "Nothing was done: the initiative changed meanwhile. Here is where it stands now."
            )
            return redirect("initiatives:detail", code=initiative.code)
        else:
            messages.success(request, spec.done.format(code=initiative.code))
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/confirm.html",
        {"initiative": initiative, "form": form, "spec": spec, "action_url": request.path},
        status=400 if form.is_bound else 200,
    )


@require_POST
def initiative_health(request, code: str):
    initiative = _visible(request, code)
    _require(request, "initiative.update_health", initiative)
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
            messages.success(request, f"Health of {initiative.code} is now {form.cleaned_data['health']}.")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("initiatives:detail", code=initiative.code)


# --- change proposals ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def change_proposal_create(request, code: str):
    initiative = _visible(request, code)
    _require(request, "initiative.propose_change", initiative)
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
            messages.success(
                request, "Your change waits for both sponsors; the initiative keeps its current values until then."
            )
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/change_proposal_form.html",
        {"initiative": initiative, "form": form},
        status=400 if form.is_bound else 200,
    )


PROPOSAL_DECISIONS = {
    "approve": (services.change_proposal_approve, "You approved the change."),
    "reject": (services.change_proposal_reject, "You rejected the change; the initiative keeps its values."),
    "withdraw": (services.change_proposal_withdraw, "You withdrew the change."),
}


@require_http_methods(["GET", "POST"])
def change_proposal_decide(request, code: str, pk: int, decision: str):
    initiative = _visible(request, code)
    proposal = get_object_or_404(InitiativeChangeProposal, pk=pk, initiative=initiative)
    proposal.initiative = initiative
    if decision not in PROPOSAL_DECISIONS:
        raise PermissionDenied
    _require(request, f"change_proposal.{decision}", proposal)
    service, done = PROPOSAL_DECISIONS[decision]
    needs_reason = decision == "reject"
    form = ReasonForm(
        _posted(request),
        required=needs_reason,
        label="Why do you reject this change?" if needs_reason else "Comment (optional)",
    )
    if request.method == "POST" and form.is_valid():
        kwargs = {"reason": form.cleaned_data["reason"]} if decision != "approve" else {}
        try:
            updated = service(proposal=proposal, by=request.user, **kwargs)
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied:
            messages.warning(request, "Nothing was done: the change was decided meanwhile.")
            return redirect("initiatives:detail", code=initiative.code)
        else:
            if decision == "approve" and updated.status == "applied":
                done = "Both sponsors approved: the change is now applied."
            messages.success(request, done)
            return redirect("initiatives:detail", code=initiative.code)
    return render(
        request,
        "initiatives/change_proposal_decide.html",
        {
            "initiative": initiative,
            "proposal": proposal,
            "form": form,
            "decision": decision,
            "action_url": reverse("initiatives:change_decide", args=[initiative.code, proposal.pk, decision]),
        },
        status=400 if form.is_bound else 200,
    )
