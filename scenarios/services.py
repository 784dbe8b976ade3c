"""Creating, changing and proposing what-if scenarios (PRODUCT.md §3a).

Every service is keyword-only and atomic; a refusal by the policy is `PermissionDenied`, a refused
value `ValidationError({field: message})` (the field named as in the forms and the API).

Rules (decided here, documented in ARCHITECTURE's scenarios section):
- `from_month` must be the first day of a month: any other day is refused (not silently moved), and it
  must lie between the initiative's start month and its end month.
- Shares are 0–100 with two places (`initiatives.filing.clean_share`, the filing form's rule); a plan
  scale is ≥ 0 with two places.
- A lane change follows the rule of `change_proposal_create`: an initiative that builds on platforms
  cannot move to the core stack, a platform cannot move to the fast lane (`lane_error`).
- `scenario_propose` is all or nothing over the initiatives that can take a proposal: if any of them
  refuses (author may not propose there, a change already waiting, a locked month), nothing is proposed
  and the error names the initiative's code. Initiatives that are not approved or in progress are not
  proposed: `unproposable` reports them with the reason, and the API and the page show it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from initiatives import services as initiative_services
from initiatives.choices import Lane, ProposalStatus, Status
from initiatives.filing import clean_share, lane_move_error
from initiatives.models import Initiative, InitiativeChangeProposal
from initiatives.workflow import PROPOSE_CHANGE
from portfolio import policy
from portfolio.fiscal import month_label, month_start

from .choices import ChangeKind
from .models import Scenario, ScenarioChange

PROPOSABLE_STATES = (Status.APPROVED, Status.IN_PROGRESS)
PROPOSED_KINDS = (ChangeKind.SHARE, ChangeKind.LANE)
NAME_MAX = Scenario._meta.get_field("name").max_length


def _require(by: AbstractBaseUser, action: str, obj=None, message: str = "") -> None:
    if not policy.can(by, action, obj) if obj is not None else not policy.can(by, action):
        raise PermissionDenied(message or "The permission policy does not allow this.")


def _require_author(scenario: Scenario, by: AbstractBaseUser) -> Scenario:
    _require(by, "scenario.change", scenario, "Only the scenario's author can change it.")
    return Scenario.objects.select_for_update().get(pk=scenario.pk)


def _clean_name(name: object, *, author: AbstractBaseUser, exclude_pk: int | None = None) -> str:
    name = f"{name or ''}".strip()
    if not name:
        raise ValidationError({"name": "Give the scenario a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"Use at most {NAME_MAX} characters."})
    others = Scenario.objects.filter(author=author, name__iexact=name)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise ValidationError({"name": "You already have a scenario with this name."})
    return name


@transaction.atomic
def scenario_create(*, by: AbstractBaseUser, name: str, description: str = "") -> Scenario:
    """A new scenario of `by`, starting from the live plan with no changes."""
    _require(by, "scenarios.create", message="Only executives and finance create scenarios.")
    scenario = Scenario(author=by, name=_clean_name(name, author=by), description=f"{description or ''}".strip())
    scenario.save()
    return scenario


@transaction.atomic
def scenario_update(
    *, scenario: Scenario, by: AbstractBaseUser, name: str | None = None, description: str | None = None
) -> Scenario:
    """Rename or re-describe a scenario (its author)."""
    locked = _require_author(scenario, by)
    if name is not None:
        locked.name = _clean_name(name, author=locked.author, exclude_pk=locked.pk)
    if description is not None:
        locked.description = f"{description}".strip()
    locked.save()
    return locked


@transaction.atomic
def scenario_delete(*, scenario: Scenario, by: AbstractBaseUser) -> None:
    """Delete a scenario and its changes (its author). Proposals made of it stay, unlinked."""
    _require_author(scenario, by).delete()


# --- changes -------------------------------------------------------------------------------------------


def _clean_month(initiative: Initiative, value: object) -> dt.date:
    if value in (None, ""):
        raise ValidationError({"from_month": "Choose the month the change applies from."})
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError({"from_month": "Enter a month as YYYY-MM-01."}) from None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise ValidationError({"from_month": "Enter a month as YYYY-MM-01."})
    if value.day != 1:
        raise ValidationError({"from_month": "A change applies from the first day of a month: choose the 1st."})
    start, end = month_start(initiative.start_date), month_start(initiative.end_date)
    if not start <= value <= end:
        raise ValidationError(
            {
                "from_month": f"{initiative.code} runs from {month_label(start)} to {month_label(end)}: "
                "choose a month in between."
            }
        )
    return value


def _clean_scale(value: object) -> Decimal:
    message = "Enter the plan's scale as a percentage of at least 0, for example 80 or 112.5."
    if value in (None, ""):
        raise ValidationError({"plan_scale_pct": message})
    try:
        scale = value if isinstance(value, Decimal) else Decimal(f"{value}".strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"plan_scale_pct": message}) from None
    if not scale.is_finite() or scale < 0:
        raise ValidationError({"plan_scale_pct": message})
    if scale != scale.quantize(Decimal("0.01")):
        raise ValidationError({"plan_scale_pct": "Use at most two decimal places, for example 112.55."})
    if scale >= Decimal("100000"):
        raise ValidationError({"plan_scale_pct": "A plan can be scaled to at most 99999.99 %."})
    return scale.quantize(Decimal("0.01"))


def lane_error(initiative: Initiative, lane: str) -> str:
    """Why `initiative` cannot move to `lane` ('' when it can): the rule change proposals follow."""
    if lane not in Lane.values:
        return "Choose the fast lane or the core stack."
    return lane_move_error(initiative, lane)


def _change_values(
    initiative: Initiative, kind: str, from_month, marketing_share_pct, lane, plan_scale_pct
) -> dict[str, object]:
    if kind not in ChangeKind.values:
        raise ValidationError({"kind": "Choose a share, lane, exclusion or plan scale change."})
    values: dict[str, object] = {"from_month": None, "marketing_share_pct": None, "lane": "", "plan_scale_pct": None}
    if kind == ChangeKind.LANE:
        if error := lane_error(initiative, lane or ""):
            raise ValidationError({"lane": error})
        values["lane"] = lane
        return values
    values["from_month"] = _clean_month(initiative, from_month)
    if kind == ChangeKind.SHARE:
        errors: dict[str, str] = {}
        if marketing_share_pct in (None, ""):
            errors["marketing_share_pct"] = "Enter marketing's share as a number between 0 and 100."
        else:
            values["marketing_share_pct"] = clean_share(marketing_share_pct, errors)
        if errors:
            raise ValidationError(errors)
    elif kind == ChangeKind.SCALE:
        values["plan_scale_pct"] = _clean_scale(plan_scale_pct)
    return values


def _naming(initiative: Initiative, message: str) -> str:
    return message if message.startswith(initiative.code) else f"{initiative.code}: {message}"


def _put_change(scenario: Scenario, initiative: Initiative, kind: str, values: dict[str, object]) -> ScenarioChange:
    change, _ = ScenarioChange.objects.update_or_create(
        scenario=scenario, initiative=initiative, kind=kind, defaults={**values, "proposal": None}
    )
    return change


def _touch(scenario: Scenario) -> None:
    scenario.save(update_fields=["updated_at"])


@transaction.atomic
def scenario_change_set(
    *,
    scenario: Scenario,
    by: AbstractBaseUser,
    initiative: Initiative,
    kind: str,
    from_month: dt.date | None = None,
    marketing_share_pct: object = None,
    lane: str = "",
    plan_scale_pct: object = None,
) -> ScenarioChange:
    """Add the change of `kind` to `initiative`, or replace the one the scenario has (its link to a proposal
    goes: the new values have not been proposed)."""
    locked = _require_author(scenario, by)
    values = _change_values(initiative, kind, from_month, marketing_share_pct, lane, plan_scale_pct)
    change = _put_change(locked, initiative, kind, values)
    _touch(locked)
    return change


@transaction.atomic
def scenario_changes_add_many(
    *,
    scenario: Scenario,
    by: AbstractBaseUser,
    initiatives: Iterable[Initiative],
    kind: str,
    from_month: dt.date | None = None,
    marketing_share_pct: object = None,
    lane: str = "",
    plan_scale_pct: object = None,
) -> list[ScenarioChange]:
    """The same change to several initiatives, all or nothing: an error names the initiative's code."""
    locked = _require_author(scenario, by)
    initiatives = list(initiatives)
    if not initiatives:
        raise ValidationError({"initiatives": "Select at least one initiative."})
    checked = []
    for initiative in initiatives:
        try:
            checked.append(
                (initiative, _change_values(initiative, kind, from_month, marketing_share_pct, lane, plan_scale_pct))
            )
        except ValidationError as error:
            raise ValidationError(
                {field: _naming(initiative, " ".join(messages)) for field, messages in error.message_dict.items()}
            ) from None
    changes = [_put_change(locked, initiative, kind, values) for initiative, values in checked]
    _touch(locked)
    return changes


@transaction.atomic
def scenario_change_remove(*, change: ScenarioChange, by: AbstractBaseUser) -> None:
    """Take a change out of its scenario (its author). A proposal made of it stays."""
    locked = _require_author(change.scenario, by)
    ScenarioChange.objects.filter(pk=change.pk, scenario=locked).delete()
    _touch(locked)


# --- propose -------------------------------------------------------------------------------------------


def _still_proposed(change: ScenarioChange) -> bool:
    """Proposed already, and that proposal is waiting or approved (a rejected or withdrawn one may be re-proposed)."""
    proposal = change.proposal
    return proposal is not None and proposal.status in (ProposalStatus.PENDING, ProposalStatus.APPLIED)


def _to_propose(scenario: Scenario) -> dict[int, list[ScenarioChange]]:
    changes = (
        ScenarioChange.objects.filter(scenario=scenario, kind__in=PROPOSED_KINDS)
        .select_related("initiative", "proposal")
        .order_by("initiative__code", "kind")
    )
    grouped: dict[int, list[ScenarioChange]] = {}
    for change in changes:
        if not _still_proposed(change):
            grouped.setdefault(change.initiative_id, []).append(change)
    return grouped


def unproposable(scenario: Scenario) -> list[tuple[Initiative, str]]:
    """The initiatives whose share or lane changes cannot be proposed, and why (their status)."""
    return [
        (
            group[0].initiative,
            f"{group[0].initiative.get_status_display()}: only approved or in-progress "
            "initiatives take change proposals.",
        )
        for group in _to_propose(scenario).values()
        if group[0].initiative.status not in PROPOSABLE_STATES
    ]


@transaction.atomic
def scenario_propose(*, scenario: Scenario, by: AbstractBaseUser, reason: str) -> list[InitiativeChangeProposal]:
    """One ordinary change proposal per initiative with share and/or lane changes (dual sign-off, §2), the
    share's month carried as its effective month, each change linked to its proposal.

    All or nothing over the approved and in-progress initiatives; the others are left (see `unproposable`).
    """
    _require(by, "scenario.propose", scenario, "Only the scenario's author can propose it.")
    locked = Scenario.objects.select_for_update().get(pk=scenario.pk)
    if not policy.is_executive(by):
        raise PermissionDenied(
            "Only an initiative's owner or sponsors propose changes to it (§2): finance cannot. "
            "Ask the sponsors' executive to copy this scenario and propose it."
        )
    if not f"{reason or ''}".strip():
        raise ValidationError({"reason": PROPOSE_CHANGE.reason.missing})
    proposals = []
    for group in _to_propose(locked).values():
        initiative = group[0].initiative
        if initiative.status not in PROPOSABLE_STATES:
            continue
        share = next((c for c in group if c.kind == ChangeKind.SHARE), None)
        lane = next((c for c in group if c.kind == ChangeKind.LANE), None)
        if not policy.can(by, PROPOSE_CHANGE.action, initiative):
            raise ValidationError(
                {"__all__": f"{initiative.code}: only its owner or sponsors can propose a change to it."}
            )
        try:
            proposal = initiative_services.change_proposal_create(
                initiative=initiative,
                by=by,
                reason=reason,
                marketing_share_pct=share.marketing_share_pct if share else None,
                lane=lane.lane if lane else "",
                effective_from=share.from_month if share else None,
            )
        except ValidationError as error:
            raise ValidationError(
                {"__all__": [f"{initiative.code}: {m}" for messages in error.message_dict.values() for m in messages]}
            ) from None
        ScenarioChange.objects.filter(pk__in=[c.pk for c in group]).update(proposal=proposal)
        proposals.append(proposal)
    if not proposals:
        raise ValidationError(
            {"__all__": "Nothing to propose: no share or lane change of an approved or in-progress initiative waits."}
        )
    return proposals
