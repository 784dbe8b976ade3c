"""Reading scenarios (PRODUCT.md §3a): who sees which, and what became of their proposals."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from initiatives.choices import ProposalStatus
from portfolio import policy

from .models import Scenario, ScenarioChange

PENDING, APPROVED, REJECTED, WITHDRAWN, NOT_PROPOSED = "pending", "approved", "rejected", "withdrawn", "not_proposed"


def visible_scenarios(user) -> QuerySet[Scenario]:
    """Every scenario for executives and finance (with their author and number of changes); none for others."""
    if not policy.can(user, "scenarios.view"):
        return Scenario.objects.none()
    return Scenario.objects.select_related("author").annotate(change_count=Count("changes"))


@dataclass(frozen=True)
class ChangeProposalState:
    change: ScenarioChange
    state: str  # pending | approved | rejected | withdrawn | not_proposed

    @property
    def proposal(self):
        return self.change.proposal


_STATES = {
    ProposalStatus.PENDING: PENDING,
    ProposalStatus.APPLIED: APPROVED,
    ProposalStatus.REJECTED: REJECTED,
}


def scenario_proposals(scenario: Scenario) -> list[ChangeProposalState]:
    """Each change of the scenario with the state of the proposal made of it (`not_proposed` without one)."""
    changes = (
        ScenarioChange.objects.filter(scenario=scenario)
        .select_related("initiative", "proposal")
        .order_by("initiative__code", "kind")
    )
    return [
        ChangeProposalState(
            change=change,
            state=NOT_PROPOSED if change.proposal is None else _STATES.get(change.proposal.status, WITHDRAWN),
        )
        for change in changes
    ]


def proposal_state(change: ScenarioChange) -> str:
    """The state of the proposal made of `change`: not_proposed, pending, approved, rejected or withdrawn."""
    if change.proposal is None:
        return NOT_PROPOSED
    return _STATES.get(change.proposal.status, WITHDRAWN)
