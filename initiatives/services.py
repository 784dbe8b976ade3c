"""Writes to initiatives go through these services (HackSoft style: keyword-only, atomic).

Every business rule of PRODUCT.md §2 about initiatives lives here: the field
rules of the filing form, the status workflow with dual sponsor sign-off, the
change proposals that guard an approved initiative's share, lane and sponsors,
the timeline (`InitiativeTransition`) and the notifications. The steps themselves
(from which states, to which, who, whether a reason is required) are the rows of
`initiatives.workflow`, which the services follow; permission questions are asked
of `portfolio.policy`. Views, the API and importers call these functions and never
change an initiative's status themselves.

Errors: `PermissionDenied` when the policy refuses (including when the state
changed under the caller's feet), `ValidationError` with field messages when
the data is wrong.

Over 500 lines on purpose: filing, the workflow and change proposals share one
row-lock order (initiative, then proposal), one timeline writer and one field
validation (a proposal re-checks the filing's share and sponsor rules).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Required, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portfolio import plan_months, policy
from portfolio.fiscal import month_start

from . import agreements, estimates, workflow
from .choices import Action, Health, Lane, ProposalStatus, Side, Status
from .lane_assessment import QUESTION_KEYS, assess_lane, justification_required
from .models import (
    INITIATIVE_SEQUENCE,
    CodeSequence,
    Initiative,
    InitiativeChangeProposal,
    InitiativeTransition,
    format_initiative_code,
)
from .notifications import budget_needed_notifications_queue, transition_notifications_queue
from .rules import sponsor_side
from .workflow import REASON_MAX, Step

TITLE_MAX = 200
SUMMARY_MAX = 5000


class InitiativeFields(TypedDict, total=False):
    """What the filing form asks: the keyword arguments of `initiative_create` and `initiative_update`."""

    title: Required[str]
    summary: Required[str]
    marketing_sponsor: Required[Any]
    it_sponsor: Required[Any]
    lane: Required[str]
    start_date: Required[dt.date | None]
    end_date: Required[dt.date | None]
    marketing_share_pct: Required[object]
    health: str  # required by `initiative_update`; a new initiative starts green
    platforms: Iterable[Initiative]
    lane_assessment: Required[Mapping[str, object]]
    lane_justification: str
    estimated_cost: object  # optional on a draft (None), required to submit (`estimates.submission_errors`)


@transaction.atomic
def initiative_codes_allocate(*, count: int = 1) -> list[str]:
    """Draw `count` consecutive, never-used initiative codes (the sequence row stays locked until the
    caller's transaction ends, see CodeSequence.draw)."""
    first = CodeSequence.draw(INITIATIVE_SEQUENCE, count=count)
    return [format_initiative_code(number) for number in range(first, first + count)]


# --- field rules ---------------------------------------------------------------


def _is_executive_of(user: AbstractBaseUser | None, side: str) -> bool:
    return user is not None and policy.is_executive(user) and policy.side(user) == side


def _clean_share(value: object, errors: dict[str, str], field: str = "marketing_share_pct") -> Decimal | None:
    try:
        share = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5."
        return None
    if not share.is_finite():
        errors[field] = "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5."
        return None
    if not Decimal(0) <= share <= Decimal(100):
        errors[field] = "Marketing's share must be between 0 and 100 %."
        return None
    if share != share.quantize(Decimal("0.01")):
        errors[field] = "Use at most two decimal places, for example 62.55."
        return None
    return share.quantize(Decimal("0.01"))


def _check_sponsors(marketing_sponsor, it_sponsor, errors: dict[str, str]) -> None:
    if marketing_sponsor is not None and not _is_executive_of(marketing_sponsor, Side.MARKETING):
        errors["marketing_sponsor"] = "The marketing sponsor must be an executive on the marketing side."
    if it_sponsor is not None and not _is_executive_of(it_sponsor, Side.IT):
        errors["it_sponsor"] = "The IT sponsor must be an executive on the IT side."


def _check_platforms(
    *, initiative: Initiative | None, lane: str, platforms: list[Initiative], errors: dict[str, str]
) -> None:
    if not platforms:
        return
    if lane != Lane.FAST_LANE:
        errors["platforms"] = "Only a fast-lane initiative builds on platforms: remove them or choose the fast lane."
        return
    if initiative is not None and initiative.pk and any(p.pk == initiative.pk for p in platforms):
        errors["platforms"] = "An initiative cannot be its own platform."
        return
    not_core = [p.code for p in platforms if p.lane != Lane.CORE_STACK]
    if not_core:
        errors["platforms"] = f"Platforms must be core-stack initiatives; {', '.join(not_core)} is not."


def _validated_fields(
    *,
    initiative: Initiative | None,
    by: AbstractBaseUser,
    title: str,
    summary: str,
    marketing_sponsor,
    it_sponsor,
    lane: str,
    start_date: dt.date | None,
    end_date: dt.date | None,
    marketing_share_pct: object,
    health: str,
    platforms: Iterable[Initiative] = (),
    lane_assessment: Mapping[str, object],
    lane_justification: str = "",
    estimated_cost: object = None,
) -> tuple[dict[str, object], list[Initiative]]:
    """Check every field rule of the filing form at once; raise ValidationError listing them all."""
    errors: dict[str, str] = {}
    title = (title or "").strip()
    summary = (summary or "").strip()
    lane_justification = (lane_justification or "").strip()
    platforms = list(platforms)

    if not title:
        errors["title"] = "Give the initiative a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters (it has {len(title)})."
    if not summary:
        errors["summary"] = "Describe the business outcome this initiative serves."
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters (it has {len(summary)})."
    if not policy.is_pm(by):
        errors["owner"] = "The owner of an initiative must be a product manager."
    if marketing_sponsor is None:
        errors["marketing_sponsor"] = "Choose the marketing executive who sponsors this initiative."
    if it_sponsor is None:
        errors["it_sponsor"] = "Choose the IT executive who sponsors this initiative."
    _check_sponsors(marketing_sponsor, it_sponsor, errors)
    if lane not in Lane.values:
        errors["lane"] = "Choose the fast lane or the core stack."
    if start_date is None:
        errors["start_date"] = "Enter the start date."
    if end_date is None:
        errors["end_date"] = "Enter the end date."
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = "The end date cannot be before the start date."
    elif initiative is not None and initiative.pk and start_date and end_date:
        # Budget lines lie in months the initiative runs (PRODUCT.md §2): new dates may not strand
        # any. initiative_update asks with the row locked, and budget writes lock the same row.
        for field, message in plan_months.dates_change_errors(initiative.pk, start_date, end_date).items():
            errors.setdefault(field, message)
    share = _clean_share(marketing_share_pct, errors)
    estimate = estimates.clean_estimated_cost(estimated_cost, errors)
    if health not in Health.values:
        errors["health"] = "Choose green, amber or red."
    _check_platforms(initiative=initiative, lane=lane, platforms=platforms, errors=errors)

    assessment = assess_lane(lane_assessment)
    for key in assessment.missing:
        errors[f"assessment_{key}"] = "Answer this question."
    if len(lane_justification) > REASON_MAX:
        errors["lane_justification"] = f"Keep the justification under {REASON_MAX} characters."
    elif (
        assessment.complete
        and lane in Lane.values
        and justification_required(chosen_lane=lane, recommended=assessment.recommended)
        and not lane_justification
    ):
        errors["lane_justification"] = (
            f"The assessment recommends the {assessment.recommended_label.lower()}: "
            "explain why this initiative belongs in the other lane."
        )
    if errors:
        raise ValidationError(errors)

    return {
        "title": title,
        "summary": summary,
        "marketing_sponsor": marketing_sponsor,
        "it_sponsor": it_sponsor,
        "lane": lane,
        "start_date": start_date,
        "end_date": end_date,
        "marketing_share_pct": share,
        "estimated_cost": estimate,
        "health": health,
        "lane_assessment": {key: lane_assessment[key] for key in QUESTION_KEYS},
        "lane_recommended": assessment.recommended,
        "lane_justification": lane_justification if lane != assessment.recommended else "",
    }, platforms


def initiative_field_errors(**fields) -> dict[str, str]:
    """The field rules' complaint per field about a filing ({} when valid), without saving anything.

    Forms call it so that every problem (end before start, a sponsor of the
    wrong side…) shows at once next to its field; the services apply the
    same rules again when they save.
    """
    try:
        _validated_fields(**fields)
    except ValidationError as error:
        return {field: messages[0] for field, messages in error.message_dict.items()}
    return {}


def initiative_submission_errors(*, initiative: Initiative) -> dict[str, str]:
    """What `initiative` lacks before it may be submitted ({} when nothing): the filing form shows it
    next to its field, the submit step refuses with it (web and API alike)."""
    return estimates.submission_errors(estimated_cost=initiative.estimated_cost)


# --- timeline and notifications ----------------------------------------------------


def _record(
    *,
    initiative: Initiative,
    action: str,
    from_status: str,
    by: AbstractBaseUser,
    reason: str = "",
    proposal: InitiativeChangeProposal | None = None,
) -> InitiativeTransition:
    """Append to the timeline and write the people's notifications, sent once the transaction commits."""
    entry = InitiativeTransition.objects.create(
        initiative=initiative,
        action=action,
        from_status=from_status,
        to_status=initiative.status,
        by=by,
        reason=reason,
        proposal=proposal,
    )
    if action != Action.CREATE:
        transition_notifications_queue(entry=entry)
    return entry


def _locked(initiative: Initiative) -> Initiative:
    """The initiative's row, locked until the end of the transaction, with fresh values."""
    return Initiative.objects.select_for_update().get(pk=initiative.pk)


def _require(by: AbstractBaseUser, action: str, obj, message: str) -> None:
    if not policy.can(by, action, obj):
        raise PermissionDenied(message)


def _save(initiative: Initiative, by: AbstractBaseUser, **kwargs) -> None:
    initiative._history_user = by  # history records who, also outside a web request
    initiative.save(**kwargs)


# --- filing ------------------------------------------------------------------------


@transaction.atomic
def initiative_create(*, by: AbstractBaseUser, **fields: Unpack[InitiativeFields]) -> Initiative:
    """File a new initiative as a draft owned by `by` (a PM); health starts green unless given."""
    _require(by, "initiative.create", None, "Only product managers file initiatives.")
    values, platform_list = _validated_fields(initiative=None, by=by, **{"health": Health.GREEN, **fields})
    initiative = Initiative(owner=by, status=Status.DRAFT, **values)
    _save(initiative, by)
    initiative.platforms.set(platform_list)
    _record(initiative=initiative, action=Action.CREATE, from_status="", by=by)
    return initiative


@transaction.atomic
def initiative_update(
    *, initiative: Initiative, by: AbstractBaseUser, **fields: Unpack[InitiativeFields]
) -> Initiative:
    """Edit a draft or rejected initiative (its owner only); every field is given again, health included."""
    locked = _locked(initiative)
    _require(by, "initiative.edit", locked, "Only the owner may edit an initiative, and only while draft or rejected.")
    values, platform_list = _validated_fields(initiative=locked, by=by, **fields)
    for name, value in values.items():
        setattr(locked, name, value)
    _save(locked, by)
    if {p.pk for p in platform_list} != set(locked.platforms.values_list("pk", flat=True)):
        locked.platforms.set(platform_list)
    return locked


# --- the workflow ------------------------------------------------------------------


@transaction.atomic
def initiative_transition(*, initiative: Initiative, by: AbstractBaseUser, verb: str, reason: str = "") -> Initiative:
    """Take the status step `verb` (`submit`, `approve`, `reject`, `start`, `complete`, `cancel`) of the
    workflow table from the initiative's current state.

    Entering `submitted` (a submission or a resubmission) clears both sign-offs: each sponsor decides
    again. A dual sign-off step (approve) records the sponsor's sign-off and reaches its state with
    the second one; the row lock serialises two sponsors approving at the same instant, so the second
    sees the first one's sign-off and performs the single transition. Reaching a closed state
    withdraws the pending change proposal.
    """
    locked = _locked(initiative)
    step = workflow.status_step(verb, locked.status)
    if step is None:
        raise ValueError(f"no workflow step is called {verb!r}")
    _require(by, step.action, locked, step.refused)
    reason = workflow.clean_reason(step, reason)
    if step.to_state == Status.SUBMITTED and (missing := initiative_submission_errors(initiative=locked)):
        raise ValidationError(missing)  # the sponsors never decide blind (PRODUCT.md §2 estimated_cost)
    previous = locked.status
    if step.dual_sign_off:
        setattr(locked, f"{sponsor_side(by, locked)}_approved_at", timezone.now())
        if locked.marketing_approved_at and locked.it_approved_at:
            locked.status = step.to_state
    else:
        locked.status = step.to_state
    if step.to_state == Status.SUBMITTED:
        locked.marketing_approved_at = None  # a resubmission needs both sign-offs again
        locked.it_approved_at = None
    _save(locked, by)
    reached_approval = locked.status == Status.APPROVED and previous != Status.APPROVED
    if reached_approval:
        agreements.agreement_first_create(initiative=locked, by=by)  # the share agreed at dual sign-off
    _record(initiative=locked, action=step.record, from_status=previous, by=by, reason=reason)
    if reached_approval:
        budget_needed_notifications_queue(initiative=locked)  # finance: it now needs a budget
    if locked.status in workflow.CLOSED:
        _withdraw_pending_proposals(locked, by=by, why=f"The initiative is {locked.get_status_display().lower()}.")
    return locked


def initiative_submit(*, initiative: Initiative, by: AbstractBaseUser, reason: str = "") -> Initiative:
    """Send a draft (or a revised, rejected initiative) to both sponsors for approval."""
    return initiative_transition(initiative=initiative, by=by, verb="submit", reason=reason)


def initiative_approve(*, initiative: Initiative, by: AbstractBaseUser, reason: str = "") -> Initiative:
    """One sponsor's sign-off; the second one makes the initiative `approved`."""
    return initiative_transition(initiative=initiative, by=by, verb="approve", reason=reason)


def initiative_reject(*, initiative: Initiative, by: AbstractBaseUser, reason: str) -> Initiative:
    """A sponsor turns the submission down, saying why; the owner may revise and resubmit."""
    return initiative_transition(initiative=initiative, by=by, verb="reject", reason=reason)


def initiative_start(*, initiative: Initiative, by: AbstractBaseUser, reason: str = "") -> Initiative:
    """Work begins on an approved initiative (its owner or a sponsor)."""
    return initiative_transition(initiative=initiative, by=by, verb="start", reason=reason)


def initiative_complete(*, initiative: Initiative, by: AbstractBaseUser, reason: str = "") -> Initiative:
    """An in-progress initiative is done (its owner or a sponsor)."""
    return initiative_transition(initiative=initiative, by=by, verb="complete", reason=reason)


def initiative_cancel(*, initiative: Initiative, by: AbstractBaseUser, reason: str) -> Initiative:
    """A sponsor stops an open initiative, saying why."""
    return initiative_transition(initiative=initiative, by=by, verb="cancel", reason=reason)


@transaction.atomic
def initiative_update_health(
    *, initiative: Initiative, by: AbstractBaseUser, health: str, reason: str = ""
) -> Initiative:
    """The owner or a sponsor reports green, amber or red on a running initiative."""
    step = workflow.UPDATE_HEALTH
    locked = _locked(initiative)
    _require(by, step.action, locked, step.refused)
    if health not in Health.values:
        raise ValidationError({"health": "Choose green, amber or red."})
    reason = workflow.clean_reason(step, reason, choice=health)
    if locked.health == health:
        raise ValidationError({"health": f"Health is already {locked.get_health_display().lower()}."})
    locked.health = health
    _save(locked, by)
    _record(initiative=locked, action=step.record, from_status=locked.status, by=by, reason=reason)
    return locked


# --- changes to an approved initiative ----------------------------------------------


def _display_value(initiative: Initiative, field: str) -> str:
    value = getattr(initiative, field)
    if field == "lane":
        return Lane(value).label
    if field in ("marketing_sponsor", "it_sponsor"):
        return value.get_full_name() or value.get_username()
    return f"{value}"


@transaction.atomic
def change_proposal_create(
    *,
    initiative: Initiative,
    by: AbstractBaseUser,
    reason: str,
    marketing_share_pct: object = None,
    lane: str = "",
    marketing_sponsor=None,
    it_sponsor=None,
    effective_from: dt.date | None = None,
) -> InitiativeChangeProposal:
    """Propose a new share, lane or sponsor for an approved or in-progress initiative.

    The initiative keeps its values until both current sponsors approve. A
    sponsor who proposes the change has thereby approved it. A new share applies
    from `effective_from` (any day of the month; by default the first month from the
    current one on that is not locked), never a locked month nor one before the start
    month (`initiatives.agreements`).
    """
    locked = _locked(initiative)
    step = workflow.PROPOSE_CHANGE
    _require(by, step.action, locked, step.refused)
    errors: dict[str, str] = {}
    share = None
    share_before = None
    if marketing_share_pct not in (None, ""):
        share = _clean_share(marketing_share_pct, errors)
    if share is not None:
        if effective_from is None:
            effective_from = agreements.effective_month_default(locked)
        effective_from = month_start(effective_from)
        if month_error := agreements.effective_month_error(locked, effective_from):
            errors["effective_from"] = month_error
        else:
            share_before = agreements.share_in_force(locked, effective_from)
            if share == share_before:
                share = None  # that month has this share already
    if share is None:
        effective_from = None
    lane = lane or ""
    if lane and lane not in Lane.values:
        errors["lane"] = "Choose the fast lane or the core stack."
    elif lane == locked.lane:
        lane = ""
    if marketing_sponsor is not None and marketing_sponsor.pk == locked.marketing_sponsor_id:
        marketing_sponsor = None
    if it_sponsor is not None and it_sponsor.pk == locked.it_sponsor_id:
        it_sponsor = None
    _check_sponsors(marketing_sponsor, it_sponsor, errors)
    if lane == Lane.CORE_STACK and locked.platforms.exists():
        errors["lane"] = "This initiative builds on platforms; a core-stack initiative cannot."
    if lane == Lane.FAST_LANE and locked.dependents.exists():
        errors["lane"] = "Other initiatives build on this one as a platform; a platform must stay core-stack."
    if reason_error := workflow.reason_error(step, reason):
        errors["reason"] = reason_error
    reason = (reason or "").strip()
    if not errors and share is None and not lane and marketing_sponsor is None and it_sponsor is None:
        errors["__all__"] = "Nothing would change: enter a new share, lane or sponsor."
    if InitiativeChangeProposal.objects.filter(initiative=locked, status=ProposalStatus.PENDING).exists():
        errors["__all__"] = "A change is already waiting for the sponsors: decide or withdraw it first."
    if errors:
        raise ValidationError(errors)

    proposal = InitiativeChangeProposal(
        initiative=locked,
        proposed_by=by,
        reason=reason,
        marketing_share_pct=share,
        effective_from=effective_from,
        lane=lane,
        marketing_sponsor=marketing_sponsor,
        it_sponsor=it_sponsor,
    )
    proposal.previous_values = {field: _display_value(locked, field) for field in proposal.changed_fields()}
    if share is not None:
        proposal.previous_values["marketing_share_pct"] = f"{share_before}"  # the share in force that month
    side = sponsor_side(by, locked) if policy.is_executive(by) else ""
    if side:
        setattr(proposal, f"{side}_approved_by", by)
        setattr(proposal, f"{side}_approved_at", timezone.now())
    proposal.save()
    _record(
        initiative=locked,
        action=step.record,
        from_status=locked.status,
        by=by,
        reason=reason,
        proposal=proposal,
    )
    return proposal


def _locked_proposal(proposal: InitiativeChangeProposal) -> InitiativeChangeProposal:
    # Lock order: the initiative first, then its proposal (as every service here does).
    initiative = _locked(proposal.initiative)
    locked = InitiativeChangeProposal.objects.select_for_update().get(pk=proposal.pk)
    locked.initiative = initiative
    return locked


@transaction.atomic
def change_proposal_decide(
    *, proposal: InitiativeChangeProposal, by: AbstractBaseUser, verb: str, reason: str = ""
) -> InitiativeChangeProposal:
    """Take the change proposal step `verb` (`approve`, `reject`, `withdraw`) of the workflow table.

    An approval is one sponsor's; with both, the change is applied to the initiative.
    """
    step = workflow.proposal_step(verb)
    if step is None:
        raise ValueError(f"no change proposal step is called {verb!r}")
    locked = _locked_proposal(proposal)
    initiative = locked.initiative
    _require(by, step.action, locked, step.refused)
    reason = workflow.clean_reason(step, reason)
    if not step.dual_sign_off:
        _decide(locked, step, by=by, why=reason)
        return locked
    side = sponsor_side(by, initiative)
    setattr(locked, f"{side}_approved_by", by)
    setattr(locked, f"{side}_approved_at", timezone.now())
    record = step.record
    if locked.marketing_approved_at and locked.it_approved_at:
        _apply(locked, initiative, by)
        locked.status = step.to_state
        locked.decided_by = by
        locked.decided_at = timezone.now()
        record = step.record_when_reached or step.record
    locked.save()
    _record(initiative=initiative, action=record, from_status=initiative.status, by=by, reason=reason, proposal=locked)
    return locked


def change_proposal_approve(
    *, proposal: InitiativeChangeProposal, by: AbstractBaseUser, reason: str = ""
) -> InitiativeChangeProposal:
    """One sponsor approves a pending change; with both approvals it is applied to the initiative."""
    return change_proposal_decide(proposal=proposal, by=by, verb="approve", reason=reason)


def change_proposal_reject(
    *, proposal: InitiativeChangeProposal, by: AbstractBaseUser, reason: str
) -> InitiativeChangeProposal:
    """A sponsor turns a pending change down, saying why; the initiative keeps its values."""
    return change_proposal_decide(proposal=proposal, by=by, verb="reject", reason=reason)


def change_proposal_withdraw(
    *, proposal: InitiativeChangeProposal, by: AbstractBaseUser, reason: str = ""
) -> InitiativeChangeProposal:
    """The person who proposed a change takes it back."""
    return change_proposal_decide(proposal=proposal, by=by, verb="withdraw", reason=reason)


def _apply(proposal: InitiativeChangeProposal, initiative: Initiative, by: AbstractBaseUser) -> None:
    if proposal.marketing_share_pct is not None:
        # A new agreement from the effective month; the initiative's share is the one in force this
        # month (a later effective month leaves it until then: agreements_sync_current_share).
        agreements.agreement_from_proposal(proposal=proposal, initiative=initiative, by=by)
        initiative.marketing_share_pct = agreements.share_in_force(initiative, agreements.current_month())
    if proposal.lane:
        initiative.lane = proposal.lane
        if initiative.lane_recommended and proposal.lane != initiative.lane_recommended:
            initiative.lane_justification = proposal.reason
        else:
            initiative.lane_justification = ""
    if proposal.marketing_sponsor_id:
        initiative.marketing_sponsor_id = proposal.marketing_sponsor_id
    if proposal.it_sponsor_id:
        initiative.it_sponsor_id = proposal.it_sponsor_id
    _save(initiative, by)


def _decide(proposal: InitiativeChangeProposal, step: Step, *, by: AbstractBaseUser, why: str) -> None:
    """Close a pending proposal with `step` (rejected or withdrawn), saying why, on the timeline too."""
    proposal.status = step.to_state
    proposal.decided_by = by
    proposal.decided_at = timezone.now()
    proposal.decision_reason = why
    proposal.save()
    initiative = proposal.initiative
    _record(
        initiative=initiative,
        action=step.record,
        from_status=initiative.status,
        by=by,
        reason=why,
        proposal=proposal,
    )


def _withdraw_pending_proposals(initiative: Initiative, *, by: AbstractBaseUser, why: str) -> None:
    for proposal in InitiativeChangeProposal.objects.select_for_update().filter(
        initiative=initiative, status=ProposalStatus.PENDING
    ):
        proposal.initiative = initiative
        _decide(proposal, workflow.WITHDRAW_CHANGE, by=by, why=why)
