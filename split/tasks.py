"""Celery tasks of the split engine: thin wrappers that take ids and call the services.

Both tasks are safe to run twice (the recompute replaces the whole table under a
single-flight lock; alerts are deduplicated by a unique row), so they use
`acks_late` (the job task base of portfolio.jobs): a worker that dies mid-task gets the
message redelivered instead of losing it. Only database connectivity errors are
retried, with exponential backoff and jitter; anything else is a bug or bad data and is
recorded at once.

A recompute whose worker died is not left `running` until the broker redelivers its
message (an hour later): `split_runs_recover` closes it as interrupted and retries it
once, when a worker starts (`worker_ready`) and every minute from beat.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.db import connections

from portfolio.jobs import RETRYABLE_ERRORS, JobTask
from split.choices import RunStatus
from split.locks import LOCK_WAIT_SECONDS
from split.models import SplitRun
from split.overspend import overspend_alerts_send
from split.services import (
    RUN_SOFT_TIME_LIMIT_SECONDS,
    RUN_TIME_LIMIT_SECONDS,
    split_recompute,
    split_run_queue,
    split_runs_recover,
)

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    base=JobTask,
    name="split.tasks.split_recompute_task",
    # A follow-up may first wait for the running recompute (split.locks): its limits count the wait.
    soft_time_limit=LOCK_WAIT_SECONDS + RUN_SOFT_TIME_LIMIT_SECONDS,
    time_limit=LOCK_WAIT_SECONDS + RUN_TIME_LIMIT_SECONDS,
)
def split_recompute_task(self, run_id: str | None = None, trigger: str = "schedule") -> dict:
    """Run the recompute for queued run `run_id`, or for the nightly schedule.

    The schedule queues a run like any request (joining a run already waiting to
    start, if any) and executes it here. A run that finds another running waits for it
    to finish. Retries with backoff on database connectivity errors; the run keeps its
    id across retries and shows `queued` with the reason while it waits.
    """
    try:
        if run_id is None:
            run, created = split_run_queue(trigger=trigger)
            if not created:
                logger.info("%s recompute: joins the queued run %s", trigger, run.pk)
            run_id = str(run.pk)
        run = split_recompute(run_id=run_id)
    except SplitRun.DoesNotExist:
        logger.warning("split run %s does not exist (any more); nothing to do", run_id)
        return {"run_id": run_id, "status": "missing"}
    except RETRYABLE_ERRORS as exc:
        # Queued again until the retry; not retried when a request queued another run meanwhile.
        if self.retry_on_database_error(exc, SplitRun, run_id, run_id=run_id, trigger=trigger) is False:
            return {"run_id": run_id, "status": RunStatus.FAILED}
    return {"run_id": str(run.pk), "status": run.status, "row_count": run.row_count}


@shared_task(name="split.tasks.split_runs_recover_task", soft_time_limit=45, time_limit=55)
def split_runs_recover_task() -> dict:
    """Beat's check, every minute: close runs whose worker died and retry them once (`split_runs_recover`)."""
    return {"interrupted": [str(run.pk) for run in split_runs_recover()]}


@worker_ready.connect
def split_runs_recover_on_worker_start(**kwargs) -> None:
    """A worker that starts (or restarts after being killed) closes the runs a dead worker left `running`."""
    try:
        split_runs_recover()
    except Exception:
        logger.exception("split runs: the check at worker start failed; beat's check repeats it every minute")
    finally:
        connections.close_all()  # the worker's main process keeps no connection (pool processes open their own)


@shared_task(
    bind=True,
    base=JobTask,
    name="split.tasks.overspend_alerts_task",
    soft_time_limit=10 * 60,
    time_limit=15 * 60,
)
def overspend_alerts_task(self) -> dict:
    """Email the owner and sponsors of initiatives over budget this fiscal year (once a month each)."""
    try:
        sent = overspend_alerts_send()
    except RETRYABLE_ERRORS as exc:
        self.retry_on_database_error(exc, None, None)
    return {"sent": sent}
