"""The one permission policy (PRODUCT.md §1).

Every view, API endpoint, importer, admin action and task asks this module what
a user may do; none decides on its own. `can(user, action, obj)` answers one
question; `visible_initiatives(user, queryset)` narrows a queryset to what the
user may see (used for lists and for 404-not-403 on detail lookups).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from initiatives.choices import OPEN_STATUSES, ProposalStatus, Role, Status

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from initiatives.models import Initiative, InitiativeChangeProposal


# --- who the user is --------------------------------------------------------


def roles(user: AbstractBaseUser | None) -> frozenset[str]:
    """The user's role names (Django groups), cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_policy_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names)
        user._policy_roles = cached
    return cached


def side(user: AbstractBaseUser | None) -> str:
    """`marketing`, `it` or '' (finance and admins have no side)."""
    profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
    return getattr(profile, "side", "") or ""


def is_pm(user) -> bool:
    return Role.PM in roles(user)


def is_executive(user) -> bool:
    return Role.EXECUTIVE in roles(user)


def is_finance(user) -> bool:
    return Role.FINANCE in roles(user)


def is_admin(user) -> bool:
    return Role.ADMIN in roles(user)


def sees_everything(user) -> bool:
    return bool(roles(user) & {Role.EXECUTIVE, Role.FINANCE, Role.ADMIN})


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


# --- what the user may see --------------------------------------------------


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
        return queryset.filter(**{f"{initiative_field}__owner": user})
    return queryset.none()


# --- what the user may do ---------------------------------------------------

EDITABLE = (Status.DRAFT, Status.REJECTED)
CHANGE_NEEDS_BOTH_SPONSORS = (Status.APPROVED, Status.IN_PROGRESS)


def _initiative_rules() -> dict[str, Callable[[Any, Initiative], bool]]:
    return {
        "initiative.view": can_view_initiative,
        "initiative.edit": lambda u, i: is_pm(u) and is_owner(u, i) and i.status in EDITABLE,
        "initiative.submit": lambda u, i: is_pm(u) and is_owner(u, i) and i.status in EDITABLE,
        "initiative.approve": lambda u, i: is_executive(u) and awaits_sign_off(u, i),
        "initiative.reject": lambda u, i: is_executive(u) and awaits_sign_off(u, i),
        "initiative.start": lambda u, i: (is_owner(u, i) or is_sponsor(u, i)) and i.status == Status.APPROVED,
        "initiative.complete": lambda u, i: (is_owner(u, i) or is_sponsor(u, i)) and i.status == Status.IN_PROGRESS,
        "initiative.cancel": lambda u, i: is_executive(u) and is_sponsor(u, i) and i.status in OPEN_STATUSES,
        "initiative.propose_change": lambda u, i: (
            (is_owner(u, i) or is_sponsor(u, i)) and i.status in CHANGE_NEEDS_BOTH_SPONSORS
        ),
        "initiative.decide_change": lambda u, i: (
            is_executive(u) and is_sponsor(u, i) and i.status in CHANGE_NEEDS_BOTH_SPONSORS
        ),
        "initiative.update_health": lambda u, i: (
            (is_owner(u, i) or is_sponsor(u, i)) and i.status in CHANGE_NEEDS_BOTH_SPONSORS
        ),
        "initiative.view_finances": can_view_initiative_finances,
    }


def _proposal_awaits(user, proposal: InitiativeChangeProposal) -> bool:
    """A current sponsor who has not yet approved this pending change of a running initiative."""
    initiative = proposal.initiative
    if proposal.status != ProposalStatus.PENDING or initiative.status not in CHANGE_NEEDS_BOTH_SPONSORS:
        return False
    who = sponsor_side(user, initiative)
    return bool(who) and is_executive(user) and getattr(proposal, f"{who}_approved_at") is None


def _proposal_rules() -> dict[str, Callable[[Any, InitiativeChangeProposal], bool]]:
    return {
        "change_proposal.approve": _proposal_awaits,
        "change_proposal.reject": _proposal_awaits,
        "change_proposal.withdraw": lambda u, p: (
            p.status == ProposalStatus.PENDING and u.is_authenticated and p.proposed_by_id == u.pk
        ),
    }


def _global_rules() -> dict[str, Callable[[Any], bool]]:
    finance = is_finance
    return {
        "initiative.create": is_pm,
        # The joint dashboard is for those who see the whole portfolio (PRODUCT.md §1); PMs get 403.
        "dashboard.view": sees_everything,
        "budgets.manage": finance,
        "expenses.manage": finance,
        "fx.manage": finance,
        "locks.manage": finance,
        "imports.run": finance,
        "reports.export": finance,
        "split.view": lambda u: sees_everything(u),
        "split.recompute": finance,
        "audit.view": lambda u: finance(u) or is_admin(u),
        # Finance's records in the Django admin: finance, and the admin role, which reads them there
        # (as it reads their history in the audit log) but writes none of them (see can_in_admin).
        "admin.view_finance_records": lambda u: finance(u) or is_admin(u),
    }


INITIATIVE_RULES = _initiative_rules()
PROPOSAL_RULES = _proposal_rules()
GLOBAL_RULES = _global_rules()
ACTIONS = tuple(INITIATIVE_RULES) + tuple(PROPOSAL_RULES) + tuple(GLOBAL_RULES)


def can(user, action: str, obj: Initiative | InitiativeChangeProposal | None = None) -> bool:
    """May `user` perform `action` (on `obj`: an initiative or a change proposal)? Unknown actions raise."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if action in INITIATIVE_RULES:
        if obj is None:
            raise ValueError(f"{action} needs the initiative it applies to")
        return bool(INITIATIVE_RULES[action](user, obj))
    if action in PROPOSAL_RULES:
        if obj is None:
            raise ValueError(f"{action} needs the change proposal it applies to")
        return bool(PROPOSAL_RULES[action](user, obj))
    if action in GLOBAL_RULES:
        return bool(GLOBAL_RULES[action](user))
    raise KeyError(f"unknown action {action!r}")


# --- the Django admin -------------------------------------------------------
# PRODUCT.md §1: finance alone keeps budget lines, actuals, FX rates and locks; the admin role
# manages users, roles and settings. So in the Django admin a finance model is written only with
# the action that governs it in the web UI and the API, or by nobody (None) when only the app
# writes it: the recompute, the importers, the export and overspend-alert tasks.
ADMIN_FINANCE_MODELS: dict[str, str | None] = {
    "budgets.budgetline": "budgets.manage",
    "budgets.expense": "expenses.manage",
    "budgets.fxrate": "fx.manage",
    "budgets.periodlock": "locks.manage",
    "budgets.importrun": None,
    "split.splitrow": None,
    "split.splitrun": None,
    "split.splithistory": None,
    "split.overspendalert": None,
    "reports.exportjob": None,
}
ADMIN_PERMISSIONS = ("view", "add", "change", "delete")


def can_in_admin(user, permission: str, model_label: str) -> bool:
    """May `user` view, add, change or delete (`permission`) records of the finance model `model_label`
    (`budgets.expense`) in the Django admin? Unknown permissions and models raise: a new finance model
    needs its row in ADMIN_FINANCE_MODELS."""
    if permission not in ADMIN_PERMISSIONS:
        raise KeyError(f"unknown admin permission {permission!r}")
    if model_label not in ADMIN_FINANCE_MODELS:
        raise KeyError(f"{model_label} has no row in ADMIN_FINANCE_MODELS")
    if permission == "view":
        return can(user, "admin.view_finance_records")
    write_action = ADMIN_FINANCE_MODELS[model_label]
    return write_action is not None and can(user, write_action)
