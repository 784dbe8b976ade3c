"""The workflow table (initiatives/workflow.py) drives the policy, the services, the web pages and the API.

Every test walks the table itself, so a new row is covered (or makes `_ready_for` fail loudly
until it says how to reach it).
"""

from __future__ import annotations

from collections import deque

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from initiatives import services, workflow
from initiatives.choices import Status
from initiatives.models import Initiative, InitiativeChangeProposal
from initiatives.rules import WHO
from initiatives.workflow import Step
from portfolio import policy
from tests.api.conftest import NO_LIMITS, rest_framework_with, token_client

pytestmark = pytest.mark.django_db

EVERY_STEP = (*workflow.INITIATIVE_STEPS, *workflow.PROPOSAL_STEPS)
REASON_REQUIRED = [step for step in EVERY_STEP if step.reason.required]
NEW_SHARE = "70"  # what the change proposals of these tests propose
NEW_HEALTH = "amber"  # what the health updates of these tests report (a reason is required for it)


@pytest.fixture
def people(pm, executive_marketing, executive_it):
    """The owner and both sponsors: whoever the table lets take a step is among them."""
    return [pm, executive_marketing, executive_it]


def _path_to(status: str) -> list[Step]:
    """The status steps that lead from a draft to `status`, found in the table (breadth first)."""
    paths: dict[str, list[Step]] = {Status.DRAFT: []}
    queue = deque([Status.DRAFT])
    while queue:
        current = queue.popleft()
        for step in workflow.STATUS_STEPS:
            if current in step.from_states and step.to_state not in paths:
                paths[step.to_state] = [*paths[current], step]
                queue.append(step.to_state)
    return paths[status]


def _takers(step: Step, obj, people) -> list:
    return [person for person in people if policy.can(person, step.action, obj)]


def _reason_for(step: Step) -> str:
    return "Because the table says so" if workflow.reason_required(step, choice=NEW_HEALTH) else ""


def _take(step: Step, obj, by, reason: str):
    """Take `step` through its service (the one the web views and the API call)."""
    if step in workflow.STATUS_STEPS:
        return services.initiative_transition(initiative=obj, by=by, verb=step.verb, reason=reason)
    if step is workflow.PROPOSE_CHANGE:
        return services.change_proposal_create(initiative=obj, by=by, reason=reason, marketing_share_pct=NEW_SHARE)
    if step is workflow.UPDATE_HEALTH:
        return services.initiative_update_health(initiative=obj, by=by, health=NEW_HEALTH, reason=reason)
    return services.change_proposal_decide(proposal=obj, by=by, verb=step.verb, reason=reason)


def _take_fully(step: Step, obj, people):
    """Take `step` as the table allows: a dual sign-off step by each sponsor in turn until it reaches its state."""
    takers = _takers(step, obj, people)
    assert takers, f"nobody may {step.verb} from {obj.status}"
    for person in takers if step.dual_sign_off else takers[:1]:
        obj = _take(step, obj, person, _reason_for(step))
        if obj.status == step.to_state:
            break
    return obj


def _initiative_in(status: str, draft, people) -> Initiative:
    initiative = draft
    for step in _path_to(status):
        initiative = _take_fully(step, initiative, people)
    assert initiative.status == status
    return initiative


def _ready_for(step: Step, draft, people):
    """An object `step` can be taken on: an initiative in one of its from-states, or a pending proposal."""
    if step in workflow.INITIATIVE_STEPS:
        reachable = [status for status in Status.values if status in step.from_states]
        return _initiative_in(reachable[0], draft, people)
    if step in workflow.PROPOSAL_STEPS:
        running = _ready_for(workflow.PROPOSE_CHANGE, draft, people)  # proposals are made while it runs
        return services.change_proposal_create(
            initiative=running, by=people[0], reason="Marketing runs it now", marketing_share_pct=NEW_SHARE
        )
    raise AssertionError(f"tests/initiatives/test_workflow.py does not know how to reach {step}")


# --- the table ---------------------------------------------------------------------------------------


def test_every_status_is_reached_by_a_step_of_the_table():
    assert {step.to_state for step in workflow.STATUS_STEPS} | {Status.DRAFT} == set(Status.values)
    assert set(Status.values) == workflow.OPEN | workflow.CLOSED
    assert set(WHO) == set(workflow.Who), "every Who of the table needs its test in initiatives/rules.py"


@pytest.mark.parametrize("step", workflow.STATUS_STEPS, ids=lambda step: step.record)
def test_every_status_step_is_reachable_and_does_what_its_row_says(step, draft, people):
    initiative = _ready_for(step, draft, people)
    before = initiative.status
    takers = _takers(step, initiative, people)

    initiative = _take_fully(step, initiative, people)

    assert initiative.status == step.to_state
    entries = list(initiative.transitions.order_by("-at", "-id")[: 2 if step.dual_sign_off else 1])
    assert {entry.action for entry in entries} == {step.record}
    assert {entry.from_status for entry in entries} == {before}
    if step.dual_sign_off:
        assert len(takers) == 2, "a dual sign-off step is for both sponsors, each once"


@pytest.mark.parametrize("step", workflow.PROPOSAL_STEPS, ids=lambda step: step.record)
def test_every_change_proposal_step_is_reachable_and_does_what_its_row_says(step, draft, people):
    proposal = _ready_for(step, draft, people)
    assert proposal.status in step.from_states
    assert not step.initiative_states or proposal.initiative.status in step.initiative_states

    proposal = _take_fully(step, proposal, people)

    assert proposal.status == step.to_state
    last = proposal.initiative.transitions.order_by("-at", "-id").first()
    assert last.action == (step.record_when_reached or step.record)


@pytest.mark.parametrize("step", [workflow.PROPOSE_CHANGE, workflow.UPDATE_HEALTH], ids=lambda step: step.verb)
def test_the_steps_that_keep_the_status_are_reachable_too(step, draft, people):
    initiative = _ready_for(step, draft, people)
    _take_fully(step, initiative, people)
    initiative.refresh_from_db()
    assert initiative.transitions.order_by("-at", "-id").first().action == step.record
    assert initiative.status in step.from_states


@pytest.mark.parametrize("action", sorted({step.action for step in workflow.INITIATIVE_STEPS}))
def test_the_policy_allows_each_action_exactly_in_the_states_the_table_gives(action, draft, people):
    """For the owner and both sponsors, `policy.can` says yes in the rows' from-states and no elsewhere."""
    from_states = set().union(*(s.from_states for s in workflow.INITIATIVE_STEPS if s.action == action))
    allowed_in = set()
    for status in Status.values:
        draft.status = status
        if _takers(next(s for s in workflow.INITIATIVE_STEPS if s.action == action), draft, people):
            allowed_in.add(status)
    assert allowed_in == from_states


# --- one reason rule, one message: service, web form and API ------------------------------------------


@pytest.mark.parametrize("step", REASON_REQUIRED, ids=lambda step: step.record)
def test_a_step_that_needs_a_reason_refuses_an_empty_one_alike_in_the_service_the_form_and_the_api(
    step, draft, people, client, settings
):
    obj = _ready_for(step, draft, people)
    actor = _takers(step, obj, people)[0]
    expected = step.reason.missing
    assert expected

    with pytest.raises(ValidationError) as refused:
        _take(step, obj, actor, "   ")
    assert refused.value.message_dict == {"reason": [expected]}

    client.force_login(actor)
    if step in workflow.STATUS_STEPS:
        response = client.post(reverse("initiatives:transition", args=[obj.code, step.verb]), {"reason": ""})
    elif step is workflow.PROPOSE_CHANGE:
        response = client.post(reverse("initiatives:propose", args=[obj.code]), {"marketing_share_pct": NEW_SHARE})
    elif step is workflow.UPDATE_HEALTH:
        response = client.post(reverse("initiatives:health", args=[obj.code]), {"health": NEW_HEALTH}, follow=True)
    else:
        url = reverse("initiatives:change_decide", args=[obj.initiative.code, obj.pk, step.verb])
        response = client.post(url, {"reason": ""})
    assert response.status_code == (200 if step is workflow.UPDATE_HEALTH else 400)
    assert escape(expected) in response.content.decode()

    if step in workflow.STATUS_STEPS:
        rest_framework_with(settings, DEFAULT_THROTTLE_RATES=NO_LIMITS)
        api = token_client(actor).post(f"/api/initiatives/{obj.code}/{step.verb}/", {"reason": ""}, format="json")
        assert (api.status_code, api.json()) == (400, {"reason": [expected]})

    model = Initiative if step in workflow.INITIATIVE_STEPS else InitiativeChangeProposal
    assert model.objects.get(pk=obj.pk).status == obj.status  # nothing happened


def test_the_reason_rule_is_the_tables(draft, people):
    """Health needs a reason except for green (the row's `optional_for`); optional steps take none."""
    assert not workflow.reason_required(workflow.UPDATE_HEALTH, choice="green")
    assert workflow.reason_required(workflow.UPDATE_HEALTH, choice="red")
    assert workflow.reason_error(workflow.START, "") == ""
    assert workflow.reason_error(workflow.REJECT, "x" * (workflow.REASON_MAX + 1)).startswith("Keep the reason under")
