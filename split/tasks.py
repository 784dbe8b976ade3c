"""Celery tasks of the budgets app: thin wrappers that take ids and call the services.

Both tasks are safe to run twice (the recompute replaces the whole table under a
single-flight lock; alerts are deduplicated by a unique row), so they use
`acks_late`: a worker that dies mid-task gets the message redelivered instead of
losing it. Only database connectivity errors are retried, with exponential
backoff and jitter; anything else is a bug or bad data and is recorded at once.

A recompute whose worker died is not left `running` until the broker redelivers its
message (an hour later): `split_runs_recover` closes it as interrupted and retries it
once, when a worker starts (`worker_ready`) and every minute from beat.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from celery.utils.time import get_exponential_backoff_interval
from django.db import IntegrityError, InterfaceError, OperationalError, connection, connections, transaction

from split.choices import RunStatus
from split.models import SplitRun
from split.services import (
    RUN_SOFT_TIME_LIMIT_SECONDS,
    RUN_TIME_LIMIT_SECONDS,
    SUPERSEDED_NOTE,
    overspend_alerts_send,
    split_recompute,
    split_run_queue,
    split_runs_recover,
)

logger = logging.getLogger(__name__)

RETRYABLE_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 5
BACKOFF_FACTOR_SECONDS = 15
BACKOFF_MAX_SECONDS = 600


def _backoff(retries: int) -> int:
    return get_exponential_backoff_interval(
        factor=BACKOFF_FACTOR_SECONDS, retries=retries, maximum=BACKOFF_MAX_SECONDS, full_jitter=True
    )


def _drop_broken_connection() -> None:
    # The next attempt must not reuse a connection the database dropped.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


@shared_task(
    bind=True,
    name="split.tasks.split_recompute_task",
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=RUN_SOFT_TIME_LIMIT_SECONDS,
    time_limit=RUN_TIME_LIMIT_SECONDS,
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
        _drop_broken_connection()
        if self.request.retries >= self.max_retries:
            raise
        countdown = _backoff(self.request.retries)
        if run_id is not None and not _mark_retrying(
            run_id, exc, attempt=self.request.retries + 1, countdown=countdown
        ):
            return {"run_id": run_id, "status": RunStatus.FAILED}
        raise self.retry(exc=exc, kwargs={"run_id": run_id, "trigger": trigger}, countdown=countdown) from exc
    return {"run_id": str(run.pk), "status": run.status, "row_count": run.row_count}


def _mark_retrying(run_id: str, exc: Exception, *, attempt: int, countdown: int) -> bool:
    """Show the run as queued until its retry; False when another run is queued meanwhile (it recomputes instead)."""
    error = f"Database unavailable ({exc}); retry {attempt} of {MAX_RETRIES} in {countdown} s."
    try:
        with transaction.atomic():
            SplitRun.objects.filter(pk=run_id).update(status=RunStatus.QUEUED, error=error)
    except IntegrityError:  # at most one queued run: a request queued one while this one ran
        SplitRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, error=f"Failed: database unavailable ({exc}). {SUPERSEDED_NOTE}"
        )
        return False
    except RETRYABLE_ERRORS:
        logger.warning("split run %s: could not record the retry (database still unavailable)", run_id)
    return True


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
    name="split.tasks.overspend_alerts_task",
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=10 * 60,
    time_limit=15 * 60,
)
def overspend_alerts_task(self) -> dict:
    """Email the owner and sponsors of initiatives over budget this fiscal year (once a month each)."""
    try:
        sent = overspend_alerts_send()
    except RETRYABLE_ERRORS as exc:
        _drop_broken_connection()
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {"sent": sent}
