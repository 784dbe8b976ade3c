"""Who may see and do what with initiatives and their change proposals (PRODUCT.md §1–§2).

The rules of every workflow step are built from the table in `initiatives.workflow` (the
states a step leaves from, and who may take it); the few others (view, edit, finances) are
written here. `register()` hands them to `portfolio.policy` when the app is ready, so views,
the API, services and tasks keep asking `policy.can(user, "initiative.submit", initiative)`.

The queryset forms of the visibility rules (`visible_initiatives`, `visible_finances`) live
here too, beside the yes/no rules they must agree with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from portfolio import policy
from portfolio.policy import is_executive, is_pm, sees_everything

from . import workflow
from .choices import Status
from .workflow import Step, Who

if TYPE_CHECKING:
    from .models import Initiative, InitiativeChangeProposal


# --- who the user is to an initiative ------------------------------------------------------------


def is_owner(user, initiative: Initiative) -> bool:
    return user.is_authenticated and initiative.owner_id == user.pk


def is_sponsor(user, initiative: Initiative) -> bool:
    return user.is_authenticated and user.pk in (initiative.marketing_sponsor_id, initiative.it_sponsor_id)


def sponsor_side(user, initiative: Initiative) -> str:
    """`marketing` or `it`: which of the initiative's sponsors `user` is ('' if neither)."""
    if not user.is_authenticated:
        return ""
    if user.pk == initiative.marketing_sponsor_id:
        return "marketing"
    if user.pk == initiative.it_sponsor_id:
        return "it"
    return ""


def awaits_sign_off(user, initiative: Initiative) -> bool:
    """A sponsor of a submitted initiative who has not yet approved it (each sponsor decides once)."""
    who = sponsor_side(user, initiative)
    if not who or initiative.status != Status.SUBMITTED:
        return False
    return getattr(initiative, f"{who}_approved_at") is None


def awaits_change_approval(user, proposal: InitiativeChangeProposal) -> bool:
    """An executive, current sponsor of the initiative, who has not yet approved this change."""
    who = sponsor_side(user, proposal.initiative)
    return bool(who) and is_executive(user) and getattr(proposal, f"{who}_approved_at") is None


# The test of each `Who` of the workflow table, on the object the step acts on.
WHO: dict[Who, Callable[[Any, Any], bool]] = {
    Who.OWNER: lambda user, initiative: is_pm(user) and is_owner(user, initiative),
    Who.OWNER_OR_SPONSOR: lambda user, initiative: is_owner(user, initiative) or is_sponsor(user, initiative),
    Who.SPONSOR: lambda user, initiative: is_executive(user) and is_sponsor(user, initiative),
    Who.UNDECIDED_SPONSOR: lambda user, initiative: is_executive(user) and awaits_sign_off(user, initiative),
    Who.UNDECIDED_CHANGE_SPONSOR: awaits_change_approval,
    Who.PROPOSER: lambda user, proposal: user.is_authenticated and proposal.proposed_by_id == user.pk,
}


def step_allowed(step: Step, user, obj) -> bool:
    """May `user` take `step` on `obj` (an initiative, or a change proposal for a proposal step) now?"""
    if obj.status not in step.from_states:
        return False
    if step.initiative_states and obj.initiative.status not in step.initiative_states:
        return False
    return bool(WHO[step.who](user, obj))


def _rules_of(steps: Iterable[Step]) -> dict[str, Callable[[Any, Any], bool]]:
    """One rule per policy action: allowed when one of the action's steps is (submit or resubmit…)."""
    by_action: dict[str, list[Step]] = {}
    for step in steps:
        by_action.setdefault(step.action, []).append(step)
    return {
        action: (lambda user, obj, steps=tuple(steps): any(step_allowed(step, user, obj) for step in steps))
        for action, steps in by_action.items()
    }


# --- what the user may see ---------------------------------------------------------------------


def visible_initiatives(user, queryset: QuerySet) -> QuerySet:
    """Executives, finance and admins see every initiative; a PM sees all but other people's drafts."""
    if sees_everything(user):
        return queryset
    if is_pm(user):
        return queryset.filter(~Q(status=Status.DRAFT) | Q(owner=user))
    return queryset.none()


def can_view_initiative(user, initiative: Initiative) -> bool:
    if sees_everything(user):
        return True
    return is_pm(user) and (initiative.status != Status.DRAFT or is_owner(user, initiative))


def can_view_initiative_finances(user, initiative: Initiative) -> bool:
    """Budgets and actuals: executives, finance, admins; a PM only for initiatives they own."""
    return sees_everything(user) or (is_pm(user) and is_owner(user, initiative))


def visible_finances(user, queryset: QuerySet, *, initiative_field: str = "initiative") -> QuerySet:
    """Budget lines, expenses… whose initiative's finances `user` may see (the queryset form of
    `can_view_initiative_finances`): everything for executives, finance and admins; a PM's own."""
    if sees_everything(user):
        return queryset
    if is_pm(user):
        return queryset.filter(finances_visible_q(user, initiative_field=initiative_field))
    return queryset.none()


def finances_visible_q(user, *, initiative_field: str = "") -> Q:
    """The condition form of `can_view_initiative_finances`, on initiatives (`initiative_field=""`) or on
    rows pointing at one: true for everything (executives, finance, admins), a PM's own, else nothing.
    A list of initiatives shows their plan and actual only where it holds."""
    if sees_everything(user):
        return Q()
    owner = f"{initiative_field}__owner" if initiative_field else "owner"
    if is_pm(user):
        return Q(**{owner: user})
    return Q(pk__in=[])


# --- the rules ---------------------------------------------------------------------------------

INITIATIVE_RULES: dict[str, Callable[[Any, Initiative], bool]] = {
    "initiative.view": can_view_initiative,
    "initiative.edit": lambda u, i: i.status in workflow.EDITABLE and WHO[Who.OWNER](u, i),
    "initiative.decide_change": lambda u, i: i.status in workflow.RUNNING and WHO[Who.SPONSOR](u, i),
    "initiative.view_finances": can_view_initiative_finances,
    **_rules_of(workflow.INITIATIVE_STEPS),
}
PROPOSAL_RULES: dict[str, Callable[[Any, InitiativeChangeProposal], bool]] = _rules_of(workflow.PROPOSAL_STEPS)
GLOBAL_RULES: dict[str, Callable[[Any], bool]] = {"initiative.create": is_pm}


def register() -> None:
    """Hand the rules to the policy (InitiativesConfig.ready)."""
    policy.register(INITIATIVE_RULES, applies_to="initiative")
    policy.register(PROPOSAL_RULES, applies_to="change proposal")
    policy.register(GLOBAL_RULES)
