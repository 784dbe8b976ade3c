"""seed_demo: demo logins for every role, believable data, reproducible by seed (PRODUCT.md §4)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets.models import BudgetLine, Expense, FxRate, PeriodLock
from demo import bulk, history
from demo.finance import convert_cents
from demo.initiatives import initiative_plans
from demo.people import DEMO_PASSWORD, DEMO_USERS, demo_users_ensure
from demo.timelines import demo_timelines
from initiatives.choices import Action, Lane, Role, Side, Status
from initiatives.lane_assessment import assess_lane
from initiatives.models import CodeSequence, CoFundingAgreement, Initiative, InitiativeTransition
from portfolio.fiscal import add_months, month_start
from portfolio.money import round_half_up
from split.models import ClosedMonth, Settlement, SplitRow
from tests.factories import InitiativeFactory, PeriodLockFactory

SMALL = {"initiatives": 30, "expenses": 400, "months": 6, "seed": 7}


def seed(**options) -> str:
    """Run the command at test scale; returns what it printed."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO(), **{**SMALL, **options})
    return out.getvalue()


def window_months(count: int = SMALL["months"]) -> list[dt.date]:
    current = month_start(timezone.localdate())
    return [add_months(current, offset) for offset in range(1 - count, 1)]


def portfolio_digest() -> str:
    """A fingerprint of everything the seed generates, independent of database ids."""
    digest = hashlib.sha256()
    querysets = (
        Initiative.objects.order_by("code").values_list(
            "code",
            "title",
            "summary",
            "lane",
            "status",
            "start_date",
            "end_date",
            "marketing_share_pct",
            "health",
            "owner__username",
            "marketing_sponsor__username",
            "it_sponsor__username",
            "lane_recommended",
            "lane_justification",
        ),
        Initiative.platforms.through.objects.order_by("from_initiative__code", "to_initiative__code").values_list(
            "from_initiative__code", "to_initiative__code"
        ),
        BudgetLine.objects.order_by("initiative__code", "month", "category").values_list(
            "initiative__code", "month", "category", "amount"
        ),
        Expense.objects.order_by("external_ref").values_list(
            "external_ref",
            "initiative__code",
            "incurred_on",
            "amount",
            "currency",
            "amount_reporting",
            "paid_by",
            "category",
            "vendor",
            "description",
        ),
        FxRate.objects.order_by("currency", "month").values_list("currency", "month", "rate"),
    )
    for queryset in querysets:
        for row in queryset:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def delete_generated_data() -> None:
    """Back to a fresh database (demo users stay), including the code sequence."""
    # The closed books first: a settlement holds its months, a closed month its lock and rows.
    Settlement.objects.all().delete()
    ClosedMonth.objects.all().delete()
    SplitRow.objects.all().delete()
    PeriodLock.objects.all().delete()
    Expense.objects.all().delete()
    BudgetLine.objects.all().delete()
    Initiative.platforms.through.objects.all().delete()
    Initiative.objects.all().delete()
    FxRate.objects.all().delete()
    CodeSequence.objects.filter(name="initiative").update(last_value=0)


@pytest.fixture
def seeded(db) -> str:
    return seed()


def test_seed_creates_the_requested_counts(seeded):
    assert Initiative.objects.count() == 30
    assert Expense.objects.count() == 400
    assert BudgetLine.objects.exists()
    assert FxRate.objects.count() == 3 * 6  # EUR, GBP, JPY for every month
    assert sorted(Initiative.objects.values_list("code", flat=True)) == [f"INI-{n:04d}" for n in range(1, 31)]
    assert "initiatives" in seeded and "Done in" in seeded


def test_every_demo_user_has_role_side_and_can_log_in(seeded, client):
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert list(user.groups.values_list("name", flat=True)) == [spec.role]
        assert user.profile.side == spec.side
        assert user.get_full_name()
        assert client.login(username=spec.username, password=DEMO_PASSWORD), spec.username
        assert spec.username in seeded
    roles_and_sides = {(spec.role, spec.side) for spec in DEMO_USERS}
    for side in Side.values:
        assert (Role.PM, side) in roles_and_sides
        assert (Role.EXECUTIVE, side) in roles_and_sides
    assert {Role.FINANCE, Role.ADMIN} <= {spec.role for spec in DEMO_USERS}
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(username="cmo").is_staff
    assert DEMO_PASSWORD in seeded


def test_demo_users_are_ensured_idempotently(db):
    demo_users_ensure()
    user = User.objects.get(username="cio")
    user.set_password("changed-by-someone")
    user.save()
    user.groups.clear()

    demo_users_ensure()

    assert User.objects.filter(username__in=[spec.username for spec in DEMO_USERS]).count() == len(DEMO_USERS)
    user.refresh_from_db()
    assert user.check_password(DEMO_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [Role.EXECUTIVE]


def test_both_lanes_and_every_status_are_present(seeded):
    assert set(Initiative.objects.values_list("lane", flat=True)) == set(Lane.values)
    assert set(Initiative.objects.values_list("status", flat=True)) == set(Status.values)


def test_initiatives_are_plausible(seeded):
    for initiative in Initiative.objects.prefetch_related("platforms"):
        assert initiative.end_date >= initiative.start_date
        assert Decimal(0) <= initiative.marketing_share_pct <= Decimal(100)
        assert initiative.marketing_share_pct == initiative.marketing_share_pct.quantize(Decimal("0.01"))
        assert initiative.title and initiative.summary.endswith(".")
        assert initiative.lane_recommended in Lane.values
        # The answers are the filing form's, and the stored recommendation is what they yield.
        assert assess_lane(initiative.lane_assessment).recommended == initiative.lane_recommended
        # A justification is written exactly when the PM overrode the recommendation.
        assert bool(initiative.lane_justification) == (initiative.lane_recommended != initiative.lane)
        assert initiative.owner.groups.filter(name=Role.PM).exists()
        assert initiative.marketing_sponsor.profile.side == Side.MARKETING
        assert initiative.it_sponsor.profile.side == Side.IT
        platforms = list(initiative.platforms.all())
        if initiative.lane == Lane.CORE_STACK:
            assert platforms == []
        assert len(platforms) <= 3
        assert all(platform.lane == Lane.CORE_STACK for platform in platforms)
    assert Initiative.platforms.through.objects.exists()


def test_budget_lines_are_first_of_month_non_negative_and_in_the_window(seeded):
    months = set(window_months())
    for line in BudgetLine.objects.select_related("initiative"):
        assert line.month in months
        assert line.amount >= 0
        assert month_start(line.initiative.start_date) <= line.month <= month_start(line.initiative.end_date)


def test_expenses_convert_at_the_month_rate_half_up(seeded):
    rates = {(rate.currency, rate.month): rate.rate for rate in FxRate.objects.all()}
    expenses = list(Expense.objects.select_related("initiative"))
    for expense in expenses:
        rate = Decimal(1) if expense.currency == "USD" else rates[expense.currency, month_start(expense.incurred_on)]
        assert expense.amount_reporting == round_half_up(expense.amount * rate)
        assert expense.amount != 0
        assert expense.source == "erp"
        assert expense.initiative.status in {Status.APPROVED, Status.IN_PROGRESS, Status.DONE, Status.CANCELLED}
        assert expense.initiative.start_date <= expense.incurred_on <= expense.initiative.end_date
        assert window_months()[0] <= expense.incurred_on <= timezone.localdate()
        assert expense.vendor and expense.description
    assert {expense.currency for expense in expenses} == {"USD", "EUR", "GBP", "JPY"}
    assert {expense.paid_by for expense in expenses} == {"marketing", "it"}
    assert any(expense.amount < 0 for expense in expenses)
    assert sum(expense.currency == "USD" for expense in expenses) > len(expenses) / 2
    refs = [expense.external_ref for expense in expenses]
    assert len(set(refs)) == len(refs)
    assert all(ref.startswith("ERP-") and len(ref) == 13 for ref in refs)


def test_same_seed_gives_the_same_data_and_another_seed_does_not(db):
    seed()
    first = portfolio_digest()
    delete_generated_data()
    seed()
    assert portfolio_digest() == first

    delete_generated_data()
    seed(seed=8)
    assert portfolio_digest() != first


def test_if_empty_creates_nothing_when_initiatives_exist(db):
    InitiativeFactory()

    output = seed(if_empty=True)

    assert Initiative.objects.count() == 1
    assert not Expense.objects.exists()
    assert not BudgetLine.objects.exists()
    assert not FxRate.objects.exists()
    assert User.objects.filter(username="pm.it").exists()
    assert "pm.it" in output and DEMO_PASSWORD in output


def test_if_empty_seeds_an_empty_database(db):
    seed(if_empty=True)
    assert Initiative.objects.count() == 30


def test_seeding_again_adds_more_without_colliding(db):
    seed()
    FxRate.objects.filter(currency="EUR").update(rate=Decimal("1.50000000"))

    seed(seed=8)

    assert Initiative.objects.count() == 60
    assert Expense.objects.count() == 800
    assert Expense.objects.values("external_ref").distinct().count() == 800
    assert FxRate.objects.count() == 18  # existing rates kept, none duplicated
    # The second run converts at the rates it found stored, not the ones it generated.
    second_run_eur = list(Expense.objects.filter(external_ref__gt="ERP-000000400", currency="EUR"))
    assert second_run_eur
    for expense in second_run_eur:
        assert expense.amount_reporting == round_half_up(expense.amount * Decimal("1.5"))


def test_locked_months_get_no_budget_lines_or_expenses(db, finance):
    locked = window_months()[-2]
    PeriodLockFactory(month=locked, locked_by=finance)

    output = seed()

    assert not BudgetLine.objects.filter(month=locked).exists()
    assert not Expense.objects.filter(incurred_on__gte=locked, incurred_on__lt=add_months(locked, 1)).exists()
    assert Expense.objects.count() == 400
    assert f"{locked:%Y-%m}" in output


@pytest.mark.parametrize("options", [{"months": 0}, {"initiatives": -1}, {"expenses": -5}])
def test_invalid_options_are_refused(db, options):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        seed(**options)


@given(amount_cents=st.integers(-(10**12), 10**12), rate_scaled=st.integers(1, 10**10))
def test_integer_conversion_equals_decimal_half_up(amount_cents, rate_scaled):
    amount = Decimal(amount_cents).scaleb(-2)
    rate = Decimal(rate_scaled).scaleb(-8)
    assert Decimal(convert_cents(amount_cents, rate_scaled)).scaleb(-2) == round_half_up(amount * rate)


def _table_definitions(table: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass",  # noqa: E501
            [table],
        )
        definitions = set(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass", [table]
        )
        return definitions | set(cursor.fetchall())


@pytest.mark.postgres
def test_postgresql_bulk_load_restores_every_index_and_constraint(db, monkeypatch):
    # Make a small load take the big-load path: drop plain indexes and foreign keys, COPY, rebuild.
    monkeypatch.setattr(bulk, "SUSPEND_INDEXES_MIN_ROWS", 10)
    records = (Initiative, InitiativeTransition, CoFundingAgreement, BudgetLine, Expense)
    tables = [model._meta.db_table for model in (*records, *history.HISTORY_MODELS)]
    before = {table: _table_definitions(table) for table in tables}

    seed()

    assert {table: _table_definitions(table) for table in tables} == before
    assert Expense.objects.count() == 400
    # The rebuilt foreign key still guards the table.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        Expense.objects.filter(pk=Expense.objects.first().pk).update(initiative_id=10**9)


@pytest.mark.django_db
def test_every_demo_initiative_has_the_timeline_its_status_implies():
    call_command("seed_demo", initiatives=40, expenses=200, months=12, seed=5, stdout=io.StringIO())
    for initiative in Initiative.objects.prefetch_related("transitions"):
        timeline = sorted(initiative.transitions.all(), key=lambda t: t.at)
        assert timeline[0].action == "create"
        assert timeline[-1].to_status == initiative.status
        # Cancelled work that had been approved keeps its sign-offs, as the workflow does.
        signed_off = any(t.to_status == Status.APPROVED for t in timeline)
        if initiative.status in (Status.APPROVED, Status.IN_PROGRESS, Status.DONE):
            assert signed_off
        if initiative.status in (Status.DRAFT, Status.SUBMITTED, Status.REJECTED):
            assert not signed_off
        assert (initiative.marketing_approved_at is not None) == signed_off
        assert (initiative.it_approved_at is not None) == signed_off


def assert_workflow_path(statuses: list[tuple[str, str]], status: str) -> None:
    """(from_status, to_status) pairs in time order are one walk of the workflow, ending at `status`."""
    assert statuses[0] == ("", Status.DRAFT)
    for (_, before), (after_from, _) in itertools.pairwise(statuses):
        assert after_from == before
    assert statuses[-1][1] == status


@pytest.mark.django_db
def test_demo_history_is_in_the_past_and_in_workflow_order():
    # What an executive reads on a detail page: "Filed" (created_at), the timeline, the sign-offs.
    call_command("seed_demo", initiatives=60, expenses=500, months=12, seed=11, stdout=io.StringIO())
    now = timezone.now()

    assert not InitiativeTransition.objects.filter(at__gt=now).exists()
    for field in ("created_at", "updated_at", "marketing_approved_at", "it_approved_at"):
        assert not Initiative.objects.filter(**{f"{field}__gt": now}).exists(), field
    for model in (Initiative, BudgetLine, Expense, FxRate):  # the seeded history too
        assert not model.history.filter(history_date__gt=now).exists(), model

    initiatives = Initiative.objects.prefetch_related("transitions")
    assert len(initiatives) == 60
    for initiative in initiatives:
        timeline = sorted(initiative.transitions.all(), key=lambda t: (t.at, t.pk))
        times = [t.at for t in timeline]
        assert len(set(times)) == len(times), initiative.code  # no two events at the same instant
        # Read in time order, the events are one walk of the workflow: filed ≤ submitted ≤ approved
        # (both sponsors) ≤ started ≤ done or cancelled; rejected or cancelled after submitted.
        assert_workflow_path([(t.from_status, t.to_status) for t in timeline], initiative.status)
        at = {t.action: t.at for t in timeline}
        assert [t.action for t in timeline].count(Action.CREATE) == 1
        assert initiative.created_at == at[Action.CREATE], initiative.code  # the "Filed" date
        assert initiative.updated_at == times[-1], initiative.code
        approvals = {t.by_id: t.at for t in timeline if t.action == Action.APPROVE}
        if initiative.marketing_approved_at:
            assert initiative.marketing_approved_at == approvals[initiative.marketing_sponsor_id]
            assert initiative.it_approved_at == approvals[initiative.it_sponsor_id]
            assert at[Action.SUBMIT] < min(approvals.values())
            assert max(approvals.values()) < at.get(Action.START, now)
        if Action.START in at:
            assert timezone.localdate(at[Action.START]) == initiative.start_date
            assert timezone.localdate(max(approvals.values())) < initiative.start_date
        if initiative.status == Status.DONE:
            assert timezone.localdate(at[Action.COMPLETE]) == initiative.end_date
    # Work that starts later was filed, and maybe approved, in the past (checked above): the demo has some.
    assert Initiative.objects.filter(start_date__gt=timezone.localdate(), it_approved_at__isnull=False).exists()


@pytest.mark.django_db
def test_demo_actuals_fall_between_start_and_cancellation():
    call_command("seed_demo", initiatives=60, expenses=500, months=12, seed=11, stdout=io.StringIO())
    cancelled = Initiative.objects.filter(status=Status.CANCELLED, expenses__isnull=False).distinct()
    assert cancelled.exists()
    for initiative in cancelled:
        at = {t.action: t.at for t in initiative.transitions.all()}
        assert Action.START in at, initiative.code  # money is spent on approved, started work
        last_spent = initiative.expenses.order_by("-incurred_on").values_list("incurred_on", flat=True).first()
        assert timezone.localdate(at[Action.START]) <= last_spent <= timezone.localdate(at[Action.CANCEL])


@settings(max_examples=40, deadline=None)
@given(
    seed_value=st.integers(0, 2**32),
    minute_of_day=st.integers(0, 24 * 60 - 1),
    zone=st.sampled_from(["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Asia/Kolkata"]),
)
def test_demo_timelines_never_run_past_now(seed_value, minute_of_day, zone):
    # Whatever the hour and time zone of the seeding, even events due today stay at or before now.
    with timezone.override(ZoneInfo(zone)):
        now = dt.datetime.combine(dt.date(2026, 12, 5), dt.time(), ZoneInfo(zone)) + dt.timedelta(minutes=minute_of_day)
        today = timezone.localdate(now)
        rng = random.Random(seed_value)
        plans = initiative_plans(
            rng,
            count=30,
            today=today,
            window_start=add_months(month_start(today), -11),
            pm_ids=[1, 2],
            marketing_sponsor_ids=[3],
            it_sponsor_ids=[4],
        )
        timelines = demo_timelines(rng, plans, now=now)
    for plan, timeline in zip(plans, timelines, strict=True):
        times = [event.at for event in timeline.events]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[-1] <= now
        assert_workflow_path([(event.from_status, event.to_status) for event in timeline.events], plan.status)
        assert timeline.filed_at == times[0] and timeline.last_event_at == times[-1]
        if timeline.marketing_approved_at:
            assert times[1] < min(timeline.marketing_approved_at, timeline.it_approved_at)


# --- the history the app would have written (issue 14: a fresh demo's audit log was empty) ---------


@pytest.mark.django_db
def test_every_seeded_record_has_the_history_the_app_would_have_written():
    call_command("seed_demo", initiatives=40, expenses=300, months=12, seed=5, stdout=io.StringIO())
    now = timezone.now()
    finance = User.objects.get(username="finance")

    # Initiatives: one entry per timeline event, by whoever acted, with the status of the moment.
    initiative_history = Initiative.history.model.objects.order_by("history_date", "history_id")
    platform_history = Initiative.history.model.platforms.model.objects.all()
    for initiative in Initiative.objects.prefetch_related("transitions", "platforms"):
        records = list(initiative_history.filter(id=initiative.pk))
        # A share change's proposal and first approval leave the initiative as it was; its application does not.
        timeline = sorted(
            (t for t in initiative.transitions.all() if t.action not in history.HISTORYLESS_ACTIONS),
            key=lambda t: (t.at, t.pk),
        )
        assert [(r.history_type, r.status, r.history_user_id, r.history_date) for r in records] == [
            ("+" if t.action == Action.CREATE else "~", t.to_status, t.by_id, t.at) for t in timeline
        ], initiative.code
        assert records[0].history_user_id == initiative.owner_id
        assert records[0].marketing_approved_at is None and records[0].it_approved_at is None
        latest = records[-1]
        assert (latest.title, latest.lane, latest.marketing_approved_at, latest.it_approved_at) == (
            initiative.title,
            initiative.lane,
            initiative.marketing_approved_at,
            initiative.it_approved_at,
        )
        platforms = {p.pk for p in initiative.platforms.all()}
        for record in records:  # simple_history keeps the links of every entry
            linked = platform_history.filter(history_id=record.history_id).values_list("to_initiative_id", flat=True)
            assert set(linked) == platforms

    # Budget lines: created by finance in the grid, after the sponsors signed off.
    lines = {line.pk: line for line in BudgetLine.objects.select_related("initiative")}
    entries = list(BudgetLine.history.all())
    assert lines and sorted(entry.id for entry in entries) == sorted(lines)
    for entry in entries:
        line = lines[entry.id]
        assert (entry.history_type, entry.history_user_id, entry.amount) == ("+", finance.pk, line.amount)
        assert entry.history_change_reason.startswith("Budget grid FY")
        signed_off = line.initiative.it_approved_at
        assert (signed_off or line.initiative.created_at) < entry.history_date <= now

    # ERP expenses: created by finance's nightly import, the morning after their posting day.
    expenses = {expense.pk: expense for expense in Expense.objects.all()}
    entries = list(Expense.history.all())
    assert len(entries) == len(expenses) == 300
    for entry in entries:
        expense = expenses[entry.id]
        assert (entry.history_type, entry.history_user_id) == ("+", finance.pk)
        assert entry.history_date == expense.created_at == entry.created_at <= now
        imported_on = timezone.localdate(entry.history_date)
        assert imported_on == expense.incurred_on + dt.timedelta(days=1) or imported_on == timezone.localdate()
        assert entry.history_change_reason == f"Import of erp-actuals-{expense.incurred_on:%Y-%m-%d}.csv"

    # FX rates: imported by finance on the first morning of their month.
    rates = FxRate.objects.all()
    assert rates and FxRate.history.count() == len(rates)
    for entry in FxRate.history.all():
        assert (entry.history_type, entry.history_user_id) == ("+", finance.pk)
        assert timezone.localdate(entry.history_date) == entry.month or entry.history_date <= now

    # What people read: the finance audit log and an initiative's change history.
    from budgets.selectors import audit_log
    from initiatives.selectors import initiative_history as change_history

    page = audit_log()
    assert len(page.entries) == 50 and page.has_next
    # Finance's records, and the co-funding agreements the sponsors signed.
    users = {entry.user for entry in page.entries}
    assert finance in users
    assert all(user == finance or user.groups.filter(name=Role.EXECUTIVE).exists() for user in users)
    submitted = Initiative.objects.filter(status=Status.SUBMITTED).first()
    changes = [change for entry in change_history(initiative=submitted) for change in entry.changes]
    assert ("Status", "Draft", "Submitted") in changes


@pytest.mark.django_db
def test_seeding_the_history_takes_as_many_statements_at_any_size():
    # Bulk, never a save per record: the statements that write history do not grow with the data.
    def history_statements(**options) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            seed(**options)
        return [query["sql"] for query in queries if "historical" in query["sql"].lower()]

    small = history_statements(initiatives=10, expenses=50)
    delete_generated_data()
    large = history_statements(initiatives=80, expenses=1500)
    assert Expense.history.filter(history_type="+").count() == 50 + 1500  # (the deletion added "-" entries)
    # fx rates, initiatives, their platforms, agreements, budget lines, expenses, locks, the closed
    # months' and settlements' dates (read, then one bulk update each), and one entry per month
    # split.closing freezes (4 of the 6 months): a number of months, never of records.
    assert 0 < len(large) == len(small) <= 16


def test_seeded_estimates_are_believable_near_the_plan_some_over_some_under(db):
    """Every initiative past draft has an estimate (it was submitted with one), to the nearest thousand; where
    the seed plans the whole initiative (done inside the window), the estimate is its plan −20 % to +25 %,
    give or take the ±15 % of the monthly lines."""
    call_command("seed_demo", initiatives=200, expenses=1000, months=24, seed=3, stdout=io.StringIO())
    initiatives = list(Initiative.objects.annotate(plan=Sum("budget_lines__amount")))
    assert all(i.estimated_cost is not None for i in initiatives if i.status != Status.DRAFT)
    drafts = [i for i in initiatives if i.status == Status.DRAFT]
    assert any(i.estimated_cost is None for i in drafts) and any(i.estimated_cost for i in drafts)
    assert all(i.estimated_cost % 1000 == 0 and i.estimated_cost >= 1000 for i in initiatives if i.estimated_cost)
    window = set(window_months(24))
    whole = [
        i
        for i in initiatives
        if i.status == Status.DONE and month_start(i.start_date) in window and i.plan and i.estimated_cost
    ]
    assert len(whole) >= 5
    ratios = [i.estimated_cost / i.plan for i in whole]
    assert all(Decimal("0.69") <= ratio <= Decimal("1.48") for ratio in ratios), ratios
    assert any(ratio > 1 for ratio in ratios) and any(ratio < 1 for ratio in ratios)
