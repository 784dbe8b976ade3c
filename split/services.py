"""The spend-split engine (PRODUCT.md §3): recompute the split table, record the run.

`split_recompute` is the one code path behind the nightly Celery task, the
`recompute_split` command and the "Recompute now" button (web and API):

1. take the single-flight lock, waiting while another run holds it (the command may
   skip instead). Only the holder of the lock is ever `running`, and it holds the lock
   until its outcome is recorded;
2. claim the run (committed as `running`, so the UI shows it) and close any run a dead
   worker left `running` (see below);
3. in ONE transaction: close any locked month whose split is not closed yet
   (`split.closing`), delete the rows of every month that is not closed, rebuild them with
   one set-based aggregation over budget lines and expenses grouped by initiative and
   month, each month at the share of the co-funding agreement in force, append the
   compact history (roll-ups by lane and fiscal month, computed from the new table in
   SQL) and mark the run succeeded. The frozen rows of closed months are carried over
   untouched (PRODUCT.md §3 "Closed months are final") and counted in the run's rows.
   Readers see the old table or the new one, never a mix; a run killed halfway leaves
   the old table in place;
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

Where the parts live: the lock in `split.locks`, the rebuild SQL (the SQL twin of
`split.arithmetic`) and the history in `split.rebuild`, the recompute's errors in
`split.errors`, the overspend alerts read from the table in `split.overspend`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from budgets.months import month_label
from portfolio import jobs
from split import closing, locks, rebuild
from split.choices import RunStatus
from split.errors import SplitLockTimeout, SplitQueueUnavailable, SplitRecomputeError
from split.models import ClosedMonth, SplitRun
from split.signals import split_recomputed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The recompute task's Celery time limits (split.tasks); /healthz warns about a run
# `running` for longer than the hard one.
RUN_SOFT_TIME_LIMIT_SECONDS = 15 * 60
RUN_TIME_LIMIT_SECONDS = 20 * 60
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
        with locks.recompute_lock(wait=wait, on_wait=on_wait) as held:
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
            # A month locked without its split being closed (before closed months existed, or
            # behind the lock service's back) is closed now, from the records as they are.
            frozen = closing.unfrozen_locks_freeze()
            row_count = rebuild.rebuild_split_table()
            rebuild.append_history(run)
            duration_ms = round((time.perf_counter() - started) * 1000)
            SplitRun.objects.filter(pk=run.pk).update(
                status=RunStatus.SUCCEEDED,
                finished_at=timezone.now(),
                duration_ms=duration_ms,
                row_count=row_count,
                error=frozen_note(frozen),  # a succeeded run's `error` is its note (shown on /split/runs/)
            )
    except BaseException as exc:
        logger.exception("split run %s failed", run.pk)
        _finish(run, status=RunStatus.FAILED, error=_describe(exc), started=started)
        raise
    if frozen:
        logger.warning("split run %s: %s", run.pk, frozen_note(frozen))
    logger.info("split run %s: %s rows in %s ms", run.pk, row_count, duration_ms)


def frozen_note(frozen: list[ClosedMonth]) -> str:
    """What a run says about the locked months it closed itself ("" when none)."""
    if not frozen:
        return ""
    labels = [month_label(closed.month) for closed in frozen]
    named = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    rows = sum(closed.row_count for closed in frozen)
    return (
        f"Closed {named} ({rows:,} frozen row{'' if rows == 1 else 's'}): "
        f"locked before {'its' if len(labels) == 1 else 'their'} split was closed."
    )


# The split row columns whose statistics the readers' plans depend on (filters, groupings, joins).
ANALYZED_COLUMNS = (
    "initiative_id",
    "month",
    "fiscal_year",
    "fiscal_quarter",
    "initiative_code",
    "lane",
    "status",
    "closed",
)


def _after_success(run: SplitRun) -> None:
    """Make the first reads of the new table fast: fresh planner statistics, then a warm dashboard cache.

    The rebuild replaced every open month's row, so PostgreSQL's statistics describe the
    previous table (or an empty one) until autovacuum gets to it, and plans chosen on them
    can be a hundred times slower. Only the columns readers filter, group and join on are
    analysed (`ANALYZED_COLUMNS`): the money columns' distributions barely move from one
    night to the next, keep their statistics until autovacuum's next analyse, and are
    half the cost. Neither step changes any figure: a failure is logged, and the run
    stays succeeded.
    """
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE budgets_splitrow ({', '.join(ANALYZED_COLUMNS)}), budgets_splithistory")
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
    waited QUEUED_RUN_RESEND_SECONDS while nothing was running (the broker lost it),
    at most once per QUEUED_RUN_RESEND_SECONDS (`_resend_due`).

    Called when a worker starts (`worker_ready`) and every minute by beat. If a run
    holds the lock, there is nothing to do: it closed any dead run when it took the lock.
    """
    to_send: SplitRun | None = None
    with locks.recompute_lock(wait=False) as held:
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
                and _resend_due(waiting)
            ):
                logger.warning("split run %s queued at %s: sending its task again", waiting.pk, waiting.queued_at)
                to_send = waiting
    for run in dead:
        logger.warning("split run %s: %s", run.pk, run.error)
    if to_send is not None:  # once committed, and after the lock is released: its worker may start at once
        transaction.on_commit(lambda: _enqueue_quietly(to_send))
    return dead


def _resend_due(run: SplitRun) -> bool:
    """Whether a stranded queued run's message may be sent again: at most once per QUEUED_RUN_RESEND_SECONDS.

    The resend is recorded in the cache under the run's id (its `queued_at` stays: the run
    expires QUEUED_RUN_EXPIRES_SECONDS after it was queued). Read and written under the
    recompute lock, so two recoveries cannot both resend. A cache that is down reads as
    empty (`portfolio.cache`): the message is then sent again each minute, as before.
    """
    key = f"split:run-resent:{run.pk}"
    if cache.get(key) is not None:
        return False
    cache.set(key, 1, timeout=QUEUED_RUN_RESEND_SECONDS)
    return True


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
