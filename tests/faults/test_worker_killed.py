"""A worker killed in the middle of a recompute: the previous split stays served, the run is marked
interrupted and retried within a minute — by the next worker that starts, or by beat's check.

A real `celery worker` process consumes the recompute from a Redis of the test's
own. To catch it mid-run deterministically, the test holds a lock on the expense
table from a connection of its own: the worker's rebuild has already deleted the
old rows inside its transaction when it blocks on that lock. Then the worker is
SIGKILLed — no cleanup code of it runs, as when a machine dies or the OOM killer
strikes. Its database session ends with its connection (once PostgreSQL notices),
and with the session the run's advisory lock: that is how the survivors know it is dead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from split.models import SplitRow, SplitRun
from split.services import (
    INTERRUPTED_REASON,
    RETRIED_NOTE,
    split_recompute,
    split_recompute_request,
    split_runs_recover,
)
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory
from tests.split.test_tasks_worker import WORKER_COMMAND, test_database_url

from .conftest import stop_process, wait_for

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BROKER_DB = 1
WAIT_SECONDS = 60
# Beat checks at every minute boundary: the check comes within a minute, its retry runs right after.
BEAT_WAIT_SECONDS = 60 + 30


def celery_env(own_redis) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.base",  # not the test settings: no eager mode
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": own_redis.url(BROKER_DB),
        "REDIS_URL": own_redis.url(BROKER_DB + 1),
    }


@pytest.fixture
def start_worker(own_redis, tmp_path):
    """`start_worker()`: a `celery -A portfolio worker --pool=solo` on the test database and the own Redis."""
    workers: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"worker-{len(workers)}.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                [*WORKER_COMMAND, f"--hostname=faults-{os.getpid()}-{len(workers)}@%h"],
                cwd=Path(settings.BASE_DIR),
                env=celery_env(own_redis),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        workers.append(process)
        return process, log

    try:
        yield start
    finally:
        for process in workers:
            stop_process(process)


@pytest.fixture
def start_beat(own_redis, tmp_path):
    """`start_beat()`: `celery -A portfolio beat` with the app's schedule, sending to the own Redis."""
    started: list[subprocess.Popen] = []

    def start() -> Path:
        log = tmp_path / "beat.log"
        with open(log, "w") as output:
            command = [sys.executable, "-m", "celery", "-A", "portfolio", "beat", "--loglevel=info"]
            command += [f"--schedule={tmp_path / 'beat-schedule'}"]
            started.append(
                subprocess.Popen(
                    command,
                    cwd=Path(settings.BASE_DIR),
                    env=celery_env(own_redis),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return log

    try:
        yield start
    finally:
        for process in started:
            stop_process(process)


@pytest.fixture
def expense_table_locked():
    """`lock()` takes an ACCESS EXCLUSIVE lock on budgets_expense from a connection of its own; `release()`."""
    db = connection.settings_dict
    holder = psycopg2.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
    )

    class Lock:
        def lock(self) -> None:
            with holder.cursor() as cursor:
                cursor.execute("LOCK TABLE budgets_expense IN ACCESS EXCLUSIVE MODE")

        def release(self) -> None:
            holder.rollback()

    try:
        yield Lock()
    finally:
        with contextlib.suppress(Exception):
            holder.rollback()
        holder.close()


def backend_blocked_on_the_split_rebuild() -> int | None:
    """The pid of a database session of the test database waiting for a lock while rebuilding the split."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND wait_event_type = 'Lock' AND query LIKE %s
            """,
            ["%INSERT INTO budgets_splitrow%"],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def split_snapshot() -> list[tuple]:
    return list(
        SplitRow.objects.order_by("initiative_id", "month").values_list("initiative_id", "month", "actual_total")
    )


def run_status(run: SplitRun) -> str:
    run.refresh_from_db()
    return run.status


def portfolio_with_a_split() -> tuple[list, list[tuple]]:
    """Three initiatives and their split; then an expense the split does not have yet."""
    initiatives = [InitiativeFactory(status="approved", marketing_share_pct=Decimal("40.00")) for _ in range(3)]
    for initiative in initiatives:
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 2, 1), amount=Decimal("900.00"))
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 2, 3), amount=Decimal("300.00"))
    assert split_recompute(trigger="command").status == "succeeded"
    previous = split_snapshot()
    assert len(previous) == 3
    # New actuals since that split: the retry must show them.
    ExpenseFactory(initiative=initiatives[0], incurred_on=dt.date(2026, 2, 20), amount=Decimal("50.00"))
    return initiatives, previous


def kill_mid_rebuild(worker: subprocess.Popen, log: Path, run: SplitRun) -> int:
    """Wait until the worker is blocked inside its rebuild, SIGKILL it; returns its database session's pid."""
    blocked_pid = wait_for(
        backend_blocked_on_the_split_rebuild, timeout=WAIT_SECONDS, what="the worker to be mid-rebuild"
    )
    assert run_status(run) == "running", log.read_text()[-3000:]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    return blocked_pid


def let_the_dead_session_end(expense_table_locked, blocked_pid: int) -> None:
    """Release the table: the dead worker's statement finishes, PostgreSQL finds its client gone and ends it."""
    expense_table_locked.release()
    try:
        wait_for(lambda: not backend_alive(blocked_pid), timeout=30, what="the dead worker's session to end")
    finally:
        with connection.cursor() as cursor:  # whatever happened, no session of it may outlive the test
            cursor.execute("SELECT pg_terminate_backend(%s)", [blocked_pid])


def assert_retried_and_complete(killed_run: SplitRun, initiatives: list, log: Path, timeout: float) -> None:
    """The killed run is marked interrupted, its retry succeeds, and the split has the new expense."""
    wait_for(
        lambda: SplitRun.objects.filter(trigger="retry", status__in=("succeeded", "failed")).exists(),
        timeout=timeout,
        what="the killed run to be retried",
    )
    killed_run.refresh_from_db()
    assert (killed_run.status, killed_run.error) == ("interrupted", f"{INTERRUPTED_REASON} {RETRIED_NOTE}")
    retry = SplitRun.objects.get(trigger="retry")
    assert (retry.status, retry.requested_by) == ("succeeded", killed_run.requested_by), log.read_text()[-3000:]
    assert retry.started_at >= killed_run.finished_at
    assert retry.row_count == 3
    after = {(initiative_id, month): actual for initiative_id, month, actual in split_snapshot()}
    assert after[(initiatives[0].pk, dt.date(2026, 2, 1))] == Decimal("350.00")
    assert not SplitRun.objects.filter(status__in=("queued", "running")).exists()


def test_a_worker_killed_mid_recompute_is_marked_interrupted_and_retried_when_a_worker_starts(
    start_worker, own_redis, broker_at, expense_table_locked, finance, client
):
    initiatives, previous = portfolio_with_a_split()
    broker_at(own_redis.url(BROKER_DB))
    worker, log = start_worker()
    expense_table_locked.lock()
    killed_run = split_recompute_request(by=finance, trigger="ui")

    blocked_pid = kill_mid_rebuild(worker, log, killed_run)

    # Mid-run and after the kill, readers get the previous split: its deletion was never committed.
    assert split_snapshot() == previous
    token = Token.objects.create(user=finance)
    served = client.get("/api/split/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert served.status_code == 200
    assert {row["actual_total"] for row in served.json()["results"]} == {"300.00"}
    # acks_late: the message is unacknowledged, kept by the broker for redelivery, not lost.
    assert int(own_redis.command("HLEN", "unacked", db=BROKER_DB) or 0) == 1
    # Its session still runs the statement and holds the lock: nothing may call the run dead yet.
    assert split_runs_recover() == []
    assert run_status(killed_run) == "running"

    let_the_dead_session_end(expense_table_locked, blocked_pid)
    assert split_snapshot() == previous
    assert run_status(killed_run) == "running"  # nobody is left to say otherwise — until a worker starts

    _, new_log = start_worker()

    assert_retried_and_complete(killed_run, initiatives, new_log, timeout=WAIT_SECONDS)
    assert "split runs" not in new_log.read_text()  # the check at start-up did not fail


def test_a_worker_killed_mid_recompute_is_marked_interrupted_and_retried_by_beats_check(
    start_worker, start_beat, own_redis, broker_at, expense_table_locked, finance
):
    """No worker restarts: another one was running all along, and only beat's minute check can notice."""
    initiatives, previous = portfolio_with_a_split()
    broker_at(own_redis.url(BROKER_DB))
    doomed, log = start_worker()
    expense_table_locked.lock()
    killed_run = split_recompute_request(by=finance, trigger="api")
    blocked_pid = wait_for(
        backend_blocked_on_the_split_rebuild, timeout=WAIT_SECONDS, what="the worker to be mid-rebuild"
    )
    # The survivor starts while the run is alive and holds its lock: its start-up check leaves the run alone.
    survivor, survivor_log = start_worker()
    wait_for(lambda: "ready." in survivor_log.read_text(), timeout=WAIT_SECONDS, what="the second worker")
    assert run_status(killed_run) == "running"
    beat_log = start_beat()

    kill_mid_rebuild(doomed, log, killed_run)
    let_the_dead_session_end(expense_table_locked, blocked_pid)
    assert split_snapshot() == previous

    assert_retried_and_complete(killed_run, initiatives, survivor_log, timeout=BEAT_WAIT_SECONDS)
    assert "split.tasks.split_runs_recover_task" in beat_log.read_text()
    assert survivor.poll() is None
