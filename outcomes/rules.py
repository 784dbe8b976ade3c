"""Who may do what with outcome KPIs (PRODUCT.md §3b), registered with `portfolio.policy` when the app is ready.

Whoever sees an initiative sees its KPIs and their measurements (`initiative.view`). Its owner (the PM)
defines them while the initiative is a draft (or sent back: rejected, which its owner edits and submits
again) and while it is in progress (issue 20) — not while the sponsors decide on it, nor between their
approval and its start (the KPIs they approved stand), nor once it is done or cancelled — and records
measurements from its approval on, after it is done too (benefits come later). Finance and executives read them all and
the outcomes report (`outcomes.report`).
"""

from __future__ import annotations

from initiatives.choices import Status
from initiatives.rules import is_owner
from portfolio import policy
from portfolio.policy import is_pm

KPI_EDITABLE = frozenset({Status.DRAFT, Status.REJECTED, Status.IN_PROGRESS})
MEASURABLE = frozenset({Status.APPROVED, Status.IN_PROGRESS, Status.DONE})


def _owner(user, initiative) -> bool:
    return is_pm(user) and is_owner(user, initiative)


OUTCOME_RULES = {
    "outcome.edit": lambda user, initiative: initiative.status in KPI_EDITABLE and _owner(user, initiative),
    "outcome.measure": lambda user, initiative: initiative.status in MEASURABLE and _owner(user, initiative),
}
GLOBAL_OUTCOME_RULES = {
    "outcomes.report": lambda user: policy.is_finance(user) or policy.is_executive(user),
}


def register() -> None:
    policy.register(OUTCOME_RULES, applies_to="initiative")
    policy.register(GLOBAL_OUTCOME_RULES)
