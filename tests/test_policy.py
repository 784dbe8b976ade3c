"""The one permission policy, as tables: every role × every action × own or someone else's.

A new action registered with portfolio/policy.py (by the policy itself or by an app,
e.g. initiatives/rules.py from the workflow table) fails `test_every_action_is_in_a_table`
until a row says who may do it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from initiatives.choices import ProposalStatus, Status
from initiatives.models import Initiative, InitiativeChangeProposal
from initiatives.rules import visible_initiatives
from portfolio import policy
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db

ALL = frozenset(Status.values)
NONE: frozenset[str] = frozenset()
EDITABLE = frozenset({Status.DRAFT, Status.REJECTED})
RUNNING = frozenset({Status.APPROVED, Status.IN_PROGRESS})
OPEN = frozenset({Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.IN_PROGRESS, Status.REJECTED})
NOT_DRAFT = ALL - {Status.DRAFT}

# Who the user is, relative to the initiative under test.
ACTORS = (
    "pm_owner",  # the PM who owns it
    "pm_other",  # another PM
    "exec_marketing_sponsor",  # its marketing sponsor
    "exec_it_sponsor",  # its IT sponsor
    "exec_other",  # an executive who does not sponsor it
    "finance",
    "admin",
    "anonymous",
)

# action → {actor: statuses in which the actor may do it}; actors left out may never do it.
INITIATIVE_TABLE: dict[str, dict[str, frozenset[str]]] = {
    "initiative.view": {
        "pm_owner": ALL,
        "pm_other": NOT_DRAFT,
        "exec_marketing_sponsor": ALL,
        "exec_it_sponsor": ALL,
        "exec_other": ALL,
        "finance": ALL,
        "admin": ALL,
    },
    "initiative.edit": {"pm_owner": EDITABLE},
    # Outcome KPIs (§3b, outcomes/rules.py): defined by the owner while not before the sponsors or closed,
    # measured from approval on, after delivery too.
    "outcome.edit": {"pm_owner": EDITABLE | RUNNING},
    "outcome.measure": {"pm_owner": RUNNING | {Status.DONE}},
    "initiative.submit": {"pm_owner": EDITABLE},
    "initiative.approve": {"exec_marketing_sponsor": {Status.SUBMITTED}, "exec_it_sponsor": {Status.SUBMITTED}},
    "initiative.reject": {"exec_marketing_sponsor": {Status.SUBMITTED}, "exec_it_sponsor": {Status.SUBMITTED}},
    "initiative.start": {
        "pm_owner": {Status.APPROVED},
        "exec_marketing_sponsor": {Status.APPROVED},
        "exec_it_sponsor": {Status.APPROVED},
    },
    "initiative.complete": {
        "pm_owner": {Status.IN_PROGRESS},
        "exec_marketing_sponsor": {Status.IN_PROGRESS},
        "exec_it_sponsor": {Status.IN_PROGRESS},
    },
    "initiative.cancel": {"exec_marketing_sponsor": OPEN, "exec_it_sponsor": OPEN},
    "initiative.propose_change": {"pm_owner": RUNNING, "exec_marketing_sponsor": RUNNING, "exec_it_sponsor": RUNNING},
    "initiative.decide_change": {"exec_marketing_sponsor": RUNNING, "exec_it_sponsor": RUNNING},
    "initiative.update_health": {"pm_owner": RUNNING, "exec_marketing_sponsor": RUNNING, "exec_it_sponsor": RUNNING},
    "initiative.view_finances": {
        "pm_owner": ALL,
        "exec_marketing_sponsor": ALL,
        "exec_it_sponsor": ALL,
        "exec_other": ALL,
        "finance": ALL,
        "admin": ALL,
    },
}

# Change proposals of an approved initiative: action → {actor: may do it while the proposal is pending}.
# (Decided proposals allow nothing; see test_decided_proposals_allow_nothing.)
PROPOSAL_TABLE: dict[str, set[str]] = {
    "change_proposal.approve": {"exec_marketing_sponsor", "exec_it_sponsor"},
    "change_proposal.reject": {"exec_marketing_sponsor", "exec_it_sponsor"},
    "change_proposal.withdraw": {"pm_owner"},  # the proposer: the owner in these tests
}

# Actions on no particular initiative: action → roles that may do it.
GLOBAL_TABLE: dict[str, set[str]] = {
    "initiative.create": {"pm"},
    "dashboard.view": {"executive", "finance", "admin"},
    "budgets.manage": {"finance"},
    "expenses.manage": {"finance"},
    "fx.manage": {"finance"},
    "fx.view": {"executive", "finance", "admin"},
    "locks.manage": {"finance"},
    "locks.view": {"executive", "finance", "admin"},
    "imports.run": {"finance"},
    "reports.export": {"executive", "finance"},  # every report, downloaded (§4); writing stays finance's
    "split.view": {"executive", "finance", "admin"},
    "split.recompute": {"finance"},
    "settlements.view": {"executive", "finance", "admin"},
    "settlements.manage": {"finance"},
    "audit.view": {"finance", "admin"},
    "admin.view_finance_records": {"finance", "admin"},
    "scenarios.view": {"executive", "finance"},  # what-if scenarios (§3a)
    "scenarios.create": {"executive", "finance"},
    "outcomes.report": {"executive", "finance"},  # the outcomes report (§3b)
}

# Actions on a scenario (scenarios/rules.py): action → who, relative to a scenario the executive
# "author" wrote (finance's own scenario: tests/scenarios).
SCENARIO_TABLE: dict[str, set[str]] = {
    "scenario.view": {"author", "exec_other", "finance"},
    "scenario.change": {"author"},
    "scenario.propose": {"author"},
}


@pytest.fixture
def people(db):
    """One user per actor, and an initiative they relate to as the actor names say."""
    users = {
        "pm_owner": UserFactory(username="owner", role="pm", side="marketing"),
        "pm_other": UserFactory(username="another.pm", role="pm", side="it"),
        "exec_marketing_sponsor": UserFactory(username="cmo", role="executive", side="marketing"),
        "exec_it_sponsor": UserFactory(username="cio", role="executive", side="it"),
        "exec_other": UserFactory(username="cto", role="executive", side="it"),
        "finance": UserFactory(username="finance", role="finance", side=""),
        "admin": UserFactory(username="admin", role="admin", side=""),
        "anonymous": AnonymousUser(),
    }
    initiative = InitiativeFactory(
        owner=users["pm_owner"],
        marketing_sponsor=users["exec_marketing_sponsor"],
        it_sponsor=users["exec_it_sponsor"],
    )
    return users, initiative


def _fresh(user):
    """Role caches live on the user object: hand the policy a fresh one."""
    if isinstance(user, AnonymousUser):
        return user
    return type(user).objects.get(pk=user.pk)


def test_every_action_is_in_a_table():
    tabled = set(INITIATIVE_TABLE) | set(PROPOSAL_TABLE) | set(GLOBAL_TABLE) | set(SCENARIO_TABLE)
    missing = set(policy.actions()) - tabled
    assert not missing, f"add rows for {sorted(missing)} to tests/test_policy.py"
    assert tabled - set(policy.actions()) == set(), "the tables name actions the policy does not know"


@pytest.mark.parametrize("action", sorted(INITIATIVE_TABLE))
@pytest.mark.parametrize("actor", ACTORS)
def test_initiative_actions_by_role_relation_and_status(people, action, actor):
    users, initiative = people
    user = _fresh(users[actor])
    allowed_in = INITIATIVE_TABLE[action].get(actor, NONE)
    for status in Status.values:
        initiative.status = status
        assert policy.can(user, action, initiative) is (status in allowed_in), (actor, action, status)


@pytest.mark.parametrize("action", sorted(PROPOSAL_TABLE))
@pytest.mark.parametrize("actor", ACTORS)
def test_change_proposal_actions_by_role(people, action, actor):
    users, initiative = people
    Initiative.objects.filter(pk=initiative.pk).update(status=Status.APPROVED)
    initiative.refresh_from_db()
    proposal = InitiativeChangeProposal.objects.create(
        initiative=initiative, proposed_by=users["pm_owner"], reason="Budget shifted", lane="core_stack"
    )
    user = _fresh(users[actor])
    assert policy.can(user, action, proposal) is (actor in PROPOSAL_TABLE[action])


@pytest.mark.parametrize("status", [ProposalStatus.APPLIED, ProposalStatus.REJECTED, ProposalStatus.WITHDRAWN])
def test_decided_proposals_allow_nothing(people, status):
    users, initiative = people
    initiative.status = Status.APPROVED
    proposal = InitiativeChangeProposal(
        initiative=initiative, proposed_by=users["pm_owner"], reason="x", lane="core_stack", status=status
    )
    for action in PROPOSAL_TABLE:
        for actor in ACTORS:
            assert policy.can(_fresh(users[actor]), action, proposal) is False, (action, actor)


def test_a_sponsor_who_approved_a_change_cannot_approve_or_reject_it_again(people):
    users, initiative = people
    initiative.status = Status.IN_PROGRESS
    proposal = InitiativeChangeProposal(
        initiative=initiative,
        proposed_by=users["exec_marketing_sponsor"],
        reason="x",
        marketing_share_pct=40,
        marketing_approved_by=users["exec_marketing_sponsor"],
        marketing_approved_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    cmo, cio = _fresh(users["exec_marketing_sponsor"]), _fresh(users["exec_it_sponsor"])
    assert not policy.can(cmo, "change_proposal.approve", proposal)
    assert not policy.can(cmo, "change_proposal.reject", proposal)
    assert policy.can(cio, "change_proposal.approve", proposal)
    assert policy.can(cmo, "change_proposal.withdraw", proposal)  # the proposer may still take it back


def test_each_sponsor_signs_off_once(people):
    users, initiative = people
    initiative.status = Status.SUBMITTED
    initiative.marketing_approved_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cmo, cio = _fresh(users["exec_marketing_sponsor"]), _fresh(users["exec_it_sponsor"])
    assert not policy.can(cmo, "initiative.approve", initiative)
    assert not policy.can(cmo, "initiative.reject", initiative)
    assert policy.can(cio, "initiative.approve", initiative)
    assert policy.can(cio, "initiative.reject", initiative)


ROLE_USERS = {
    "pm": {"role": "pm", "side": "marketing"},
    "executive": {"role": "executive", "side": "it"},
    "finance": {"role": "finance", "side": ""},
    "admin": {"role": "admin", "side": ""},
}


@pytest.mark.parametrize("action", sorted(GLOBAL_TABLE))
@pytest.mark.parametrize("role", [*ROLE_USERS, "anonymous", "no_role"])
def test_global_actions_by_role(action, role):
    if role == "anonymous":
        user = AnonymousUser()
    elif role == "no_role":
        user = UserFactory(username="nobody", role="pm", side="")
        user.groups.clear()
        user = _fresh(user)
    else:
        user = _fresh(UserFactory(username=f"user.{role}", **ROLE_USERS[role]))
    assert policy.can(user, action) is (role in GLOBAL_TABLE[action]), (role, action)


def test_a_superuser_counts_as_admin():
    user = UserFactory(username="root", role="admin", side="")
    user.groups.clear()
    user.is_superuser = True
    user.save()
    assert policy.is_admin(_fresh(user))
    assert policy.can(_fresh(user), "audit.view")


def test_inactive_users_may_do_nothing(people):
    users, initiative = people
    owner = _fresh(users["pm_owner"])
    owner.is_active = False
    assert not policy.can(owner, "initiative.view", initiative)
    assert not policy.can(owner, "initiative.create")


def test_unknown_actions_and_missing_objects_fail_loudly(people):
    users, _ = people
    owner = _fresh(users["pm_owner"])
    with pytest.raises(KeyError):
        policy.can(owner, "initiative.teleport")
    with pytest.raises(ValueError, match="needs the initiative"):
        policy.can(owner, "initiative.edit")
    with pytest.raises(ValueError, match="needs the change proposal"):
        policy.can(owner, "change_proposal.approve")


@pytest.mark.parametrize(
    "actor, expected",
    [
        ("pm_owner", {"mine-draft", "shared"}),
        ("pm_other", {"shared"}),
        ("exec_other", {"mine-draft", "shared"}),
        ("finance", {"mine-draft", "shared"}),
        ("admin", {"mine-draft", "shared"}),
        ("anonymous", set()),
    ],
)
def test_visible_initiatives_hides_other_peoples_drafts_from_pms(people, actor, expected):
    users, initiative = people
    Initiative.objects.filter(pk=initiative.pk).update(title="mine-draft")
    InitiativeFactory(title="shared", status=Status.SUBMITTED, owner=users["pm_owner"])
    visible = visible_initiatives(_fresh(users[actor]), Initiative.objects.all())
    assert set(visible.values_list("title", flat=True)) == expected


def test_role_groups_match_the_tables():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_USERS)


@pytest.mark.parametrize("action", sorted(SCENARIO_TABLE))
def test_scenario_actions_by_relation(action):
    from scenarios.models import Scenario

    author = UserFactory(username="scenario.author", role="executive", side="marketing")
    scenario = Scenario.objects.create(name="What if", author=author)
    users = {
        "author": author,
        "exec_other": UserFactory(username="scenario.exec", role="executive", side="it"),
        "finance": UserFactory(username="scenario.finance", role="finance", side=""),
        "pm": UserFactory(username="scenario.pm", role="pm", side="marketing"),
        "admin": UserFactory(username="scenario.admin", role="admin", side=""),
        "anonymous": AnonymousUser(),
    }
    for name, user in users.items():
        assert policy.can(_fresh(user), action, scenario) is (name in SCENARIO_TABLE[action]), (name, action)
