"""The one permission policy (PRODUCT.md §1).

Every view, API endpoint, importer, admin action and task asks this module what
a user may do; none decides on its own. `can(user, action, obj)` answers one
question.

The policy knows people (their roles and side) and keeps the registry of rules; it
imports no app. Rules that need only a role are declared here (GLOBAL_RULES). Rules
about an app's objects are declared by that app and registered when it is ready: the
initiative and change proposal rules come from `initiatives.rules`, built from the
workflow table (`initiatives.workflow`), which also holds the queryset forms of the
visibility rules (`visible_initiatives`, `visible_finances`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from .roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


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


# --- the registry of rules --------------------------------------------------

Rule = Callable[..., Any]


@dataclass(frozen=True)
class _Registered:
    rule: Rule  # rule(user) for a global action, rule(user, obj) for one that applies to an object
    applies_to: str | None  # what `obj` is ("initiative", "change proposal"); None: a global action


_RULES: dict[str, _Registered] = {}


def register(rules: Mapping[str, Rule], *, applies_to: str | None = None) -> None:
    """Add rules {action: rule}; an app calls it from its AppConfig.ready().

    With `applies_to` (what the object is, e.g. "initiative") each rule is asked
    `rule(user, obj)` and `can` demands the object; without, `rule(user)`. An action
    is registered once: a second, different rule for it is a configuration error.
    """
    for action, rule in rules.items():
        entry = _Registered(rule, applies_to)
        if _RULES.setdefault(action, entry) != entry:
            raise ImproperlyConfigured(f"the policy action {action!r} is already registered")


def actions() -> tuple[str, ...]:
    """Every action the policy knows, once the apps are ready."""
    return tuple(_RULES)


def applies_to(action: str) -> str | None:
    """What object `action` is asked about ("initiative"…), or None for a global action. Unknown actions raise."""
    if action not in _RULES:
        raise KeyError(f"unknown action {action!r}")
    return _RULES[action].applies_to


def can(user, action: str, obj: Any = None) -> bool:
    """May `user` perform `action` (on `obj`: an initiative or a change proposal)? Unknown actions raise."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    entry = _RULES.get(action)
    if entry is None:
        raise KeyError(f"unknown action {action!r} (is the app that declares it installed and ready?)")
    if entry.applies_to is None:
        return bool(entry.rule(user))
    if obj is None:
        raise ValueError(f"{action} needs the {entry.applies_to} it applies to")
    return bool(entry.rule(user, obj))


# Actions on no particular object that need nothing but a role (the apps' own rules are registered by them).
GLOBAL_RULES: dict[str, Callable[[Any], bool]] = {
    # The joint dashboard is for those who see the whole portfolio (PRODUCT.md §1); PMs get 403.
    "dashboard.view": sees_everything,
    "budgets.manage": is_finance,
    "expenses.manage": is_finance,
    "fx.manage": is_finance,
    # FX rates and locks are read by all who see the whole portfolio (§1); finance alone writes them.
    "fx.view": sees_everything,
    "locks.manage": is_finance,
    "locks.view": sees_everything,
    "imports.run": is_finance,
    # Every report (split, forecast, journal) is downloaded by finance and executives (§4); it changes nothing.
    "reports.export": lambda u: is_finance(u) or is_executive(u),
    "split.view": sees_everything,
    "split.recompute": is_finance,
    "audit.view": lambda u: is_finance(u) or is_admin(u),
    # What-if scenarios (§3a): executives and finance read them all and create their own; changing one
    # is its author's alone (`scenarios.rules`: "scenario.change", on the scenario).
    "scenarios.view": lambda u: is_finance(u) or is_executive(u),
    "scenarios.create": lambda u: is_finance(u) or is_executive(u),
    # Finance's records in the Django admin: finance, and the admin role, which reads them there
    # (as it reads their history in the audit log) but writes none of them (see can_in_admin).
    "admin.view_finance_records": lambda u: is_finance(u) or is_admin(u),
}
register(GLOBAL_RULES)


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
