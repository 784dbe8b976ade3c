"""The co-funding agreement timeline (PRODUCT.md §2 Co-funding agreement): its rules, the first agreement at
dual sign-off, share changes with their effective month, and the current share kept in step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from budgets.services.budgets import budget_line_set
from budgets.services.locks import period_lock_create
from initiatives import agreements, selectors, services
from initiatives.choices import ProposalStatus
from initiatives.models import CoFundingAgreement, Initiative
from initiatives.tasks import agreements_share_sync_task
from portfolio import periods
from portfolio.fiscal import add_months, month_label
from split.models import SplitRow
from split.services import split_recompute
from tests.factories import InitiativeFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db

THIS_MONTH = agreements.current_month()


def _month(offset: int) -> dt.date:
    return add_months(THIS_MONTH, offset)


@pytest.fixture
def running(pm, filing, executive_marketing, executive_it):
    """Approved at 60 %, started six months ago, ending in a year (dates relative to today)."""
    filing.update(start_date=_month(-6) + dt.timedelta(days=9), end_date=_month(12) + dt.timedelta(days=27))
    initiative = services.initiative_create(by=pm, **filing)
    services.initiative_submit(initiative=initiative, by=pm)
    services.initiative_approve(initiative=initiative, by=executive_marketing)
    return services.initiative_approve(initiative=initiative, by=executive_it)


def _approve_share(initiative, by, share, month, *, sponsors):
    proposal = services.change_proposal_create(
        initiative=initiative, by=by, reason="Marketing takes the lead", marketing_share_pct=share, effective_from=month
    )
    for sponsor in sponsors:
        services.change_proposal_approve(proposal=proposal, by=sponsor)
    proposal.refresh_from_db()
    return proposal


def _errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- the rule ----------------------------------------------------------------------------------


def test_the_share_in_force_is_the_latest_agreement_from_that_month_or_before():
    jan, apr, sep = dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 9, 1)
    timeline = [(apr, Decimal("50")), (jan, Decimal("60")), (sep, Decimal("45"))]  # any order
    default = Decimal("99")

    def share(day):
        return agreements.share_from_timeline(timeline, day, default=default)

    assert share(dt.date(2025, 11, 30)) == Decimal("60")  # before the first agreement's month: the first one
    assert share(dt.date(2026, 1, 1)) == Decimal("60")
    assert share(dt.date(2026, 3, 31)) == Decimal("60")
    assert share(dt.date(2026, 4, 1)) == Decimal("50")  # at the change
    assert share(dt.date(2026, 4, 17)) == Decimal("50")  # any day of the month
    assert share(dt.date(2026, 8, 31)) == Decimal("50")
    assert share(dt.date(2026, 9, 1)) == Decimal("45")
    assert share(dt.date(2031, 1, 1)) == Decimal("45")
    assert agreements.share_from_timeline([], dt.date(2026, 4, 1), default=default) == default


def test_share_in_force_reads_the_timeline_and_falls_back_to_the_initiative_before_sign_off(draft, running):
    assert agreements.share_in_force(draft, dt.date(2026, 5, 1)) == Decimal("60.00")  # no agreement yet
    assert agreements.agreement_timeline(draft) == []
    CoFundingAgreement.objects.create(initiative=running, effective_from=_month(2), marketing_share_pct=Decimal("40"))
    assert agreements.share_in_force(running, _month(-12)) == Decimal("60.00")
    assert agreements.share_in_force(running, _month(1)) == Decimal("60.00")
    assert agreements.share_in_force(running, _month(2)) == Decimal("40.00")
    first, later = timeline = agreements.agreement_timeline(running)
    assert [a.marketing_share_pct for a in timeline] == [Decimal("60"), Decimal("40")]
    assert agreements.agreement_in_force(timeline, _month(-12)) == first  # before the first month: the first
    assert agreements.agreement_in_force(timeline, _month(1)) == first
    assert agreements.agreement_in_force(timeline, _month(3)) == later
    assert agreements.agreement_in_force([], _month(3)) is None


# --- dual sign-off -------------------------------------------------------------------------------


def test_dual_sign_off_creates_the_first_agreement_from_the_start_month(
    pm, submitted, executive_marketing, executive_it
):
    services.initiative_approve(initiative=submitted, by=executive_marketing)
    assert not CoFundingAgreement.objects.exists()  # one sponsor is not an agreement
    services.initiative_approve(initiative=submitted, by=executive_it)
    submitted.refresh_from_db()

    (agreement,) = agreements.agreement_timeline(submitted)
    assert agreement.effective_from == dt.date(2026, 2, 1)  # the month of start_date
    assert agreement.marketing_share_pct == Decimal("60.00")
    assert (agreement.marketing_signed_by, agreement.marketing_signed_at) == (
        executive_marketing,
        submitted.marketing_approved_at,
    )
    assert (agreement.it_signed_by, agreement.it_signed_at) == (executive_it, submitted.it_approved_at)
    assert agreement.proposal is None
    assert agreement.history.get().history_user == executive_it


def test_a_first_agreement_made_again_for_the_same_month_replaces_it_keeping_its_history(approved, executive_it):
    Initiative.objects.filter(pk=approved.pk).update(marketing_share_pct=Decimal("55.00"))
    approved.refresh_from_db()
    agreements.agreement_first_create(initiative=approved, by=executive_it)

    (agreement,) = agreements.agreement_timeline(approved)
    assert agreement.marketing_share_pct == Decimal("55.00")
    assert [h.marketing_share_pct for h in agreement.history.order_by("history_id")] == [Decimal("60"), Decimal("55")]


# --- the effective month of a share change -------------------------------------------------------


def test_the_default_effective_month_is_the_first_open_month_from_the_current_one(running, finance):
    assert agreements.effective_month_default(running) == THIS_MONTH
    PeriodLockFactory(month=THIS_MONTH, locked_by=finance)
    PeriodLockFactory(month=_month(1), locked_by=finance, reason="closed early")
    assert agreements.effective_month_default(running) == _month(2)

    later = Initiative.objects.get(pk=running.pk)
    later.start_date = _month(5)
    assert agreements.effective_month_default(later) == _month(5)  # never before the start month


def test_a_share_change_without_a_month_takes_the_default(pm, running, finance):
    PeriodLockFactory(month=THIS_MONTH, locked_by=finance)
    proposal = services.change_proposal_create(
        initiative=running, by=pm, reason="Marketing takes the lead", marketing_share_pct="50"
    )
    assert proposal.effective_from == _month(1)
    assert proposal.previous_values == {"marketing_share_pct": "60.00"}


def test_a_share_change_refuses_a_locked_month_and_one_before_the_start(pm, running, finance):
    PeriodLockFactory(month=_month(-1), locked_by=finance)
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(
            initiative=running, by=pm, reason="x", marketing_share_pct="50", effective_from=_month(-1)
        )
    assert _errors(excinfo) == {"effective_from": [f"{month_label(_month(-1))} is locked: choose an open month."]}

    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(
            initiative=running, by=pm, reason="x", marketing_share_pct="50", effective_from=_month(-7)
        )
    assert _errors(excinfo) == {
        "effective_from": [f"The initiative starts in {month_label(_month(-6))}: the new share cannot apply before it."]
    }
    assert not running.change_proposals.exists()


def test_a_month_only_matters_with_a_new_share(pm, running):
    proposal = services.change_proposal_create(
        initiative=running, by=pm, reason="It now writes to the ERP", lane="core_stack", effective_from=_month(-9)
    )
    assert proposal.effective_from is None


def test_the_same_share_as_in_force_that_month_changes_nothing(pm, running, executive_marketing, executive_it):
    _approve_share(running, pm, "50", _month(3), sponsors=[executive_marketing, executive_it])
    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_create(
            initiative=running, by=pm, reason="x", marketing_share_pct="50", effective_from=_month(4)
        )
    assert "Nothing would change" in _errors(excinfo)["__all__"][0]
    # …but 60 % from month 4 is a change (50 % would be in force then).
    proposal = services.change_proposal_create(
        initiative=running, by=pm, reason="back", marketing_share_pct="60", effective_from=_month(4)
    )
    assert proposal.previous_values == {"marketing_share_pct": "50.00"}


# --- approval ---------------------------------------------------------------------------------------


def test_approval_makes_the_agreement_signed_by_the_two_sponsors_who_approved(
    pm, running, executive_marketing, executive_it
):
    proposal = services.change_proposal_create(
        initiative=running,
        by=pm,
        reason="Marketing takes the lead",
        marketing_share_pct="50",
        effective_from=_month(-2),
    )
    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    assert CoFundingAgreement.objects.filter(initiative=running).count() == 1  # one sponsor: nothing yet
    services.change_proposal_approve(proposal=proposal, by=executive_it)
    proposal.refresh_from_db()
    running.refresh_from_db()

    first, change = agreements.agreement_timeline(running)
    assert (first.effective_from, first.marketing_share_pct) == (_month(-6), Decimal("60.00"))
    assert (change.effective_from, change.marketing_share_pct, change.proposal) == (
        _month(-2),
        Decimal("50.00"),
        proposal,
    )
    assert (change.marketing_signed_by, change.marketing_signed_at) == (
        executive_marketing,
        proposal.marketing_approved_at,
    )
    assert (change.it_signed_by, change.it_signed_at) == (executive_it, proposal.it_approved_at)
    assert proposal.status == ProposalStatus.APPLIED
    # The effective month is past: today's share is the new one; months before it keep 60 %.
    assert running.marketing_share_pct == Decimal("50.00")
    assert agreements.share_in_force(running, _month(-3)) == Decimal("60.00")


def test_a_change_from_the_start_month_replaces_the_first_agreement(pm, running, executive_marketing, executive_it):
    proposal = _approve_share(running, pm, "70", _month(-6), sponsors=[executive_marketing, executive_it])
    (agreement,) = agreements.agreement_timeline(running)
    assert (agreement.marketing_share_pct, agreement.proposal) == (Decimal("70.00"), proposal)
    assert agreement.history.count() == 2  # the dual sign-off's version is kept
    running.refresh_from_db()
    assert running.marketing_share_pct == Decimal("70.00")


def test_a_future_month_keeps_todays_share_until_the_sync_in_that_month(pm, running, executive_marketing, executive_it):
    running.platforms.add(InitiativeFactory(lane="core_stack", status="in_progress"))
    _approve_share(running, pm, "50", _month(2), sponsors=[executive_marketing, executive_it])
    running.refresh_from_db()
    assert running.marketing_share_pct == Decimal("60.00")  # April's share is not today's
    assert agreements.agreements_sync_current_share() == 0
    assert agreements.agreements_sync_current_share(today=_month(1) + dt.timedelta(days=20)) == 0

    assert agreements.agreements_sync_current_share(today=_month(2) + dt.timedelta(days=3)) == 1
    running.refresh_from_db()
    assert running.marketing_share_pct == Decimal("50.00")
    latest = running.history.order_by("-history_id").first()
    assert latest.history_change_reason == f"Agreement in force from {month_label(_month(2))}"
    (entry, *_) = selectors.initiative_history(initiative=running)
    assert entry.changes == [("Marketing's share", "60.00 %", "50.00 %")]  # the platforms kept, not "changed"
    assert agreements.agreements_sync_current_share(today=_month(2)) == 0  # idempotent


def test_the_sync_finds_the_differing_initiatives_in_one_query(running, draft, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert agreements.agreements_sync_current_share() == 0


def test_a_month_locked_after_the_proposal_refuses_the_approval(
    pm, running, finance, executive_marketing, executive_it
):
    proposal = services.change_proposal_create(
        initiative=running, by=pm, reason="x", marketing_share_pct="50", effective_from=_month(-1)
    )
    services.change_proposal_approve(proposal=proposal, by=executive_marketing)
    period_lock_create(month=_month(-1), reason="closed", by=finance)

    with pytest.raises(ValidationError) as excinfo:
        services.change_proposal_approve(proposal=proposal, by=executive_it)
    (message,) = _errors(excinfo)["effective_from"]
    assert message.startswith(f"{month_label(_month(-1))} is locked")
    assert "propose it again from an open month" in message
    proposal.refresh_from_db()
    running.refresh_from_db()
    assert (proposal.status, proposal.it_approved_at) == (ProposalStatus.PENDING, None)
    assert running.marketing_share_pct == Decimal("60.00")
    assert CoFundingAgreement.objects.filter(initiative=running).count() == 1


def test_an_initiative_approved_before_agreements_gets_its_first_one_with_the_change(
    pm, executive_marketing, executive_it
):
    initiative = InitiativeFactory(
        owner=pm,
        marketing_sponsor=executive_marketing,
        it_sponsor=executive_it,
        status="in_progress",
        start_date=_month(-4),
        end_date=_month(8),
    )
    _approve_share(initiative, pm, "30", _month(-1), sponsors=[executive_marketing, executive_it])
    timeline = agreements.agreement_timeline(initiative)
    assert [(a.effective_from, a.marketing_share_pct) for a in timeline] == [
        (_month(-4), Decimal("60.00")),
        (_month(-1), Decimal("30.00")),
    ]


def test_the_period_registry_is_filled_by_budgets(finance):
    PeriodLockFactory(month=_month(-3), locked_by=finance)
    assert periods.locked_months([_month(-3), _month(-2)]) == {_month(-3)}
    assert periods.locked_months([_month(-3)], hold=True) == {_month(-3)}
    assert periods.locked_months() == {_month(-3)}


def test_the_hourly_task_syncs_the_share_once_its_month_has_come(
    pm, running, executive_marketing, executive_it, settings
):
    """Beat runs the sync every hour (so from 00:05 on the 1st); the task is the service, run by a worker."""
    entry = settings.CELERY_BEAT_SCHEDULE["agreements-share-sync-hourly"]
    assert entry["task"] == "initiatives.tasks.agreements_share_sync_task"
    running.platforms.add(InitiativeFactory(lane="core_stack", status="in_progress"))
    _approve_share(running, pm, "50", _month(1), sponsors=[executive_marketing, executive_it])
    assert agreements_share_sync_task.apply().get() == {"changed": 0}  # next month's share is not today's
    running.refresh_from_db()
    assert running.marketing_share_pct == Decimal("60.00")
    # The month comes: the same task, that night, applies it.
    with mock.patch("initiatives.agreements.current_month", return_value=_month(1)):
        assert agreements_share_sync_task.apply().get() == {"changed": 1}
    running.refresh_from_db()
    assert running.marketing_share_pct == Decimal("50.00")


def test_the_issues_worked_example_through_the_workflow_to_the_split(
    pm, filing, executive_marketing, executive_it, finance
):
    """Issue 16's example end to end: signed off at 60 % from January; in May both sponsors approve 50 %
    from April (not locked); the recompute gives January–March at 60 % and April on at 50 %."""
    filing.update(start_date=dt.date(2026, 1, 5), end_date=dt.date(2026, 12, 20), marketing_share_pct="60.00")
    initiative = services.initiative_create(by=pm, **filing)
    services.initiative_submit(initiative=initiative, by=pm)
    services.initiative_approve(initiative=initiative, by=executive_marketing)
    initiative = services.initiative_approve(initiative=initiative, by=executive_it)
    months = [dt.date(2026, month, 1) for month in range(1, 7)]
    for month in months:
        budget_line_set(initiative=initiative, month=month, category="labor", amount=Decimal("1000.01"), by=finance)
    period_lock_create(month=dt.date(2026, 2, 1), reason="February close", by=finance)  # closed at 60 %

    _approve_share(initiative, pm, "50", dt.date(2026, 4, 1), sponsors=[executive_marketing, executive_it])
    split_recompute(trigger="command")

    rows = {row.month: row for row in SplitRow.objects.filter(initiative=initiative)}
    assert sorted(rows) == months
    for month, row in rows.items():
        share = Decimal("60.00") if month < dt.date(2026, 4, 1) else Decimal("50.00")
        assert row.marketing_share_pct == share, month
        assert row.planned_marketing == (Decimal("600.01") if share == 60 else Decimal("500.01")), month  # half up
        assert row.planned_marketing + row.planned_it == row.planned_total == Decimal("1000.01")
    assert rows[dt.date(2026, 2, 1)].closed and not rows[dt.date(2026, 4, 1)].closed
    assert [(a.effective_from, a.marketing_share_pct) for a in agreements.agreement_timeline(initiative)] == [
        (dt.date(2026, 1, 1), Decimal("60.00")),
        (dt.date(2026, 4, 1), Decimal("50.00")),
    ]
