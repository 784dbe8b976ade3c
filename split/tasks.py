"""Celery tasks of the budgets app: thin wrappers that take ids and call the services.

Both tasks are safe to run twice (the recompute replaces the whole table under a
single-flight lock; alerts are deduplicated by a unique row), so they use
`acks_late`: a worker that dies mid-task gets the message redelivered instead of
losing it. Only database connectivity errors are retried, with exponential
backoff and jitter; anything else is a bug or bad data and is recorded at once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError, connection

from split.choices import RunStatus
from split.models import SplitRun
from split.services import overspend_alerts_send, split_recompute, split_run_queue

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
    soft_time_limit=15 * 60,
    time_limit=20 * 60,
)
def split_recompute_task(self, run_id: str | None = None, trigger: str = "schedule") -> dict:
    """Run the recompute for queued run `run_id`, or for a new run (the nightly schedule).

    Retries with backoff on database connectivity errors; the run keeps its id
    across retries and shows `queued` with the reason while it waits.
    """
    try:
        if run_id is None:
            run_id = str(split_run_queue(trigger=trigger).pk)
        run = split_recompute(run_id=run_id)
    except SplitRun.DoesNotExist:
        logger.warning("split run %s does not exist (any more); nothing to do", run_id)
        return {"run_id": run_id, "status": "missing"}
    except RETRYABLE_ERRORS as exc:
        _drop_broken_connection()
        if self.request.retries >= self.max_retries:
            raise
        countdown = _backoff(self.request.retries)
        if run_id is not None:
            _mark_retrying(run_id, exc, attempt=self.request.retries + 1, countdown=countdown)
        raise self.retry(exc=exc, kwargs={"run_id": run_id, "trigger": trigger}, countdown=countdown) from exc
    return {"run_id": str(run.pk), "status": run.status, "row_count": run.row_count}


def _mark_retrying(run_id: str, exc: Exception, *, attempt: int, countdown: int) -> None:
    try:
        SplitRun.objects.filter(pk=run_id).update(
            status=RunStatus.QUEUED,
            error=f"Database unavailable ({exc}); retry {attempt} of {MAX_RETRIES} in {countdown} s.",
        )
    except RETRYABLE_ERRORS:
        logger.warning("split run %s: could not record the retry (database still unavailable)", run_id)


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
