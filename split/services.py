"""The spend-split engine (PRODUCT.md §3): recompute the split table, record the run.

`split_recompute` is the one code path behind the nightly Celery task, the
`recompute_split` command and the "Recompute now" button (web and API):

1. take the single-flight lock, waiting while another run holds it (the command may
   skip instead). Only the holder of the lock is ever `running`, and it holds the lock
   until its outcome is recorded;
2. claim the run (committed as `running`, so the UI shows it) and close any run a dead
   worker left `running` (see below);
3. in ONE transaction: delete the split table, rebuild it with one set-based
   aggregation over budget lines and expenses grouped by initiative and month, append
   the compact history (roll-ups by lane and fiscal month, computed from the new table
   in SQL) and mark the run succeeded. Readers see the old table or the new one, never
   a mix; a run killed halfway leaves the old table in place;
4. if anything fails, the transaction is rolled back and the failure is recorded in a
   transaction of its own, so finance sees it on /split/runs/; then the lock is released.

Requests coalesce (`split_run_queue`): at most one run is ever queued (a database
constraint), and a request made while one waits to start joins it. However many
requests arrive during a run, exactly one follow-up runs after it; it starts once the
running one has finished, so it reads everything committed before any of them.

A worker that dies mid-run cannot release the lock, but loses it all the same:
PostgreSQL ends the dead session and releases its advisory lock; the kernel drops a
dead process's file lock. So a `running` run while nobody holds the lock is dead.
`split_runs_recover` marks such runs `interrupted` and retries each once; it runs when
a worker starts and every minute from beat (split.tasks).

On PostgreSQL the whole table is built by one `INSERT … SELECT` that does the §3
arithmetic in SQL (`round(numeric, 2)` rounds halves away from zero, like
`round_half_up`). SQLite's `round` works on floats, so there the database sums
integer cents per initiative and month and the rows go through
`split.arithmetic` in Python: still one grouped query, never one
expense row in Python.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

from django.conf import settings
from django.db import Error as DatabaseLayerError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from initiatives.choices import NotificationKind
from initiatives.models import Initiative
from initiatives.notifications import notifications_queue
from portfolio import fiscal, jobs
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, cents_to_amount, overspend_factor, split_amounts
from split.choices import RunStatus
from split.models import OverspendAlert, SplitRow, SplitRun
from split.signals import split_recomputed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the recompute ("SPLIT" in ASCII): any constant
# works as long as nothing else in the database uses it.
SPLIT_ADVISORY_LOCK_KEY = 0x53504C4954
# The recompute task's Celery time limits (split.tasks); /healthz warns about a run
# `running` for longer than the hard one.
RUN_SOFT_TIME_LIMIT_SECONDS = 15 * 60
RUN_TIME_LIMIT_SECONDS = 20 * 60
# A run waits at most this long for the running one to finish (a recompute takes
# seconds: one that holds the lock for ten minutes is stuck, and /healthz says so).
LOCK_WAIT_SECONDS = 10 * 60
LOCK_POLL_SECONDS = 0.5
# A queued run that no worker picked up within this many seconds is given up:
# the task message itself expires then (see `_enqueue`).
QUEUED_RUN_EXPIRES_SECONDS = 3600
# A run still queued this long after it was requested, while no recompute is running,
# has probably lost its task message (Redis restarted without its data): it is sent again.
QUEUED_RUN_RESEND_SECONDS = 120
TRIGGERS = ("schedule", "command", "ui", "api", "retry")
RETRY_TRIGGER = "retry"  # a run queued to retry an interrupted one
FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.SKIPPED, RunStatus.INTERRUPTED)

SKIPPED_REASON = "Skipped: another recompute was running at the time; this one did nothing."
INTERRUPTED_REASON = "Interrupted: its worker stopped before the run finished; the previous split was kept."
RETRIED_NOTE = "Retried once automatically."
SUPERSEDED_NOTE = "The next run recomputes instead."
NOT_RETRIED_NOTE = "Not retried again (it was itself a retry): start a recompute once the workers are healthy."
EXPIRED_REASON = "Expired: no worker picked the run up within an hour. Start it again."
QUEUE_UNAVAILABLE = jobs.QUEUE_UNAVAILABLE
# Services name their task (portfolio.jobs) instead of importing it: tasks import services.
RECOMPUTE_TASK = "split.tasks.split_recompute_task"


class SplitRecomputeError(Exception):
    """A recompute could not be started or run; the message is meant for the user."""


class SplitQueueUnavailable(SplitRecomputeError):
    """The task could not be handed to the broker; the run was marked failed."""


class SplitLockTimeout(SplitRecomputeError):
    """The running recompute did not finish within LOCK_WAIT_SECONDS; this one gave up waiting."""


# --- requests: queue a run, coalescing ---------------------------------------------


def split_run_queue(*, trigger: str, by: AbstractBaseUser | None = None) -> tuple[SplitRun, bool]:
    """The run waiting to start, or a new queued one; returns `(run, created)` like `get_or_create`.

    At most one run is ever queued (constraint `split_run_one_queued`), so requests
    made while one waits join it: it has not read anything yet, and will read what
    they committed. Two requests at the same instant: the constraint lets one insert
    through and the other joins its run.
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}; expected one of {', '.join(TRIGGERS)}")
    with transaction.atomic():
        _queued_runs_expire()
        for _attempt in range(3):  # join, or create; lost a race: join the winner's (unless it started already)
            waiting = _waiting_run()
            if waiting is not None:
                return waiting, False
            try:
                with transaction.atomic():
                    return SplitRun.objects.create(status=RunStatus.QUEUED, trigger=trigger, requested_by=by), True
            except IntegrityError:
                winner = SplitRun.objects.filter(status=RunStatus.QUEUED).first()
                if winner is not None:
                    return winner, False
        raise SplitRecomputeError("Could not queue the recompute: too many requests at once. Try again.")


def split_recompute_request(*, by: AbstractBaseUser | None, trigger: str = "ui") -> SplitRun:
    """Ask for a recompute for a person (the UI and the API); returns the queued run that will do it.

    A new run is sent to a worker once its row is committed (`on_commit`), so the
    worker always finds it; a request made while a run waits to start joins that run
    and sends nothing (`split_run_queue`). While a recompute is running, the queued
    run waits for it to finish, then starts. If the broker cannot be reached, the run
    is marked failed and `SplitQueueUnavailable` is raised for the caller to show.
    Call it outside any transaction (views and API views are not atomic) so that the
    commit, and with it the sending and its error, happen inside this call.
    """
    with transaction.atomic():
        run, created = split_run_queue(trigger=trigger, by=by)
        if created:
            transaction.on_commit(lambda: _enqueue(run), robust=False)
        else:
            logger.info("split recompute requested (%s): joins the queued run %s", trigger, run.pk)
    run.refresh_from_db()
    return run


def _waiting_run() -> SplitRun | None:
    """The queued run, if any (there is at most one)."""
    return SplitRun.objects.filter(status=RunStatus.QUEUED).first()


def _enqueue(run: SplitRun) -> None:
    try:
        jobs.enqueue(RECOMPUTE_TASK, kwargs={"run_id": str(run.pk)}, expires=QUEUED_RUN_EXPIRES_SECONDS)
    except jobs.QueueUnavailable as exc:
        logger.error("split run %s: could not queue the task: %s", run.pk, exc)
        SplitRun.fail(run.pk, f"{QUEUE_UNAVAILABLE} ({exc})")
        raise SplitQueueUnavailable(
            "The recompute could not be queued: the task queue is unavailable. Try again in a minute."
        ) from exc


def _enqueue_quietly(run: SplitRun) -> None:
    """`_enqueue` for the background paths: a broker outage is logged (the run says it failed), not raised."""
    try:
        _enqueue(run)
    except SplitQueueUnavailable:
        logger.warning("split run %s: left failed, the task queue is unavailable", run.pk)


def _queued_runs_expire() -> None:
    """Queued runs whose task message has expired unread are closed: nothing will run them any more."""
    now = timezone.now()
    SplitRun.objects.filter(
        status=RunStatus.QUEUED, queued_at__lt=now - dt.timedelta(seconds=QUEUED_RUN_EXPIRES_SECONDS)
    ).update(status=RunStatus.FAILED, finished_at=now, error=EXPIRED_REASON)


# --- the recompute -------------------------------------------------------------


def split_recompute(
    *,
    run_id: uuid.UUID | str | None = None,
    trigger: str = "command",
    by: AbstractBaseUser | None = None,
    wait: bool = True,
    on_wait: Callable[[], None] | None = None,
) -> SplitRun:
    """Recompute the whole split table and record the run; returns the run in its final state.

    With `run_id`, the queued run of that id is executed (the task path); without,
    a new run is recorded for `trigger` once the lock is taken. If another run holds
    the lock, this one waits for it to finish (`on_wait` is called once when the
    waiting starts) up to LOCK_WAIT_SECONDS, then raises `SplitLockTimeout`; with
    `wait=False` it is recorded as skipped instead. A run that already finished is
    returned untouched (a task message delivered twice changes nothing). Raises the
    original exception after recording a failure.

    Deliberately not `@transaction.atomic`: it commits the claim, the rebuild and
    a failure record separately, so that others can see the run is running and a
    failure survives the rollback of the rebuild.
    """
    if run_id is None and trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    try:
        with _recompute_lock(wait=wait, on_wait=on_wait) as held:
            if not held:
                return _record_skipped(run_id=run_id, trigger=trigger, by=by)
            run = _claim(run_id=run_id, trigger=trigger, by=by)
            if run.status in FINAL_STATUSES:
                return run
            # This run holds the lock, so any other `running` run is dead; this one recomputes for it.
            _dead_runs_close(except_run=run, note=lambda dead: SUPERSEDED_NOTE)
            _rebuild_and_record(run)
    except SplitLockTimeout as exc:
        if run_id is not None:
            SplitRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED, finished_at=timezone.now(), error=f"Failed: {exc}"
            )
        raise
    # After the lock is released: a follow-up run need not wait for the statistics and the cache.
    _after_success(run)
    run.refresh_from_db()
    return run


def _rebuild_and_record(run: SplitRun) -> None:
    """Replace the split table and mark `run` succeeded, in one transaction; a failure is recorded and re-raised."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            row_count = _rebuild_split_table()
            _append_history(run)
            duration_ms = round((time.perf_counter() - started) * 1000)
            SplitRun.objects.filter(pk=run.pk).update(
                status=RunStatus.SUCCEEDED,
                finished_at=timezone.now(),
                duration_ms=duration_ms,
                row_count=row_count,
                error="",
            )
    except BaseException as exc:
        logger.exception("split run %s failed", run.pk)
        _finish(run, status=RunStatus.FAILED, error=_describe(exc), started=started)
        raise
    logger.info("split run %s: %s rows in %s ms", run.pk, row_count, duration_ms)


def _after_success(run: SplitRun) -> None:
    """Make the first reads of the new table fast: fresh planner statistics, then a warm dashboard cache.

    The rebuild replaced every row, so PostgreSQL's statistics describe the previous
    table (or an empty one) until autovacuum gets to it, and plans chosen on them can
    be a hundred times slower. Neither step changes any figure: a failure is logged,
    and the run stays succeeded.
    """
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE budgets_splitrow, budgets_splithistory")
    except Exception:
        logger.warning("split recompute: refreshing statistics failed", exc_info=True)
    # The wings above (the dashboard) warm their caches; they import this module, not the reverse.
    for receiver, outcome in split_recomputed.send_robust(sender=SplitRun, run=run):
        if isinstance(outcome, Exception):
            logger.warning("split recompute: %s failed after the run", receiver, exc_info=outcome)


def _claim(*, run_id: uuid.UUID | str | None, trigger: str, by: AbstractBaseUser | None) -> SplitRun:
    """Mark the run `running` (committed); called while holding the lock.

    Queued (first delivery), failed (a retry after a database error) or running (the task
    delivered again after its worker died, before anything marked it interrupted) all start.
    """
    if run_id is None:
        return SplitRun.objects.create(
            status=RunStatus.RUNNING, trigger=trigger, requested_by=by, started_at=timezone.now()
        )
    return SplitRun.claim(run_id, done=FINAL_STATUSES)


def _record_skipped(*, run_id: uuid.UUID | str | None, trigger: str, by: AbstractBaseUser | None) -> SplitRun:
    skipped = {"status": RunStatus.SKIPPED, "finished_at": timezone.now(), "duration_ms": 0, "error": SKIPPED_REASON}
    if run_id is None:
        run = SplitRun.objects.create(trigger=trigger, requested_by=by, **skipped)
    else:
        SplitRun.objects.filter(pk=run_id).exclude(status__in=FINAL_STATUSES).update(**skipped)
        run = SplitRun.objects.get(pk=run_id)
    logger.warning("split run %s skipped: another recompute holds the lock", run.pk)
    return run


def _finish(run: SplitRun, *, status: str, error: str, started: float) -> None:
    """Record a failed run after the rebuild's transaction was rolled back."""
    SplitRun.fail(run.pk, error, status=status, duration_ms=round((time.perf_counter() - started) * 1000))


def _describe(exc: BaseException) -> str:
    return jobs.describe_failure(
        exc, too_long="Failed: the recompute took longer than its time limit; the previous split was kept."
    )


# --- runs whose worker died ---------------------------------------------------------


def split_runs_recover() -> list[SplitRun]:
    """Close the runs whose worker died, and retry each once; returns the runs closed (usually none).

    A `running` run while nobody holds the recompute lock is dead: its worker was
    killed, ran out of memory or lost its machine, and its transaction was rolled back
    with its session, so the previous split is still in place. Each becomes
    `interrupted`, and a run is queued to retry it — unless a run is queued already
    (it recomputes anyway), or the dead run was itself such a retry (retried once, not
    forever: a run that kills its worker every time must not loop). Also expires queued
    runs whose task message expired, and sends again the message of a run that has
    waited QUEUED_RUN_RESEND_SECONDS while nothing was running (the broker lost it).

    Called when a worker starts (`worker_ready`) and every minute by beat. If a run
    holds the lock, there is nothing to do: it closed any dead run when it took the lock.
    """
    to_send: SplitRun | None = None
    with _recompute_lock(wait=False) as held:
        if not held:
            return []
        with transaction.atomic():
            _queued_runs_expire()
            waiting = _waiting_run()
            dead = _dead_runs_close(except_run=None, note=lambda run: _interrupted_note(run, waiting))
            retryable = [run for run in dead if run.trigger != RETRY_TRIGGER]
            if retryable and waiting is None:
                to_send, _ = split_run_queue(trigger=RETRY_TRIGGER, by=retryable[0].requested_by)
            elif (
                waiting is not None
                and not waiting.error  # with an error, it is waiting for its retry after a database error
                and waiting.queued_at < timezone.now() - dt.timedelta(seconds=QUEUED_RUN_RESEND_SECONDS)
            ):
                logger.warning("split run %s queued at %s: sending its task again", waiting.pk, waiting.queued_at)
                to_send = waiting
    for run in dead:
        logger.warning("split run %s: %s", run.pk, run.error)
    if to_send is not None:  # once committed, and after the lock is released: its worker may start at once
        transaction.on_commit(lambda: _enqueue_quietly(to_send))
    return dead


def _interrupted_note(run: SplitRun, waiting: SplitRun | None) -> str:
    if waiting is not None:
        return SUPERSEDED_NOTE
    return NOT_RETRIED_NOTE if run.trigger == RETRY_TRIGGER else RETRIED_NOTE


def _dead_runs_close(*, except_run: SplitRun | None, note: Callable[[SplitRun], str]) -> list[SplitRun]:
    """Mark every `running` run but `except_run` interrupted; only while holding the lock (they are dead then)."""
    now = timezone.now()
    dead = list(
        SplitRun.objects.filter(status=RunStatus.RUNNING).exclude(pk=getattr(except_run, "pk", None)).order_by("pk")
    )
    for run in dead:
        run.status, run.finished_at, run.error = RunStatus.INTERRUPTED, now, f"{INTERRUPTED_REASON} {note(run)}"
        SplitRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=run.status, finished_at=run.finished_at, error=run.error
        )
    return dead


# --- single flight ---------------------------------------------------------------


@contextmanager
def _recompute_lock(*, wait: bool, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold the recompute's single-flight lock for the block; yields False if it is taken and `wait` is off.

    PostgreSQL: a session-level advisory lock of this connection. SQLite: an exclusive
    file lock (the worker and the web share the machine with an SQLite database). The
    block's end releases it; so does the death of the process (PostgreSQL ends the
    session, the kernel closes the file). Waiting polls every LOCK_POLL_SECONDS and
    gives up with `SplitLockTimeout` after LOCK_WAIT_SECONDS.
    """
    lock = _AdvisoryLock() if connection.vendor == "postgresql" else _FileLock()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    waiting = False
    while not lock.acquire():
        if not wait:
            yield False
            return
        if not waiting:
            waiting = True
            if on_wait is not None:
                on_wait()
        if time.monotonic() >= deadline:
            raise SplitLockTimeout(
                f"gave up after waiting {LOCK_WAIT_SECONDS // 60} minutes for the running recompute to finish."
            )
        _pause()
    try:
        yield True
    finally:
        lock.release()


def _pause() -> None:
    time.sleep(LOCK_POLL_SECONDS)


class _AdvisoryLock:
    def acquire(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SPLIT_ADVISORY_LOCK_KEY])
            return bool(cursor.fetchone()[0])

    def release(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SPLIT_ADVISORY_LOCK_KEY])
        except DatabaseLayerError:
            # The connection is gone, and with its session the lock.
            logger.warning("split recompute: could not release the lock; its session has ended", exc_info=True)


class _FileLock:
    def __init__(self) -> None:
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(_lock_path(), "a+")  # noqa: SIM115 - closed by release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _lock_path() -> Path:
    name = str(connection.settings_dict["NAME"])
    if connection.is_in_memory_db():  # private to this process (the tests): so is its lock
        name += f":{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"portfolio-split-{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock"


# --- the set-based rebuild --------------------------------------------------------

# The split table's columns as the INSERT fills them: keys and denormalised facts, then
# the money columns in the export's order (split_arithmetic.SPLIT_AMOUNT_COLUMNS).
SPLIT_ROW_COLUMNS = (
    "initiative_id",
    "month",
    "fiscal_year",
    "fiscal_quarter",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "marketing_share_pct",
    *SPLIT_AMOUNT_COLUMNS,
)

# §3 in SQL: the twin of `split.arithmetic.split_amounts`, held to it on random inputs by
# tests/split/test_split_arithmetic.py. `m` holds, per row, the month's sums (planned_total,
# actual_total, paid_marketing, paid_it) and the initiative's marketing_share_pct; the ten
# money columns come out in SPLIT_AMOUNT_COLUMNS order. PostgreSQL's round(numeric, 2)
# rounds halves away from zero, like round_half_up; IT gets the remainder.
SPLIT_AMOUNTS_SQL = """
SELECT {keys},
       m.planned_total, s.planned_marketing, m.planned_total - s.planned_marketing,
       m.actual_total, s.actual_marketing, m.actual_total - s.actual_marketing,
       m.paid_marketing, m.paid_it,
       s.actual_marketing - m.paid_marketing,
       m.planned_total - m.actual_total
FROM {source} m
CROSS JOIN LATERAL (
    SELECT round(m.planned_total * m.marketing_share_pct * 0.01, 2) AS planned_marketing,
           round(m.actual_total * m.marketing_share_pct * 0.01, 2) AS actual_marketing
) s
"""


def split_amounts_sql(*, keys: str, source: str) -> str:
    """`SPLIT_AMOUNTS_SQL` over `source` (a parenthesised relation), selecting `keys` before the amounts."""
    return SPLIT_AMOUNTS_SQL.format(keys=keys, source=source)


# One statement: budget sums and expense sums per (initiative, month), full-outer
# joined, joined to the initiative's share, §3 arithmetic in numeric. Fiscal year
# and quarter follow portfolio/fiscal.py: with start month S > 1, months from S on
# belong to the next calendar year's fiscal year; Q1 holds S.
_REBUILD_KEYS = """m.initiative_id, m.month,
       extract(year FROM m.month)::int
           + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       m.code, m.title, m.lane, m.status, m.marketing_share_pct"""
_REBUILD_SOURCE = """(
    SELECT sums.*, i.code, i.title, i.lane, i.status, i.marketing_share_pct
    FROM (
        SELECT coalesce(b.initiative_id, e.initiative_id) AS initiative_id,
               coalesce(b.month, e.month) AS month,
               coalesce(b.planned_total, 0) AS planned_total,
               coalesce(e.actual_total, 0) AS actual_total,
               coalesce(e.paid_marketing, 0) AS paid_marketing,
               coalesce(e.paid_it, 0) AS paid_it
        FROM (
            SELECT initiative_id, month, sum(amount) AS planned_total
            FROM budgets_budgetline
            GROUP BY initiative_id, month
        ) b
        FULL OUTER JOIN (
            SELECT initiative_id, date_trunc('month', incurred_on)::date AS month,
                   sum(amount_reporting) AS actual_total,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
            FROM budgets_expense
            GROUP BY initiative_id, date_trunc('month', incurred_on)
        ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
    ) sums
    JOIN initiatives_initiative i ON i.id = sums.initiative_id
)"""
POSTGRESQL_REBUILD = f"""
INSERT INTO budgets_splitrow ({", ".join(SPLIT_ROW_COLUMNS)})
{split_amounts_sql(keys=_REBUILD_KEYS, source=_REBUILD_SOURCE)}
"""


def _rebuild_split_table() -> int:
    """Replace the split table's rows (inside the caller's transaction); returns the row count."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM budgets_splitrow")
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_REBUILD, {"start": settings.FISCAL_YEAR_START_MONTH})
            return cursor.rowcount
    return _rebuild_portable()


# The portable path: the database sums integer cents per (initiative, month) –
# exact on any engine – and Python applies split.arithmetic to each
# grouped row. UNION ALL + GROUP BY plays the part of the full outer join.
_PORTABLE_MONTH = {
    "postgresql": "date_trunc('month', incurred_on)::date",
    "sqlite": "date(incurred_on, 'start of month')",
}
_PORTABLE_CENTS = {
    "postgresql": "({column} * 100)::bigint",
    "sqlite": "CAST(round({column} * 100) AS INTEGER)",
}
PORTABLE_BATCH = 2000


def portable_grouped_sql(vendor: str) -> str:
    """The grouped query of the portable path (one row per initiative and month)."""
    month = _PORTABLE_MONTH[vendor]

    def cents(column: str) -> str:
        return _PORTABLE_CENTS[vendor].format(column=column)

    return f"""
    SELECT g.initiative_id, g.month, i.code, i.title, i.lane, i.status, {cents("i.marketing_share_pct")},
           sum(g.planned), sum(g.actual), sum(g.paid_marketing), sum(g.paid_it)
    FROM (
        SELECT initiative_id, month, {cents("amount")} AS planned,
               0 AS actual, 0 AS paid_marketing, 0 AS paid_it
        FROM budgets_budgetline
        UNION ALL
        SELECT initiative_id, {month}, 0, {cents("amount_reporting")},
               CASE WHEN paid_by = 'marketing' THEN {cents("amount_reporting")} ELSE 0 END,
               CASE WHEN paid_by = 'it' THEN {cents("amount_reporting")} ELSE 0 END
        FROM budgets_expense
    ) g
    JOIN initiatives_initiative i ON i.id = g.initiative_id
    GROUP BY g.initiative_id, g.month, i.code, i.title, i.lane, i.status, i.marketing_share_pct
    ORDER BY g.initiative_id, g.month
    """  # noqa: S608 - built from this module's constants only  # nosec B608


def _rebuild_portable() -> int:
    row_count = 0
    start_month = settings.FISCAL_YEAR_START_MONTH
    with connection.cursor() as cursor:
        cursor.execute(portable_grouped_sql(connection.vendor))
        while grouped := cursor.fetchmany(PORTABLE_BATCH):
            rows = [_split_row(values, start_month) for values in grouped]
            SplitRow.objects.bulk_create(rows)
            row_count += len(rows)
    return row_count


def _split_row(values: tuple, start_month: int) -> SplitRow:
    initiative_id, month, code, title, lane, status, share_hundredths, planned, actual, paid_m, paid_it = values
    if isinstance(month, str):
        month = dt.date.fromisoformat(month)
    share = cents_to_amount(share_hundredths)
    amounts = split_amounts(
        marketing_share_pct=share,
        planned_total=cents_to_amount(planned),
        actual_total=cents_to_amount(actual),
        paid_marketing=cents_to_amount(paid_m),
        paid_it=cents_to_amount(paid_it),
    )
    return SplitRow(
        initiative_id=initiative_id,
        month=month,
        fiscal_year=fiscal.fiscal_year(month, start_month),
        fiscal_quarter=fiscal.fiscal_quarter(month, start_month),
        initiative_code=code,
        initiative_title=title,
        lane=lane,
        status=status,
        marketing_share_pct=share,
        **amounts.as_dict(),
    )


# --- the compact history --------------------------------------------------------

# Every money column, summed: the history's readers never derive one column from others.
HISTORY_AMOUNTS = SPLIT_AMOUNT_COLUMNS


def money_sum_sql(column: str, vendor: str | None = None) -> str:
    """SQL for an exact sum of a money column: numeric on PostgreSQL, integer cents on SQLite."""
    if (vendor or connection.vendor) == "sqlite":
        return f"sum(CAST(round({column} * 100) AS INTEGER)) / 100.0"
    return f"sum({column})"


def _append_history(run: SplitRun) -> None:
    """Per-run roll-ups by lane and fiscal month, from the new split table (size: lanes × months)."""
    sums = ", ".join(money_sum_sql(column) for column in HISTORY_AMOUNTS)
    run_id = SplitRun._meta.pk.get_db_prep_value(run.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO budgets_splithistory (run_id, lane, month, fiscal_year, {", ".join(HISTORY_AMOUNTS)})
            SELECT %s, lane, month, fiscal_year, {sums}
            FROM budgets_splitrow
            GROUP BY lane, month, fiscal_year
            """,  # noqa: S608 - column names are constants of this module  # nosec B608
            [run_id],
        )


# --- overspend alerts -------------------------------------------------------------


@dataclass(frozen=True)
class Overspend:
    """An initiative whose fiscal-year-to-date actuals exceed its plan by more than the threshold."""

    initiative_id: int
    fiscal_year: int
    planned_total: Decimal
    actual_total: Decimal


def overspending_initiatives(*, today: dt.date, threshold_pct: int | Decimal) -> list[Overspend]:
    """From the latest split: FYTD actual_total > planned_total × (1 + threshold/100), and positive.

    Year to date means the months of today's fiscal year up to and including today's month.
    """
    from django.db.models import F, Value

    from split.selectors import MoneySum

    year = fiscal.fiscal_year(today)
    first_month, _ = fiscal.fiscal_year_bounds(year)
    factor = overspend_factor(threshold_pct)
    rows = (
        SplitRow.objects.filter(month__gte=first_month, month__lte=fiscal.month_start(today))
        .values("initiative_id")
        .annotate(planned=MoneySum("planned_total"), actual=MoneySum("actual_total"))
        .filter(actual__gt=F("planned") * Value(factor))
        .filter(actual__gt=0)
        .order_by("initiative_id")
    )
    return [Overspend(r["initiative_id"], year, r["planned"], r["actual"]) for r in rows]


def overspend_alerts_send(*, today: dt.date | None = None) -> int:
    """Email owner and both sponsors of each overspending initiative, at most once per initiative a month.

    The alert row (unique per initiative and month) and its notifications are written in
    one transaction; the e-mails go out once it commits, through the notification tasks,
    which retry a mail server that is down and record each e-mail sent or failed
    (initiatives.notifications). Returns the number of alerts written.
    """
    today = today or timezone.localdate()
    month = fiscal.month_start(today)
    threshold = settings.OVERSPEND_ALERT_PCT
    candidates = overspending_initiatives(today=today, threshold_pct=threshold)
    already = set(
        OverspendAlert.objects.filter(month=month, initiative_id__in=[c.initiative_id for c in candidates]).values_list(
            "initiative_id", flat=True
        )
    )
    due = [c for c in candidates if c.initiative_id not in already]
    initiatives = Initiative.objects.select_related("owner", "marketing_sponsor", "it_sponsor").in_bulk(
        [c.initiative_id for c in due]
    )
    sent = 0
    for overspend in due:
        initiative = initiatives[overspend.initiative_id]
        with transaction.atomic():
            _, created = OverspendAlert.objects.get_or_create(
                initiative=initiative,
                month=month,
                defaults={
                    "fiscal_year": overspend.fiscal_year,
                    "planned_total": overspend.planned_total,
                    "actual_total": overspend.actual_total,
                },
            )
            if not created:
                continue
            _queue_overspend_email(initiative, overspend, threshold)
        sent += 1
    logger.info("overspend alerts: %s sent, %s already sent this month", sent, len(candidates) - len(due))
    return sent


def _queue_overspend_email(initiative: Initiative, overspend: Overspend, threshold: int) -> None:
    label = fiscal.fiscal_year_label(overspend.fiscal_year)
    planned, actual = overspend.planned_total, overspend.actual_total
    over = f"{(actual - planned) * 100 / planned:.1f} %" if planned else "no budget planned"
    currency = settings.REPORTING_CURRENCY
    notifications_queue(
        kind=NotificationKind.OVERSPEND,
        initiative=initiative,
        recipients=[initiative.owner, initiative.marketing_sponsor, initiative.it_sponsor],
        subject=f"Overspend: {initiative.code} {initiative.title} is over its {label} budget",
        body=(
            f"{initiative.code} {initiative.title} has spent more than planned this fiscal year.\n\n"
            f"{label} to date\n"
            f"  planned: {planned:,.2f} {currency}\n"
            f"  actual:  {actual:,.2f} {currency}\n"
            f"  over:    {actual - planned:,.2f} {currency} ({over}; the alert threshold is {threshold} %)\n\n"
            f"Figures as of the latest nightly recompute. You receive this as the initiative's owner or sponsor;\n"
            f"the alert is sent at most once a month.\n\n{settings.SITE_URL}\n"
        ),
    )
