"""Writes to initiatives go through these services (HackSoft style: keyword-only, atomic).

Every business rule of PRODUCT.md §2 about initiatives lives here: the
status workflow with dual sponsor sign-off, the
change proposals that guard an approved initiative's share, lane and sponsors,
the timeline (`InitiativeTransition`) and the notifications. The steps themselves
(from which states, to which, who, whether a reason is required) are the rows of
`initiatives.workflow`, which the services follow; permission questions are asked
of `portfolio.policy`. Views, the API and importers call these functions and never
change an initiative's status themselves.

Errors: `PermissionDenied` when the policy refuses (including when the state
changed under the caller's feet), `ValidationError` with field messages when
the data is wrong.

The field rules of the filing form are `initiatives.filing` (a proposal re-checks
its share and sponsor rules); filing, the workflow and change proposals stay here,
sharing one row-lock order (initiative, then proposal) and one timeline writer.
"""

from __future__ import annotations

import datetime as dt
from typing import Unpack

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portfolio import policy
from portfolio.fiscal import month_start

from . import agreements, workflow
from .choices import Action, Health, Lane, ProposalStatus, Status
from .filing import (  # noqa: F401 - the filing rules, called through services by forms and views
    SUMMARY_MAX,
    TITLE_MAX,
    InitiativeFields,
    check_sponsors,
    clean_share,
    initiative_field_errors,
    initiative_submission_errors,
    lane_move_error,
    validated_fields,
)
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
from .workflow import Step


@transaction.atomic
def initiative_codes_allocate(*, count: int = 1) -> list[str]:
    """Draw `count` consecutive, never-used initiative codes (the sequence row stays locked until the
    caller's transaction ends, see CodeSequence.draw)."""
    first = CodeSequence.draw(INITIATIVE_SEQUENCE, count=count)
    return [format_initiative_code(number) for number in range(first, first + count)]


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
    values, platform_list = validated_fields(initiative=None, by=by, **{"health": Health.GREEN, **fields})
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
    values, platform_list = validated_fields(initiative=locked, by=by, **fields)
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
        share = clean_share(marketing_share_pct, errors)
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
    check_sponsors(marketing_sponsor, it_sponsor, errors)
    if lane and (lane_error := lane_move_error(locked, lane)):
        errors["lane"] = lane_error
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
