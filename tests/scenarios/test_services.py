"""Scenario services (PRODUCT.md §3a): who may change a scenario, the validation of each field, and
"propose" turning share and lane changes into ordinary change proposals that become agreements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from initiatives import agreements
from initiatives import services as initiative_services
from initiatives.choices import ProposalStatus
from initiatives.models import InitiativeChangeProposal
from scenarios import selectors, services
from scenarios.models import Scenario, ScenarioChange
from tests.factories import InitiativeFactory

from .conftest import month

pytestmark = pytest.mark.django_db


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- who --------------------------------------------------------------------------------------------------


def test_executives_and_finance_create_scenarios_a_pm_cannot(executive_it, finance, pm):
    assert services.scenario_create(by=executive_it, name="IT view").author == executive_it
    assert services.scenario_create(by=finance, name="Finance view").author == finance
    with pytest.raises(PermissionDenied):
        services.scenario_create(by=pm, name="Mine")


def test_only_the_author_changes_deletes_or_proposes(scenario, executive_it, finance, loyalty):
    for user in (executive_it, finance):
        with pytest.raises(PermissionDenied):
            services.scenario_update(scenario=scenario, by=user, name="Taken over")
        with pytest.raises(PermissionDenied):
            services.scenario_change_set(scenario=scenario, by=user, initiative=loyalty, kind="lane", lane="core_stack")
        with pytest.raises(PermissionDenied):
            services.scenario_propose(scenario=scenario, by=user, reason="x")
        with pytest.raises(PermissionDenied):
            services.scenario_delete(scenario=scenario, by=user)
    assert Scenario.objects.filter(pk=scenario.pk, name="Marketing leads loyalty").exists()


def test_visible_scenarios_all_for_executives_and_finance_none_for_a_pm(scenario, executive_it, finance, pm):
    assert list(selectors.visible_scenarios(executive_it)) == [scenario]
    assert list(selectors.visible_scenarios(finance)) == [scenario]
    assert list(selectors.visible_scenarios(pm)) == []


# --- validation -------------------------------------------------------------------------------------------


def test_a_name_is_required_and_unique_per_author(scenario, executive_marketing, executive_it):
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_create(by=executive_marketing, name="  ")
    assert _errors(excinfo) == {"name": ["Give the scenario a name."]}
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_create(by=executive_marketing, name="marketing LEADS loyalty")
    assert _errors(excinfo) == {"name": ["You already have a scenario with this name."]}
    assert services.scenario_create(by=executive_it, name="Marketing leads loyalty").author == executive_it
    assert services.scenario_update(scenario=scenario, by=executive_marketing, name=" Renamed ").name == "Renamed"


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("100.01", "Marketing's share must be between 0 and 100 %."),
        ("-1", "Marketing's share must be between 0 and 100 %."),
        ("62.555", "Use at most two decimal places, for example 62.55."),
        ("sixty", "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5."),
        (None, "Enter marketing's share as a number between 0 and 100."),
    ],
)
def test_a_share_is_0_to_100_with_two_places(scenario, executive_marketing, loyalty, share, message):
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=loyalty, kind="share",
            from_month=month(1), marketing_share_pct=share,
        )  # fmt: skip
    assert _errors(excinfo) == {"marketing_share_pct": [message]}
    assert not ScenarioChange.objects.exists()


def test_from_month_is_a_first_day_inside_the_initiative(scenario, executive_marketing, loyalty):
    def refused(from_month):
        with pytest.raises(ValidationError) as excinfo:
            services.scenario_change_set(
                scenario=scenario, by=executive_marketing, initiative=loyalty, kind="exclude", from_month=from_month
            )
        return _errors(excinfo)["from_month"][0]

    assert refused(month(1) + dt.timedelta(days=3)) == "A change applies from the first day of a month: choose the 1st."
    assert refused(month(-7)).startswith(f"{loyalty.code} runs from ")
    assert refused(month(13)).startswith(f"{loyalty.code} runs from ")
    assert refused(None) == "Choose the month the change applies from."
    assert refused("not a date") == "Enter a month as YYYY-MM-01."
    # the start month and the end month themselves are inside
    for inside in (month(-6), month(12)):
        change = services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=loyalty, kind="exclude", from_month=inside
        )
        assert change.from_month == inside


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ("-0.01", "Enter the plan's scale as a percentage of at least 0, for example 80 or 112.5."),
        ("1.234", "Use at most two decimal places, for example 112.55."),
        ("x", "Enter the plan's scale as a percentage of at least 0, for example 80 or 112.5."),
    ],
)
def test_a_scale_is_not_negative_with_two_places(scenario, executive_marketing, loyalty, scale, message):
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=loyalty, kind="scale",
            from_month=month(0), plan_scale_pct=scale,
        )  # fmt: skip
    assert _errors(excinfo) == {"plan_scale_pct": [message]}


def test_lane_rules_follow_the_change_proposals(scenario, executive_marketing):
    platform = InitiativeFactory(lane="core_stack")
    builder = InitiativeFactory(lane="fast_lane")
    builder.platforms.add(platform)
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=builder, kind="lane", lane="core_stack"
        )
    assert _errors(excinfo) == {"lane": ["This initiative builds on platforms; a core-stack initiative cannot."]}
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=platform, kind="lane", lane="fast_lane"
        )
    assert _errors(excinfo) == {
        "lane": ["Other initiatives build on this one as a platform; a platform must stay core-stack."]
    }
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=platform, kind="lane", lane="x"
        )
    assert _errors(excinfo) == {"lane": ["Choose the fast lane or the core stack."]}


def test_a_change_of_the_same_kind_replaces_the_earlier_one(scenario, executive_marketing, loyalty):
    for share in ("70", "75.5"):
        services.scenario_change_set(
            scenario=scenario, by=executive_marketing, initiative=loyalty, kind="share",
            from_month=month(2), marketing_share_pct=share,
        )  # fmt: skip
    assert list(ScenarioChange.objects.values_list("kind", "marketing_share_pct")) == [("share", Decimal("75.50"))]


def test_add_many_is_all_or_nothing_and_names_the_initiative(scenario, executive_marketing, loyalty):
    short = InitiativeFactory(start_date=dt.date(2020, 1, 1), end_date=dt.date(2020, 6, 30))
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_changes_add_many(
            scenario=scenario, by=executive_marketing, initiatives=[loyalty, short], kind="scale",
            from_month=month(0), plan_scale_pct="80",
        )  # fmt: skip
    assert _errors(excinfo)["from_month"][0].startswith(f"{short.code} runs from ")
    assert not ScenarioChange.objects.exists()
    changes = services.scenario_changes_add_many(
        scenario=scenario, by=executive_marketing, initiatives=[loyalty], kind="scale",
        from_month=month(0), plan_scale_pct="80",
    )  # fmt: skip
    assert [c.plan_scale_pct for c in changes] == [Decimal("80.00")]
    services.scenario_change_remove(change=changes[0], by=executive_marketing)
    assert not ScenarioChange.objects.exists()


# --- propose ----------------------------------------------------------------------------------------------


def _scenario_with_changes(scenario, by, loyalty, cdp, draft):
    services.scenario_change_set(
        scenario=scenario, by=by, initiative=loyalty, kind="share", from_month=month(2), marketing_share_pct="70"
    )
    services.scenario_change_set(scenario=scenario, by=by, initiative=loyalty, kind="lane", lane="core_stack")
    services.scenario_change_set(scenario=scenario, by=by, initiative=cdp, kind="lane", lane="core_stack")
    services.scenario_change_set(
        scenario=scenario, by=by, initiative=cdp, kind="scale", from_month=month(0), plan_scale_pct="50"
    )
    services.scenario_change_set(scenario=scenario, by=by, initiative=draft, kind="lane", lane="core_stack")


def test_propose_makes_one_proposal_per_initiative_which_approved_become_agreements(
    scenario, executive_marketing, executive_it, loyalty, cdp, draft
):
    _scenario_with_changes(scenario, executive_marketing, loyalty, cdp, draft)
    proposals = services.scenario_propose(scenario=scenario, by=executive_marketing, reason="Marketing takes loyalty")

    assert InitiativeChangeProposal.objects.count() == 2  # the draft is not proposed; the scale is not a proposal
    by_initiative = {p.initiative_id: p for p in proposals}
    first, second = by_initiative[loyalty.pk], by_initiative[cdp.pk]
    assert (first.marketing_share_pct, first.effective_from, first.lane) == (Decimal("70.00"), month(2), "core_stack")
    assert (second.marketing_share_pct, second.effective_from, second.lane) == (None, None, "core_stack")
    assert {p.status for p in proposals} == {ProposalStatus.PENDING}
    assert first.marketing_approved_by == executive_marketing  # the proposing sponsor has approved
    assert [(s.change.initiative_id, s.change.kind, s.state) for s in selectors.scenario_proposals(scenario)] == sorted(
        [
            (loyalty.pk, "lane", "pending"),
            (loyalty.pk, "share", "pending"),
            (cdp.pk, "lane", "pending"),
            (cdp.pk, "scale", "not_proposed"),
            (draft.pk, "lane", "not_proposed"),
        ],
        key=lambda row: ({loyalty.pk: loyalty.code, cdp.pk: cdp.code, draft.pk: draft.code}[row[0]], row[1]),
    )
    assert [(i.pk, why.split(":")[0]) for i, why in services.unproposable(scenario)] == [(draft.pk, "Draft")]

    initiative_services.change_proposal_approve(proposal=first, by=executive_it)
    initiative_services.change_proposal_reject(proposal=second, by=executive_it, reason="CDP stays fast")

    timeline = [(a.effective_from, a.marketing_share_pct) for a in agreements.agreement_timeline(loyalty)]
    assert timeline == [(month(-6), Decimal("60.00")), (month(2), Decimal("70.00"))]
    assert agreements.share_in_force(loyalty, month(1)) == Decimal("60.00")
    assert agreements.share_in_force(loyalty, month(2)) == Decimal("70.00")
    loyalty.refresh_from_db()
    cdp.refresh_from_db()
    assert (loyalty.lane, cdp.lane) == ("core_stack", "fast_lane")
    states = {(s.change.initiative_id, s.change.kind): s.state for s in selectors.scenario_proposals(scenario)}
    assert states[(loyalty.pk, "share")] == states[(loyalty.pk, "lane")] == "approved"
    assert states[(cdp.pk, "lane")] == "rejected"


def test_propose_is_all_or_nothing_and_names_the_initiative(scenario, executive_marketing, loyalty, cdp, draft, pm):
    _scenario_with_changes(scenario, executive_marketing, loyalty, cdp, draft)
    waiting = initiative_services.change_proposal_create(
        initiative=cdp, by=pm, reason="elsewhere", marketing_share_pct="10"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_propose(scenario=scenario, by=executive_marketing, reason="Go")
    assert _errors(excinfo) == {
        "__all__": [f"{cdp.code}: A change is already waiting for the sponsors: decide or withdraw it first."]
    }
    assert list(InitiativeChangeProposal.objects.all()) == [waiting]
    assert not ScenarioChange.objects.filter(proposal__isnull=False).exists()


def test_propose_needs_a_reason_and_something_to_propose(scenario, executive_marketing, loyalty):
    services.scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=loyalty, kind="exclude", from_month=month(0)
    )
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_propose(scenario=scenario, by=executive_marketing, reason=" ")
    assert list(_errors(excinfo)) == ["reason"]
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_propose(scenario=scenario, by=executive_marketing, reason="Go")
    assert _errors(excinfo)["__all__"][0].startswith("Nothing to propose")


def test_finance_may_not_propose_and_is_told_why(finance, loyalty):
    scenario = services.scenario_create(by=finance, name="Finance")
    services.scenario_change_set(scenario=scenario, by=finance, initiative=loyalty, kind="lane", lane="core_stack")
    with pytest.raises(PermissionDenied, match="finance cannot"):
        services.scenario_propose(scenario=scenario, by=finance, reason="Go")
    assert not InitiativeChangeProposal.objects.exists()


def test_an_executive_who_is_not_a_sponsor_is_refused_naming_the_initiative(other_executive, loyalty):
    scenario = services.scenario_create(by=other_executive, name="Outsider")
    services.scenario_change_set(
        scenario=scenario, by=other_executive, initiative=loyalty, kind="lane", lane="core_stack"
    )
    with pytest.raises(ValidationError) as excinfo:
        services.scenario_propose(scenario=scenario, by=other_executive, reason="Go")
    assert _errors(excinfo) == {"__all__": [f"{loyalty.code}: only its owner or sponsors can propose a change to it."]}
