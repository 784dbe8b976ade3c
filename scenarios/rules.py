"""Who may do what with a scenario (PRODUCT.md §3a), registered with `portfolio.policy` when the app is ready.

Executives and finance read every scenario and create their own (`scenarios.view`, `scenarios.create`
in `portfolio.policy`); a scenario is changed, deleted and proposed by its author alone.
"""

from __future__ import annotations

from portfolio import policy


def _author(user, scenario) -> bool:
    return bool(user.is_authenticated and scenario.author_id == user.pk and policy.can(user, "scenarios.create"))


SCENARIO_RULES = {
    "scenario.view": lambda user, scenario: policy.can(user, "scenarios.view"),
    "scenario.change": _author,
    "scenario.propose": _author,
}


def register() -> None:
    policy.register(SCENARIO_RULES, applies_to="scenario")
