"""The spend-split engine (PRODUCT.md §3): the table it writes, the runs it records, its safety."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from budgets.models import BudgetLine, Expense
from initiatives.models import Initiative
from split import locks, rebuild
from split.arithmetic import SPLIT_AMOUNT_COLUMNS
from split.models import SplitHistory, SplitRow, SplitRun
from split.services import (
    INTERRUPTED_REASON,
    SKIPPED_REASON,
    SUPERSEDED_NOTE,
    SplitLockTimeout,
    split_recompute,
)
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory, UserFactory
from tests.split import split_lock

pytestmark = pytest.mark.django_db
lock_held_elsewhere = split_lock.lock_held_elsewhere
released_while_waiting = split_lock.released_while_waiting
D = Decimal
JAN = dt.date(2026, 1, 1)
ROW_FIELDS = ("initiative_id", "month", "fiscal_year", "fiscal_quarter", "initiative_code", "initiative_title")
ROW_FIELDS += ("lane", "status", "marketing_share_pct", *SPLIT_AMOUNT_COLUMNS)


def table() -> list[dict]:
    """The split table as plain dicts, in a stable order (ids excluded: they change every run)."""
    return list(SplitRow.objects.order_by("initiative_id", "month").values(*ROW_FIELDS))


@pytest.fixture
def worked_example():
    """The worked example of the issue: share 60 %, one month of budget lines and expenses."""
    initiative = InitiativeFactory(marketing_share_pct=D("60.00"), status="in_progress", lane="core_stack")
    BudgetLineFactory(initiative=initiative, month=JAN, category="labor", amount=D("1000.00"))
    BudgetLineFactory(initiative=initiative, month=JAN, category="software", amount=D("333.33"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 5), amount=D("500.00"), paid_by="it")
    ExpenseFactory(
        initiative=initiative,
        incurred_on=dt.date(2026, 1, 20),
        amount=D("200.00"),
        currency="EUR",
        amount_reporting=D("220.00"),  # 200.00 EUR at 1.10
        paid_by="marketing",
    )
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 31), amount=D("-50.00"), paid_by="it")
    return initiative


# --- the table -------------------------------------------------------------------


def test_worked_example_to_the_cent(worked_example):
    run = split_recompute(trigger="command")

    assert run.status == "succeeded"
    [row] = table()
    assert row == {
        "initiative_id": worked_example.pk,
        "month": JAN,
        "fiscal_year": 2026,
        "fiscal_quarter": 1,
        "initiative_code": worked_example.code,
        "initiative_title": worked_example.title,
        "lane": "core_stack",
        "status": "in_progress",
        "marketing_share_pct": D("60.00"),
        "planned_total": D("1333.33"),
        "planned_marketing": D("800.00"),
        "planned_it": D("533.33"),
        "actual_total": D("670.00"),
        "actual_marketing": D("402.00"),
        "actual_it": D("268.00"),
        "paid_marketing": D("220.00"),
        "paid_it": D("450.00"),
        "true_up": D("182.00"),
        "variance": D("663.33"),
    }


def test_a_row_for_every_initiative_month_with_a_budget_line_or_an_expense_whatever_the_status():
    planned_only = InitiativeFactory(status="draft")
    spent_only = InitiativeFactory(status="cancelled", marketing_share_pct=D("33.33"))
    InitiativeFactory(status="approved")  # neither: no row
    BudgetLineFactory(initiative=planned_only, month=dt.date(2026, 3, 1), amount=D("10.00"))
    ExpenseFactory(initiative=spent_only, incurred_on=dt.date(2026, 2, 28), amount=D("0.01"), paid_by="marketing")
    ExpenseFactory(initiative=spent_only, incurred_on=dt.date(2026, 3, 1), amount=D("100.00"), paid_by="it")

    split_recompute(trigger="command")

    rows = {(r["initiative_id"], r["month"]): r for r in table()}
    assert set(rows) == {
        (planned_only.pk, dt.date(2026, 3, 1)),
        (spent_only.pk, dt.date(2026, 2, 1)),
        (spent_only.pk, dt.date(2026, 3, 1)),
    }
    only_budget = rows[(planned_only.pk, dt.date(2026, 3, 1))]
    assert (only_budget["status"], only_budget["actual_total"], only_budget["variance"]) == ("draft", 0, D("10.00"))
    one_cent = rows[(spent_only.pk, dt.date(2026, 2, 1))]
    # 0.01 × 33.33 % = 0.003333 → 0.00 for marketing; IT bears the cent; marketing paid it, so IT owes 0.01
    assert (one_cent["actual_marketing"], one_cent["actual_it"], one_cent["true_up"]) == (0, D("0.01"), D("-0.01"))
    assert rows[(spent_only.pk, dt.date(2026, 3, 1))]["actual_marketing"] == D("33.33")


def test_credits_can_make_a_month_negative_and_round_away_from_zero():
    initiative = InitiativeFactory(marketing_share_pct=D("50.00"))
    ExpenseFactory(initiative=initiative, incurred_on=JAN, amount=D("-0.01"), paid_by="it")

    split_recompute(trigger="command")

    [row] = table()
    assert (row["actual_total"], row["actual_marketing"], row["actual_it"]) == (D("-0.01"), D("-0.01"), 0)
    assert row["true_up"] == D("-0.01")


def test_fiscal_year_and_quarter_with_a_july_start(settings):
    settings.FISCAL_YEAR_START_MONTH = 7
    initiative = InitiativeFactory()
    for month in (dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 10, 1), dt.date(2027, 1, 1)):
        BudgetLineFactory(initiative=initiative, month=month)

    split_recompute(trigger="command")

    fiscal = {r["month"]: (r["fiscal_year"], r["fiscal_quarter"]) for r in table()}
    assert fiscal == {
        dt.date(2026, 6, 1): (2026, 4),  # June 2026 closes FY2026
        dt.date(2026, 7, 1): (2027, 1),  # July 2026 – June 2027 is FY2027
        dt.date(2026, 10, 1): (2027, 2),
        dt.date(2027, 1, 1): (2027, 3),
    }


def test_running_twice_gives_the_same_table(worked_example):
    BudgetLineFactory(initiative=InitiativeFactory(marketing_share_pct=D("12.35")), amount=D("0.10"))
    split_recompute(trigger="command")
    first = table()

    split_recompute(trigger="command")

    assert table() == first
    assert SplitRun.objects.filter(status="succeeded").count() == 2


def test_recompute_replaces_the_whole_table(worked_example):
    split_recompute(trigger="command")
    Expense.objects.filter(initiative=worked_example).delete()
    BudgetLine.objects.filter(initiative=worked_example, category="software").delete()
    other = BudgetLineFactory(month=dt.date(2026, 2, 1))

    split_recompute(trigger="command")

    rows = table()
    assert [(r["initiative_id"], r["actual_total"], r["planned_total"]) for r in rows] == [
        (worked_example.pk, 0, D("1000.00")),
        (other.initiative_id, 0, D("1000.00")),
    ]


def test_the_run_records_as_of_duration_row_count_and_outcome(worked_example, finance):
    before = dt.datetime.now(dt.UTC)
    run = split_recompute(trigger="command", by=finance)

    assert run.status == "succeeded"
    assert run.row_count == 1
    assert run.duration_ms is not None and run.duration_ms >= 0
    assert before <= run.started_at <= run.finished_at
    assert (run.trigger, run.requested_by, run.error) == ("command", finance, "")


def test_history_keeps_roll_ups_by_lane_and_month(worked_example):
    fast = InitiativeFactory(lane="fast_lane", marketing_share_pct=D("70.00"))
    BudgetLineFactory(initiative=fast, month=JAN, amount=D("100.00"))
    ExpenseFactory(initiative=fast, incurred_on=dt.date(2026, 2, 3), amount=D("80.00"), paid_by="marketing")
    another_fast = InitiativeFactory(lane="fast_lane", marketing_share_pct=D("10.00"))
    BudgetLineFactory(initiative=another_fast, month=JAN, amount=D("0.05"))

    run = split_recompute(trigger="command")

    history = {
        (h.lane, h.month): h
        for h in SplitHistory.objects.filter(run=run)  # one row per lane and month, not per initiative
    }
    assert set(history) == {("core_stack", JAN), ("fast_lane", JAN), ("fast_lane", dt.date(2026, 2, 1))}
    for (lane, month), entry in history.items():
        rows = SplitRow.objects.filter(lane=lane, month=month)
        for column in SPLIT_AMOUNT_COLUMNS:  # every money column, so readers never derive one
            assert getattr(entry, column) == sum(getattr(r, column) for r in rows), column
        assert entry.fiscal_year == 2026
    assert history[("fast_lane", JAN)].planned_marketing == D("70.01")  # 70.00 + round(0.005) = 0.01


def test_each_run_appends_its_own_history(worked_example):
    first = split_recompute(trigger="command")
    second = split_recompute(trigger="command")
    assert SplitHistory.objects.filter(run=first).count() == 1
    assert SplitHistory.objects.filter(run=second).count() == 1


# --- an independent computation from the raw records ------------------------------


def make_portfolio(seed: int, *, initiatives: int = 12, expenses: int = 400) -> None:
    """Random initiatives, budget lines and expenses over three calendar years, from one seed."""
    rng = random.Random(seed)
    owner = UserFactory(username=f"owner{seed}")
    cmo = UserFactory(username=f"cmo{seed}", role="executive")
    cio = UserFactory(username=f"cio{seed}", role="executive", side="it")
    people = {"owner": owner, "marketing_sponsor": cmo, "it_sponsor": cio}
    made = []
    for _ in range(initiatives):
        share = D(rng.choice([0, 10000, 5000, 3333, 6667, 1235, 9999, 1, rng.randint(0, 10000)])) / 100
        made.append(
            InitiativeFactory(
                marketing_share_pct=share,
                lane=rng.choice(["fast_lane", "core_stack"]),
                status=rng.choice(["draft", "approved", "in_progress", "done", "cancelled"]),
                **people,
            )
        )
    months = [dt.date(2025 + i // 12, i % 12 + 1, 1) for i in range(36)]
    lines = {}
    for _ in range(expenses // 2):
        key = (rng.choice(made), rng.choice(months), rng.choice(["labor", "software", "agency", "media"]))
        lines[key] = D(rng.choice([rng.randint(0, 5_000_000), rng.randint(0, 100), 1, 5])) / 100
    BudgetLine.objects.bulk_create(
        BudgetLine(initiative=i, month=m, category=c, amount=amount) for (i, m, c), amount in lines.items()
    )
    rows = []
    for _ in range(expenses):
        month = rng.choice(months)
        day = rng.choice([1, 2, 15, 28]) if month.month == 2 else rng.choice([1, 15, 28, 30])
        cents = rng.choice([rng.randint(1, 2_000_000), rng.randint(1, 99), 1, 5])
        sign = -1 if rng.random() < 0.15 else 1
        amount = sign * D(cents) / 100
        rows.append(
            Expense(
                initiative=rng.choice(made),
                incurred_on=month.replace(day=day),
                amount=amount,
                currency="USD",
                amount_reporting=amount,
                paid_by=rng.choice(["marketing", "it"]),
                category="other",
            )
        )
    Expense.objects.bulk_create(rows)


def expected_split(start_month: int) -> dict[tuple[int, dt.date], dict]:
    """§3 computed here in plain Python from the raw records, without the engine's code."""
    cent = D("0.01")
    sums = defaultdict(lambda: {"planned": D(0), "actual": D(0), "marketing": D(0), "it": D(0)})
    for line in BudgetLine.objects.values("initiative_id", "month", "amount"):
        sums[(line["initiative_id"], line["month"])]["planned"] += line["amount"]
    for expense in Expense.objects.values("initiative_id", "incurred_on", "amount_reporting", "paid_by"):
        entry = sums[(expense["initiative_id"], expense["incurred_on"].replace(day=1))]
        entry["actual"] += expense["amount_reporting"]
        entry["marketing" if expense["paid_by"] == "marketing" else "it"] += expense["amount_reporting"]
    initiatives = {i.pk: i for i in Initiative.objects.all()}
    expected = {}
    for (initiative_id, month), s in sums.items():
        initiative = initiatives[initiative_id]
        share = initiative.marketing_share_pct
        planned_m = (s["planned"] * share / 100).quantize(cent, rounding=ROUND_HALF_UP)
        actual_m = (s["actual"] * share / 100).quantize(cent, rounding=ROUND_HALF_UP)
        expected[(initiative_id, month)] = {
            "fiscal_year": month.year + (1 if start_month > 1 and month.month >= start_month else 0),
            "fiscal_quarter": (month.month - start_month) % 12 // 3 + 1,
            "initiative_code": initiative.code,
            "lane": initiative.lane,
            "status": initiative.status,
            "marketing_share_pct": share,
            "planned_total": s["planned"],
            "planned_marketing": planned_m,
            "planned_it": s["planned"] - planned_m,
            "actual_total": s["actual"],
            "actual_marketing": actual_m,
            "actual_it": s["actual"] - actual_m,
            "paid_marketing": s["marketing"],
            "paid_it": s["it"],
            "true_up": actual_m - s["marketing"],
            "variance": s["planned"] - s["actual"],
        }
    return expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_row_matches_an_independent_computation_to_the_cent(settings, monkeypatch, seed):
    settings.FISCAL_YEAR_START_MONTH = 7
    monkeypatch.setattr(rebuild, "PORTABLE_BATCH", 50)  # SQLite: many fetch-and-insert batches
    make_portfolio(seed)

    run = split_recompute(trigger="command")

    expected = expected_split(start_month=7)
    actual = {(r["initiative_id"], r["month"]): r for r in table()}
    assert run.row_count == len(expected) == len(actual)
    for key, want in expected.items():
        got = {column: actual[key][column] for column in want}
        assert got == want, key


@pytest.mark.postgres
def test_postgresql_sql_and_the_portable_path_agree(settings):
    """The one-statement SQL of PostgreSQL and the Python arithmetic path give the same table."""
    settings.FISCAL_YEAR_START_MONTH = 4
    make_portfolio(7)
    split_recompute(trigger="command")
    in_sql = table()

    with transaction.atomic():
        SplitRow.objects.all().delete()
        count = rebuild._rebuild_portable()

    assert count == len(in_sql)
    assert table() == in_sql


# --- properties over random portfolios --------------------------------------------

money = st.integers(min_value=-(10**9), max_value=10**9).map(lambda cents: D(cents) / 100)
month_index = st.integers(min_value=0, max_value=23)
portfolios = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10_000).map(lambda bp: D(bp) / 100),  # share
        st.sampled_from(["fast_lane", "core_stack"]),
        st.lists(st.tuples(month_index, money.map(abs)), max_size=4),  # budget lines
        st.lists(st.tuples(month_index, money.filter(bool), st.sampled_from(["marketing", "it"])), max_size=6),
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def people(db):
    return {
        "owner": UserFactory(username="prop.owner"),
        "marketing_sponsor": UserFactory(username="prop.cmo", role="executive"),
        "it_sponsor": UserFactory(username="prop.cio", role="executive", side="it"),
    }


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(portfolio=portfolios)
def test_marketing_plus_it_is_total_in_every_row_and_roll_ups_are_sums_of_rows(people, portfolio):
    with transaction.atomic():  # every example starts from an empty portfolio
        check_rows_and_roll_ups(people, portfolio)
        transaction.set_rollback(True)


GROUP_FIELDS = ("lane", "status", "fiscal_year", "fiscal_quarter", "month", "initiative_id")
CATEGORIES = ["labor", "software", "infrastructure", "agency", "media", "other"]


def check_rows_and_roll_ups(people, portfolio):
    from split.selectors import split_summary

    for share, lane, lines, spends in portfolio:
        initiative = InitiativeFactory(marketing_share_pct=share, lane=lane, **people)
        for index, (month, amount) in enumerate(lines):
            m = dt.date(2025 + month // 12, month % 12 + 1, 1)
            BudgetLine.objects.create(initiative=initiative, month=m, category=CATEGORIES[index], amount=amount)
        for month, amount, payer in spends:
            day = dt.date(2025 + month // 12, month % 12 + 1, 9)
            Expense.objects.create(
                initiative=initiative,
                incurred_on=day,
                amount=amount,
                currency="USD",
                amount_reporting=amount,
                paid_by=payer,
                category="other",
            )

    run = split_recompute(trigger="command")

    rows = list(SplitRow.objects.all())
    for row in rows:
        assert row.planned_marketing + row.planned_it == row.planned_total
        assert row.actual_marketing + row.actual_it == row.actual_total
        assert row.paid_marketing + row.paid_it == row.actual_total
    for group_by in ("lane", "fiscal_year", "quarter", "month", None):
        for rollup in split_summary(group_by):
            covered = [r for r in rows if all(getattr(r, k) == rollup[k] for k in rollup if k in GROUP_FIELDS)]
            assert rollup["rows"] == len(covered)
            for column in SPLIT_AMOUNT_COLUMNS:
                assert rollup[column] == sum((getattr(r, column) for r in covered), D(0)), (group_by, column)
            assert rollup["planned_marketing"] + rollup["planned_it"] == rollup["planned_total"]
            assert rollup["actual_marketing"] + rollup["actual_it"] == rollup["actual_total"]
    for entry in SplitHistory.objects.filter(run=run):
        covered = [r for r in rows if (r.lane, r.month) == (entry.lane, entry.month)]
        for column in SPLIT_AMOUNT_COLUMNS:
            assert getattr(entry, column) == sum((getattr(r, column) for r in covered), D(0)), column


# --- bounded work -----------------------------------------------------------------


def test_the_engine_runs_a_fixed_number_of_queries_whatever_the_data_size(worked_example):
    with CaptureQueriesContext(connection) as small:
        split_recompute(trigger="command")
    make_portfolio(5, initiatives=30, expenses=600)  # ~700 rows: still under one insert batch on SQLite
    with CaptureQueriesContext(connection) as large:
        run = split_recompute(trigger="command")

    assert run.row_count > 100
    # The rebuild, then the statistics and the dashboard warm-up (its split figures, the true-up's states,
    # and the live figures: someone who sees the whole portfolio, their roles, four figures).
    assert len(large) == len(small) <= 25
    # and no query reads expense rows one by one
    assert sum("budgets_expense" in q["sql"] for q in large.captured_queries) == 1


@pytest.mark.postgres
def test_a_successful_run_refreshes_the_planner_statistics_of_the_new_table(worked_example):
    """Without it PostgreSQL plans the first reads on the previous (or empty) table's statistics."""
    with CaptureQueriesContext(connection) as queries:
        split_recompute(trigger="command")

    statements = [q["sql"] for q in queries.captured_queries]
    analyze = next(i for i, sql in enumerate(statements) if sql.startswith("ANALYZE budgets_splitrow"))
    finished = next(i for i, sql in enumerate(statements) if "budgets_splitrun" in sql and "succeeded" in sql)
    assert analyze > finished  # on the committed table


def test_a_recompute_warms_the_dashboard_and_a_failing_warm_up_does_not_fail_the_run(
    worked_example, monkeypatch, caplog
):
    warmed = []
    monkeypatch.setattr("dashboard.selectors.dashboard_cache_warm", lambda: warmed.append(True))
    split_recompute(trigger="command")
    assert warmed == [True]

    def unreachable():
        raise ConnectionError("cache server gone")

    monkeypatch.setattr("dashboard.selectors.dashboard_cache_warm", unreachable)
    with caplog.at_level(logging.WARNING, logger="split.services"):
        run = split_recompute(trigger="command")

    assert run.status == "succeeded"
    assert len(table()) == 1
    assert "warm_cache_after_recompute" in caplog.text and "failed after the run" in caplog.text


# --- failures and single flight -----------------------------------------------------


def test_a_failed_run_keeps_the_previous_table_and_records_the_error(worked_example, monkeypatch):
    split_recompute(trigger="command")
    before = table()
    BudgetLineFactory(initiative=worked_example, month=dt.date(2026, 2, 1))

    def crash(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild, "append_history", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        split_recompute(trigger="command")

    assert table() == before  # the half-written new table was rolled back
    failed = SplitRun.objects.order_by("-queued_at").first()
    assert failed.status == "failed"
    assert "RuntimeError: disk full" in failed.error
    assert failed.finished_at is not None


def test_a_run_while_another_holds_the_lock_is_skipped_when_told_not_to_wait(
    worked_example, lock_held_elsewhere, caplog
):
    caplog.set_level(logging.WARNING, logger="split.services")

    run = split_recompute(trigger="command", wait=False)

    assert run.status == "skipped"
    assert run.error == SKIPPED_REASON
    assert SplitRow.objects.count() == 0  # nothing written
    assert "skipped: another recompute holds the lock" in caplog.text


def test_a_run_while_another_holds_the_lock_waits_for_it_then_runs(worked_example, released_while_waiting):
    """Single flight without dropping: the second run starts when the first lets go of the lock."""
    waits = []

    run = split_recompute(trigger="command", on_wait=lambda: waits.append(SplitRun.objects.count()))

    assert waits == [0]  # told once that it waits, before any run row of its own exists
    assert released_while_waiting == [1]  # it did wait, and went on once the lock was free
    assert (run.status, run.row_count) == ("succeeded", 1)
    assert SplitRow.objects.count() == 1


def test_a_run_gives_up_waiting_for_a_stuck_run_after_the_limit(worked_example, lock_held_elsewhere, monkeypatch):
    monkeypatch.setattr(locks, "LOCK_WAIT_SECONDS", 0)
    queued = SplitRun.objects.create(status="queued", trigger="ui")

    with pytest.raises(SplitLockTimeout, match="gave up after waiting 0 minutes"):
        split_recompute(run_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.error.startswith("Failed: gave up after waiting")
    assert SplitRow.objects.count() == 0


def test_a_run_left_running_by_a_dead_worker_is_closed_by_the_next_run(worked_example):
    dead = SplitRun.objects.create(
        status="running", trigger="schedule", started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )

    run = split_recompute(trigger="command")

    dead.refresh_from_db()
    assert run.status == "succeeded"
    assert (dead.status, dead.error) == ("interrupted", f"{INTERRUPTED_REASON} {SUPERSEDED_NOTE}")
    assert dead.finished_at is not None


def test_the_lock_is_released_after_a_failure(worked_example, monkeypatch):
    def crash(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild, "append_history", crash)
    with pytest.raises(RuntimeError):
        split_recompute(trigger="command")
    monkeypatch.undo()

    assert split_recompute(trigger="command", wait=False).status == "succeeded"  # not skipped: the lock is free


def test_a_finished_run_delivered_again_is_not_run_twice(worked_example):
    run = split_recompute(trigger="command")
    SplitRow.objects.all().delete()

    again = split_recompute(run_id=run.pk)

    assert again.status == "succeeded" and again.pk == run.pk
    assert SplitRow.objects.count() == 0  # untouched: the redelivered message did nothing


def test_an_interrupted_run_delivered_again_an_hour_later_is_not_run(worked_example):
    """The broker redelivers a dead worker's message after its visibility timeout: its retry has done the work."""
    interrupted = SplitRun.objects.create(status="interrupted", trigger="ui", error=INTERRUPTED_REASON)

    again = split_recompute(run_id=interrupted.pk)

    assert (again.status, again.error) == ("interrupted", INTERRUPTED_REASON)
    assert SplitRow.objects.count() == 0


def test_a_queued_run_is_executed_by_id(worked_example):
    queued = SplitRun.objects.create(status="queued", trigger="ui")

    run = split_recompute(run_id=str(queued.pk))

    assert (run.pk, run.status, run.trigger, run.row_count) == (queued.pk, "succeeded", "ui", 1)
