"""The initiative workflow of PRODUCT.md §2, through its one service module."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from initiatives import services
from initiatives.choices import Action, ProposalStatus, Status
from initiatives.models import Initiative, InitiativeChangeProposal, InitiativeTransition
from tests.factories import InitiativeFactory, UserFactory

pytestmark = pytest.mark.django_db


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- filing ------------------------------------------------------------------------------


def test_a_pm_files_a_draft_they_own_with_the_lane_assessment_on_record(pm, filing):
    initiative = services.initiative_create(by=pm, **filing)
    initiative.refresh_from_db()
    assert initiative.code == "INI-0001"
    assert initiative.status == Status.DRAFT
    assert initiative.owner == pm
    assert initiative.lane_recommended == "fast_lane"
    assert initiative.lane_assessment["maturity"] == "experiment"
    assert initiative.lane_justification == ""
    created = initiative.transitions.get()
    assert (created.action, created.from_status, created.to_status, created.by) == (Action.CREATE, "", "draft", pm)
    assert initiative.history.first().history_user == pm


def test_only_pms_file_initiatives(executive_marketing, filing):
    with pytest.raises(PermissionDenied):
        services.initiative_create(by=executive_marketing, **filing)
    assert not Initiative.objects.exists()


def test_choosing_the_other_lane_needs_a_justification_that_is_kept(pm, filing):
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(by=pm, **{**filing, "lane": "core_stack"})
    assert "recommends the fast lane" in _errors(excinfo)["lane_justification"][0]

    initiative = services.initiative_create(
        by=pm, **{**filing, "lane": "core_stack", "lane_justification": "  It will write to billing next year.  "}
    )
    assert (initiative.lane, initiative.lane_recommended) == ("core_stack", "fast_lane")
    assert initiative.lane_justification == "It will write to billing next year."


@pytest.mark.parametrize(
    "override, field, message",
    [
        ({"marketing_share_pct": Decimal("100.001")}, "marketing_share_pct", "between 0 and 100"),
        ({"marketing_share_pct": Decimal("62.555")}, "marketing_share_pct", "two decimal places"),
        ({"marketing_share_pct": Decimal("-1")}, "marketing_share_pct", "between 0 and 100"),
        ({"marketing_share_pct": "abc"}, "marketing_share_pct", "as a number"),
        ({"marketing_share_pct": "NaN"}, "marketing_share_pct", "as a number"),
        ({"end_date": dt.date(2026, 1, 1)}, "end_date", "cannot be before the start"),
        ({"title": "   "}, "title", "Give the initiative a title"),
        ({"title": "x" * 201}, "title", "under 200 characters"),
        ({"summary": ""}, "summary", "business outcome"),
        ({"lane": "slow_lane"}, "lane", "fast lane or the core stack"),
        ({"health": "blue"}, "health", "green, amber or red"),
        ({"start_date": None}, "start_date", "start date"),
        ({"lane_assessment": {}}, "assessment_maturity", "Answer this question"),
    ],
)
def test_field_rules_reject_bad_values_in_plain_words(pm, filing, override, field, message):
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(by=pm, **{**filing, **override})
    assert message in " ".join(_errors(excinfo)[field])
    assert not Initiative.objects.exists()


def test_sponsors_must_be_executives_of_the_right_side(pm, filing, executive_marketing, executive_it, other_pm):
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(
            by=pm, **{**filing, "marketing_sponsor": executive_it, "it_sponsor": executive_marketing}
        )
    assert "executive on the marketing side" in _errors(excinfo)["marketing_sponsor"][0]
    assert "executive on the IT side" in _errors(excinfo)["it_sponsor"][0]
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(by=pm, **{**filing, "it_sponsor": other_pm})  # a PM of the IT side
    assert "it_sponsor" in _errors(excinfo)


def test_platforms_are_core_stack_initiatives_and_never_the_initiative_itself(pm, filing):
    core = InitiativeFactory(lane="core_stack", status=Status.APPROVED)
    fast = InitiativeFactory(lane="fast_lane", status=Status.APPROVED)
    initiative = services.initiative_create(by=pm, **{**filing, "platforms": [core]})
    assert list(initiative.platforms.all()) == [core]

    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(by=pm, **{**filing, "platforms": [fast]})
    assert "must be core-stack" in _errors(excinfo)["platforms"][0]

    own = {**filing, "platforms": [initiative]}
    Initiative.objects.filter(pk=initiative.pk).update(lane="core_stack")
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_update(initiative=initiative, by=pm, **own)
    assert "its own platform" in _errors(excinfo)["platforms"][0]

    with pytest.raises(ValidationError) as excinfo:
        services.initiative_create(
            by=pm, **{**filing, "lane": "core_stack", "lane_justification": "ERP later", "platforms": [core]}
        )
    assert "Only a fast-lane initiative" in _errors(excinfo)["platforms"][0]


def test_the_owner_edits_a_draft_and_history_keeps_before_and_after(pm, draft, filing):
    services.initiative_update(initiative=draft, by=pm, **{**filing, "marketing_share_pct": Decimal("45.50")})
    draft.refresh_from_db()
    assert draft.marketing_share_pct == Decimal("45.50")
    newest, older = draft.history.all()[:2]
    change = next(c for c in newest.diff_against(older).changes if c.field == "marketing_share_pct")
    assert (change.old, change.new) == (Decimal("60.00"), Decimal("45.50"))
    assert newest.history_user == pm


def test_nobody_but_the_owner_edits_and_not_after_submission(pm, other_pm, draft, filing, executive_marketing):
    for user in (other_pm, executive_marketing):
        with pytest.raises(PermissionDenied):
            services.initiative_update(initiative=draft, by=user, **{**filing, "title": "Hijacked"})
    services.initiative_submit(initiative=draft, by=pm)
    with pytest.raises(PermissionDenied):
        services.initiative_update(initiative=draft, by=pm, **{**filing, "title": "Too late"})
    draft.refresh_from_db()
    assert draft.title == "Loyalty app relaunch"


# --- workflow ----------------------------------------------------------------------------


def test_submit_then_dual_sign_off(pm, draft, executive_marketing, executive_it, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_submit(initiative=draft, by=pm, reason="Ready for review")
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert sorted(m.to[0] for m in mail.outbox) == ["cio@example.com", "cmo@example.com"]
    assert "http://127.0.0.1:8000/initiatives/INI-0001/" in mail.outbox[0].body
    assert "Ready for review" in mail.outbox[0].body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_approve(initiative=draft, by=executive_marketing)
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED  # one sponsor is not enough
    assert draft.marketing_approved_at is not None and draft.it_approved_at is None
    assert sorted(m.to[0] for m in mail.outbox) == ["cio@example.com", "pm.marketing@example.com"]
    assert "waiting for the IT sponsor" in mail.outbox[0].subject

    with pytest.raises(PermissionDenied):  # each sponsor signs off once
        services.initiative_approve(initiative=draft, by=executive_marketing)

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_approve(initiative=draft, by=executive_it, reason="Fits the roadmap")
    draft.refresh_from_db()
    assert draft.status == Status.APPROVED
    assert "both sponsors have signed off" in mail.outbox[0].subject
    final = draft.transitions.filter(to_status=Status.APPROVED).get()
    assert (final.by, final.from_status, final.reason) == (executive_it, Status.SUBMITTED, "Fits the roadmap")
    assert [t.action for t in draft.transitions.order_by("at", "id")] == ["create", "submit", "approve", "approve"]


def test_email_is_sent_only_after_commit(pm, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.initiative_submit(initiative=draft, by=pm)
    assert mail.outbox == []  # nothing before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 2


def test_a_sponsor_rejects_with_a_reason_and_the_owner_revises_and_resubmits(
    pm, submitted, filing, executive_marketing, executive_it, django_capture_on_commit_callbacks
):
    services.initiative_approve(initiative=submitted, by=executive_marketing)
    with pytest.raises(ValidationError) as excinfo:
        services.initiative_reject(initiative=submitted, by=executive_it, reason="  ")
    assert "reason" in _errors(excinfo)

    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_reject(initiative=submitted, by=executive_it, reason="Share too low for IT")
    submitted.refresh_from_db()
    assert submitted.status == Status.REJECTED
    owner_mail = next(m for m in mail.outbox if m.to == ["pm.marketing@example.com"])
    assert "Share too low for IT" in owner_mail.body

    services.initiative_update(initiative=submitted, by=pm, **{**filing, "marketing_share_pct": Decimal("50")})
    services.initiative_submit(initiative=submitted, by=pm)
    submitted.refresh_from_db()
    assert submitted.status == Status.SUBMITTED
    assert submitted.marketing_approved_at is None  # both sponsors decide again
    assert submitted.transitions.filter(action=Action.RESUBMIT).exists()


def test_start_complete_and_cancel(pm, approved, executive_it, other_pm):
    with pytest.raises(PermissionDenied):
        services.initiative_start(initiative=approved, by=other_pm)
    services.initiative_start(initiative=approved, by=pm)
    with pytest.raises(PermissionDenied):
        services.initiative_cancel(initiative=approved, by=pm, reason="Owners do not cancel")
    with pytest.raises(ValidationError):
        services.initiative_cancel(initiative=approved, by=executive_it, reason="")
    services.initiative_complete(initiative=approved, by=executive_it)
    approved.refresh_from_db()
    assert approved.status == Status.DONE
    with pytest.raises(PermissionDenied):  # done is not an open state
        services.initiative_cancel(initiative=approved, by=executive_it, reason="Too late")


def test_a_sponsor_cancels_an_open_initiative_and_its_pending_change_is_withdrawn(pm, approved, executive_it):
    proposal = services.change_proposal_create(
        initiative=approved, by=pm, reason="More marketing", marketing_share_pct=Decimal("70")
    )
    services.initiative_cancel(initiative=approved, by=executive_it, reason="Budget frozen")
    approved.refresh_from_db()
    proposal.refresh_from_db()
    assert approved.status == Status.CANCELLED
    assert proposal.status == ProposalStatus.WITHDRAWN
    cancel = approved.transitions.get(action=Action.CANCEL)
    assert (cancel.by, cancel.reason) == (executive_it, "Budget frozen")


def test_health_updates_need_a_reason_unless_green(pm, approved):
    with pytest.raises(ValidationError):
        services.initiative_update_health(initiative=approved, by=pm, health="red")
    services.initiative_update_health(initiative=approved, by=pm, health="red", reason="Vendor late")
    approved.refresh_from_db()
    assert approved.health == "red"
    assert approved.transitions.get(action=Action.HEALTH).reason == "Vendor late"


def test_every_transition_records_who_when_and_why(pm, approved, executive_marketing):
    transitions = list(InitiativeTransition.objects.filter(initiative=approved).order_by("at", "id"))
    assert [(t.action, t.from_status, t.to_status) for t in transitions] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("approve", "submitted", "submitted"),
        ("approve", "submitted", "approved"),
    ]
    assert [t.by.username for t in transitions] == ["pm.marketing", "pm.marketing", "cmo", "cio"]
    assert all(t.at is not None for t in transitions)


# --- changes to an approved initiative ----------------------------------------------------


def test_a_share_change_waits_for_both_sponsors_and_the_old_share_holds_meanwhile(
    pm, approved, executive_marketing, executive_it, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = services.change_proposal_create(
            initiative=approved, by=pm, reason="Marketing takes over the app", marketing_share_pct=Decimal("75.5")
        )
    assert sorted(m.to[0] for m in mail.outbox) == ["cio@example.com", "cmo@example.com"]
    approved.refresh_from_db()
    assert approved.marketing_share_pct == Decimal("60.00")  # the split still uses the old share

    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    approved.refresh_from_db()
    assert approved.marketing_share_pct == Decimal("60.00")
    with pytest.raises(PermissionDenied):
        services.change_proposal_approve(proposal=proposal, by=executive_marketing)

    services.change_proposal_approve(proposal=proposal, by=executive_it)
    approved.refresh_from_db()
    proposal.refresh_from_db()
    assert approved.marketing_share_pct == Decimal("75.50")
    assert proposal.status == ProposalStatus.APPLIED
    assert proposal.previous_values == {"marketing_share_pct": "60.00"}
    assert approved.transitions.filter(action=Action.APPLY_CHANGE, by=executive_it).exists()


def test_a_rejected_change_leaves_the_initiative_as_it_was(pm, approved, executive_it):
    proposal = services.change_proposal_create(initiative=approved, by=pm, reason="Swap lane", lane="core_stack")
    services.change_proposal_reject(proposal=proposal, by=executive_it, reason="Stays an experiment")
    approved.refresh_from_db()
    proposal.refresh_from_db()
    assert approved.lane == "fast_lane"
    assert (proposal.status, proposal.decision_reason) == (ProposalStatus.REJECTED, "Stays an experiment")


def test_a_sponsor_who_proposes_has_approved_and_a_sponsor_change_applies_after_the_other(
    approved, executive_marketing, executive_it
):
    new_cmo = UserFactory(username="vp.growth", role="executive", side="marketing")
    proposal = services.change_proposal_create(
        initiative=approved, by=executive_marketing, reason="I move to another unit", marketing_sponsor=new_cmo
    )
    assert proposal.marketing_approved_by == executive_marketing
    services.change_proposal_approve(proposal=proposal, by=executive_it)
    approved.refresh_from_db()
    assert approved.marketing_sponsor == new_cmo


def test_a_lane_change_keeps_the_reason_as_the_justification(pm, approved, executive_marketing, executive_it):
    proposal = services.change_proposal_create(
        initiative=approved, by=pm, reason="It now writes to the ERP", lane="core_stack"
    )
    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    services.change_proposal_approve(proposal=proposal, by=executive_it)
    approved.refresh_from_db()
    assert (approved.lane, approved.lane_justification) == ("core_stack", "It now writes to the ERP")


def test_change_proposals_are_checked(pm, approved, executive_it, other_pm, draft):
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(initiative=approved, by=pm, reason="Nothing", marketing_share_pct="60")
    assert "Nothing would change" in _errors(excinfo)["__all__"][0]
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(initiative=approved, by=pm, reason="x", marketing_share_pct="101")
    assert "marketing_share_pct" in _errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(initiative=approved, by=pm, reason="x", it_sponsor=other_pm)
    assert "it_sponsor" in _errors(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(initiative=approved, by=pm, reason="", lane="core_stack")
    assert "reason" in _errors(excinfo)
    with pytest.raises(PermissionDenied):
        services.change_proposal_create(initiative=approved, by=other_pm, reason="x", lane="core_stack")

    services.change_proposal_create(initiative=approved, by=pm, reason="first", lane="core_stack")
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(initiative=approved, by=executive_it, reason="second", marketing_share_pct=1)
    assert "already waiting" in _errors(excinfo)["__all__"][0]
    assert InitiativeChangeProposal.objects.filter(status=ProposalStatus.PENDING).count() == 1


def test_the_proposer_withdraws_a_pending_change(pm, approved, executive_it):
    proposal = services.change_proposal_create(initiative=approved, by=pm, reason="x", lane="core_stack")
    with pytest.raises(PermissionDenied):
        services.change_proposal_withdraw(proposal=proposal, by=executive_it)
    services.change_proposal_withdraw(proposal=proposal, by=pm)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WITHDRAWN
