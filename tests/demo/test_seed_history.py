"""seed_demo's co-funding and closing history (issue 16): agreements and share changes, closed months, settlements.

A fresh demo must show what the product is for: agreements that moved over time, months that
finance closed (and whose figures are frozen), quarters settled in the ERP, so the true-up
reads as settled, outstanding and accruing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from budgets.models import PeriodLock
from demo.agreements import SHARE_CHANGE_RATE
from demo.closing import closed_months, quarters_to_settle, settlement_reference
from initiatives.agreements import agreements_sync_current_share, share_in_force
from initiatives.choices import Action, ProposalStatus, Status
from initiatives.models import CoFundingAgreement, Initiative, InitiativeChangeProposal
from portfolio.fiscal import add_months, month_start
from split.models import ClosedMonth, Settlement, SettlementStatus, SplitRow
from split.settlements import settleable_quarters, true_up_states
from tests.demo.test_seed_demo import delete_generated_data

HISTORY = {"initiatives": 80, "expenses": 1200, "months": 12, "seed": 3}


def seed_history(**options) -> None:
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO(), **{**HISTORY, **options})


def current_month() -> dt.date:
    return month_start(timezone.localdate())


@pytest.fixture
def seeded(db) -> None:
    seed_history()


def history_digest() -> str:
    """A fingerprint of the co-funding and closing history, independent of database ids and of the clock."""
    digest = hashlib.sha256()
    querysets = (
        CoFundingAgreement.objects.order_by("initiative__code", "effective_from").values_list(
            "initiative__code",
            "effective_from",
            "marketing_share_pct",
            "marketing_signed_by__username",
            "marketing_signed_at",
            "it_signed_by__username",
            "it_signed_at",
            "created_at",
            "proposal__effective_from",
        ),
        InitiativeChangeProposal.objects.order_by("initiative__code", "proposed_at").values_list(
            "initiative__code",
            "status",
            "proposed_by__username",
            "proposed_at",
            "reason",
            "marketing_share_pct",
            "effective_from",
            "marketing_approved_at",
            "it_approved_at",
            "decided_by__username",
            "decided_at",
        ),
        Initiative.objects.order_by("code").values_list("code", "marketing_share_pct"),
        PeriodLock.objects.order_by("month").values_list("month", "reason", "locked_by__username", "locked_at"),
        ClosedMonth.objects.order_by("month").values_list("month", "row_count", "actual_total", "true_up"),
        Settlement.objects.order_by("reference").values_list("reference", "first_month", "last_month", "amount"),
    )
    for queryset in querysets:
        for row in queryset:
            digest.update(repr(row).encode())
    return digest.hexdigest()


# --- agreements and share changes ------------------------------------------------------------


def test_every_signed_off_initiative_has_its_first_agreement_from_its_start_month(seeded):
    initiatives = list(Initiative.objects.prefetch_related("agreements"))
    signed = [i for i in initiatives if i.marketing_approved_at and i.it_approved_at]
    assert signed and len(signed) < len(initiatives)
    for initiative in initiatives:
        agreements = list(initiative.agreements.order_by("effective_from"))
        if initiative not in signed:
            assert not agreements, initiative.code
            continue
        first = agreements[0]
        assert first.effective_from == month_start(initiative.start_date), initiative.code
        assert first.proposal_id is None
        assert (first.marketing_signed_by_id, first.marketing_signed_at) == (
            initiative.marketing_sponsor_id,
            initiative.marketing_approved_at,
        )
        assert (first.it_signed_by_id, first.it_signed_at) == (initiative.it_sponsor_id, initiative.it_approved_at)
        assert first.created_at == max(initiative.marketing_approved_at, initiative.it_approved_at)
    # Cancelled after the sponsors signed it off: the agreement stays.
    assert any(i.status == Status.CANCELLED for i in signed)


def test_some_initiatives_changed_their_share_from_a_month_inside_their_dates(seeded):
    changed = [
        initiative
        for initiative in Initiative.objects.prefetch_related("agreements", "transitions")
        if initiative.agreements.count() > 1
    ]
    signed = Initiative.objects.filter(it_approved_at__isnull=False).count()
    # One in ten of the signed-off initiatives (at least one), exactly as many as the seed asks for.
    assert signed >= 10 and len(changed) == max(1, round(signed * SHARE_CHANGE_RATE))
    now = timezone.now()
    for initiative in changed:
        agreements = list(initiative.agreements.order_by("effective_from"))
        assert 2 <= len(agreements) <= 3, initiative.code
        for before, after in itertools.pairwise(agreements):
            assert month_start(initiative.start_date) < after.effective_from <= month_start(initiative.end_date)
            assert after.marketing_share_pct != before.marketing_share_pct
            assert abs(after.marketing_share_pct - before.marketing_share_pct) <= 25
            assert before.created_at < after.created_at < now
            # Backed by the applied proposal both sponsors approved, with its effective month.
            proposal = after.proposal
            assert proposal.status == ProposalStatus.APPLIED
            assert (proposal.effective_from, proposal.marketing_share_pct) == (
                after.effective_from,
                after.marketing_share_pct,
            )
            assert proposal.previous_values == {"marketing_share_pct": f"{before.marketing_share_pct}"}
            assert (proposal.marketing_approved_by_id, proposal.it_approved_by_id) == (
                initiative.marketing_sponsor_id,
                initiative.it_sponsor_id,
            )
            assert (after.marketing_signed_at, after.it_signed_at) == (
                proposal.marketing_approved_at,
                proposal.it_approved_at,
            )
            assert proposal.proposed_at <= min(proposal.marketing_approved_at, proposal.it_approved_at)
            assert (
                proposal.decided_at == after.created_at == max(proposal.marketing_approved_at, proposal.it_approved_at)
            )
            # Never effective in a month that was closed when it was approved (a month closes the month after).
            assert after.effective_from >= add_months(month_start(timezone.localdate(proposal.decided_at)), -1)
            # Its steps are on the initiative's timeline, under the status of their moment.
            steps = [t for t in initiative.transitions.all() if t.proposal_id == proposal.pk]
            actions = [t.action for t in sorted(steps, key=lambda t: t.at)]
            assert actions[0] == Action.PROPOSE_CHANGE and actions[-1] == Action.APPLY_CHANGE
            assert all(t.from_status == t.to_status in (Status.APPROVED, Status.IN_PROGRESS) for t in steps)
        # The initiative's share is the one in force this month.
        in_force = [a for a in agreements if a.effective_from <= current_month()] or agreements[:1]
        assert initiative.marketing_share_pct == in_force[-1].marketing_share_pct, initiative.code
    # The app's own rule agrees: every initiative already shows the share in force this month.
    assert agreements_sync_current_share() == 0
    initiative = changed[0]
    for agreement in initiative.agreements.all():
        assert share_in_force(initiative, agreement.effective_from) == agreement.marketing_share_pct
    # Each agreement has its "created" history entry, by the sponsor whose signature completed it.
    agreement = CoFundingAgreement.objects.filter(proposal__isnull=False).first()
    entry = agreement.history.get()
    assert (entry.history_type, entry.history_date) == ("+", agreement.created_at)
    assert entry.history_user_id in (agreement.marketing_signed_by_id, agreement.it_signed_by_id)
    assert entry.history_change_reason == f"Share change approved: {agreement.proposal.reason}"[:100]
    first = CoFundingAgreement.objects.filter(initiative=agreement.initiative_id).order_by("effective_from").first()
    assert first.history.get().history_change_reason == "Dual sign-off"


def test_the_initiative_history_shows_the_share_change_when_it_was_applied(seeded):
    agreement = CoFundingAgreement.objects.filter(
        proposal__isnull=False, effective_from__lte=current_month()
    ).select_related("proposal")
    agreement = next(a for a in agreement if timezone.localdate(a.created_at) >= a.effective_from)
    history = agreement.initiative.history.order_by("history_date")
    applied = history.get(history_date=agreement.created_at)
    assert applied.marketing_share_pct == agreement.marketing_share_pct
    assert history.filter(history_date__lt=agreement.created_at).last().marketing_share_pct == Decimal(
        agreement.proposal.previous_values["marketing_share_pct"]
    )


# --- closed months and settlements -------------------------------------------------------------


def test_months_are_locked_up_to_two_months_ago_and_frozen(seeded):
    window = [add_months(current_month(), offset) for offset in range(1 - HISTORY["months"], 1)]
    locks = {lock.month: lock for lock in PeriodLock.objects.select_related("locked_by")}
    assert sorted(locks) == window[:-2]  # the last month's close is still running; this month is open
    now = timezone.now()
    for month, lock in locks.items():
        assert lock.reason == f"{month:%B %Y} close completed"
        assert lock.locked_by.username == "finance"
        assert add_months(month, 1) <= timezone.localdate(lock.locked_at) and lock.locked_at <= now
        entry = lock.history.get()
        assert (entry.history_type, entry.history_user_id, entry.history_date) == (
            "+",
            lock.locked_by_id,
            lock.locked_at,
        )
    # Every locked month is frozen: its closed month, with its rows marked closed and nothing else in it.
    closed = {closed.month: closed for closed in ClosedMonth.objects.select_related("lock")}
    assert sorted(closed) == sorted(locks)
    for month, closed_month in closed.items():
        assert closed_month.lock.month == month
        assert closed_month.frozen_at == locks[month].locked_at
        rows = SplitRow.objects.filter(month=month)
        assert rows.exists() and not rows.filter(closed=False).exists()
        assert closed_month.row_count == rows.count()
    assert not SplitRow.objects.filter(closed=True, month__gt=window[-3]).exists()


def test_older_quarters_are_settled_and_the_latest_closed_one_is_outstanding(seeded):
    closed = sorted(ClosedMonth.objects.values_list("month", flat=True))
    whole_quarters = settleable_quarters(closed)
    settlements = list(Settlement.objects.order_by("first_month"))
    assert settlements and len(settlements) == len(whole_quarters) - 1
    now = timezone.now()
    for settlement, (year, quarter, months) in zip(settlements, whole_quarters, strict=False):
        assert settlement.status == SettlementStatus.ACTIVE
        assert settlement.reference == settlement_reference(year, quarter) == f"ERP-TU-FY{year}-Q{quarter}"
        assert settlement.created_by.username == "finance"
        assert PeriodLock.objects.get(month=months[-1]).locked_at < settlement.created_at <= now
        assert sorted(settlement.settled_months.values_list("month", flat=True)) == months
        frozen = SplitRow.objects.filter(month__in=months, closed=True)
        assert settlement.amount == sum(row.true_up for row in frozen)
        entry = settlement.history.get()
        assert (entry.history_type, entry.history_date) == ("+", settlement.created_at)
    # The latest closed quarter waits (closed, not settled), and so do the closed months after it.
    assert [months for _, _, months in settleable_quarters()] == [whole_quarters[-1][2]]
    assert closed[-1] >= whole_quarters[-1][2][-1]


def test_the_demo_true_up_is_settled_outstanding_and_accruing(seeded):
    call_command("recompute_split", stdout=io.StringIO())  # as `make run` does after seeding

    states = true_up_states()

    assert states["settled"] and states["outstanding"] and states["accruing"]
    assert states["settled"] + states["outstanding"] + states["accruing"] == states["total"]


def test_the_same_seed_gives_the_same_history(db):
    seed_history()
    first = history_digest()
    assert Settlement.objects.exists() and CoFundingAgreement.objects.filter(proposal__isnull=False).exists()
    delete_generated_data()

    seed_history()

    assert history_digest() == first


def test_an_empty_portfolio_closes_no_books(db):
    seed_history(initiatives=0, expenses=0)
    assert not PeriodLock.objects.exists() and not Settlement.objects.exists()


# --- the pure choices ---------------------------------------------------------------------------


def test_closed_months_stop_two_months_before_the_current_one_and_skip_locked_ones():
    months = [dt.date(2026, month, 1) for month in range(1, 13)]
    assert closed_months(months, today=dt.date(2026, 12, 7), locked=frozenset()) == months[:10]
    assert closed_months(months, today=dt.date(2026, 12, 31), locked=frozenset({months[3]})) == [
        month for month in months[:10] if month != months[3]
    ]
    # --open-months 6 (the bench leaves 12 of 24 open): the six latest months stay open.
    assert closed_months(months, today=dt.date(2026, 12, 7), locked=frozenset(), open_months=6) == months[:6]


def test_the_command_leaves_the_months_it_is_told_open(db):
    call_command(
        "seed_demo",
        "--initiatives",
        "8",
        "--expenses",
        "80",
        "--months",
        "6",
        "--open-months",
        "4",
        stdout=io.StringIO(),
    )
    closed = sorted(ClosedMonth.objects.values_list("month", flat=True))
    this_month = month_start(timezone.localdate())
    assert closed == [add_months(this_month, -5), add_months(this_month, -4)]
    with pytest.raises(CommandError, match="--open-months"):
        call_command("seed_demo", "--open-months", "0", stdout=io.StringIO())


@pytest.mark.parametrize(
    ("start_month", "closed_through", "settled_references"),
    [
        (1, dt.date(2026, 10, 1), ["ERP-TU-FY2025-Q3", "ERP-TU-FY2025-Q4", "ERP-TU-FY2026-Q1", "ERP-TU-FY2026-Q2"]),
        (7, dt.date(2026, 10, 1), ["ERP-TU-FY2026-Q1", "ERP-TU-FY2026-Q2", "ERP-TU-FY2026-Q3", "ERP-TU-FY2026-Q4"]),
        (1, dt.date(2026, 9, 1), ["ERP-TU-FY2025-Q3", "ERP-TU-FY2025-Q4", "ERP-TU-FY2026-Q1", "ERP-TU-FY2026-Q2"]),
        (1, dt.date(2026, 8, 1), ["ERP-TU-FY2025-Q3", "ERP-TU-FY2025-Q4", "ERP-TU-FY2026-Q1"]),
        (1, dt.date(2025, 12, 1), ["ERP-TU-FY2025-Q3"]),
        (1, dt.date(2025, 11, 1), []),
    ],
)
def test_every_whole_closed_quarter_but_the_latest_is_settled(start_month, closed_through, settled_references):
    # Closed from July 2025 (the first seeded month) through `closed_through`.
    seeded = [add_months(dt.date(2025, 7, 1), n) for n in range(24)]
    closed = [month for month in seeded if month <= closed_through]
    with override_settings(FISCAL_YEAR_START_MONTH=start_month):
        quarters = quarters_to_settle(settleable_quarters(closed))
    assert [settlement_reference(year, quarter) for year, quarter, _ in quarters] == settled_references
