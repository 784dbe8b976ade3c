"""One lifecycle for every background job: the recompute, the exports, the notifications.

- `JobStatus` is the one status enum; `Job` is the abstract model that records a job's
  state (status, started/finished times, progress, error) with `claim`, `finish`, `fail`
  and `mark_retrying`, each one UPDATE by primary key.
- `JobTask` is the one Celery task base: late acknowledgement (a job is safe to run
  twice, so a worker that dies gets the message redelivered), a time limit, and retries
  with exponential backoff and jitter on database connectivity errors only — anything
  else is a bug or bad data and is recorded at once.
- `enqueue_on_commit(task_name, …)` is the small queueing interface the services use: it
  names the task instead of importing it (tasks import services, never the reverse),
  sends it only once the job row is committed, and fails fast with `QueueUnavailable`
  when the broker cannot be reached, so a person is never left waiting on a page.

This module imports no app (portfolio/ is below every app).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, Self

from celery import Task, current_app
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# Connectivity errors are worth a retry: the database restarts, a connection drops.
RETRYABLE_ERRORS = (OperationalError, InterfaceError)
QUEUE_UNAVAILABLE = "Queue unavailable, try again."
# Fail fast when the broker is down: the person is waiting for the page.
FAIL_FAST_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    # Its worker died mid-run (killed, out of memory, machine lost): nothing was written.
    INTERRUPTED = "interrupted", "Interrupted"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class QueueUnavailable(Exception):
    """The task could not be handed to the broker; the job was marked failed. The message is for the user."""


class Job(models.Model):
    """What every background job records about itself (subclasses add their own inputs and results)."""

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0–100.")
    error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @classmethod
    def claim(cls, pk: Any, *, done: Iterable[str] = (JobStatus.SUCCEEDED,), **reset: Any) -> Self:
        """Lock the job's row and mark it running, unless it is already `done` (a redelivered message).

        Queued (first delivery), running (redelivered after a worker died) and failed (a
        retry) all start again from scratch; `reset` names the subclass's fields to clear.
        """
        with transaction.atomic():
            job = cls.objects.select_for_update().get(pk=pk)
            if job.status in tuple(done):
                return job
            fields = {"status": JobStatus.RUNNING, "started_at": timezone.now(), "finished_at": None, "error": ""}
            fields.update(progress=0, **reset)
            for name, value in fields.items():
                setattr(job, name, value)
            job.save(update_fields=list(fields))
            return job

    @classmethod
    def finish(cls, pk: Any, **fields: Any) -> None:
        """Record success with the job's results (`fields`)."""
        cls.objects.filter(pk=pk).update(
            status=JobStatus.SUCCEEDED, progress=100, finished_at=timezone.now(), error="", **fields
        )

    @classmethod
    def fail(cls, pk: Any, error: str, *, status: str = JobStatus.FAILED, **fields: Any) -> None:
        """Record a failed (or skipped) job; never raises, so the original error is what propagates."""
        try:
            drop_broken_connection()  # a lost connection must not hide the failure
            cls.objects.filter(pk=pk).update(status=status, finished_at=timezone.now(), error=error[:2000], **fields)
        except Exception:
            logger.exception("%s %s: could not record its %s state", cls.__name__, pk, status)

    @classmethod
    def overrun_close(cls, *, limit_seconds: int, error: str, status: str = JobStatus.FAILED) -> int:
        """Close the jobs still `running` longer than their task's hard time limit: a worker that is
        killed (or its machine lost) cannot record anything, and Celery would have killed a live one by
        then. Returns how many were closed."""
        started_before = timezone.now() - dt.timedelta(seconds=limit_seconds)
        return cls.objects.filter(status=JobStatus.RUNNING, started_at__lt=started_before).update(
            status=status, finished_at=timezone.now(), error=error[:2000]
        )

    @classmethod
    def mark_retrying(cls, pk: Any, message: str) -> bool:
        """Back to queued while a retry waits, saying why (the database may still be down).

        False when the job should not be retried after all (a subclass decides, e.g. another
        job does its work now); True otherwise, also when the database could not be reached.
        """
        try:
            cls.objects.filter(pk=pk).update(status=JobStatus.QUEUED, error=message)
        except RETRYABLE_ERRORS:
            logger.warning("%s %s: could not record the retry (database still unavailable)", cls.__name__, pk)
        return True


def describe_failure(exc: BaseException, *, too_long: str) -> str:
    """The error a person reads on the job: `too_long` for a time limit, else the exception."""
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return too_long
    return f"Failed: {type(exc).__name__}: {exc}".strip()[:2000]


def drop_broken_connection() -> None:
    """The next attempt must not reuse a connection the database dropped.

    Only a connection that no longer works is closed: a usable one may hold a session lock
    (the recompute's advisory lock) that must outlive the error being recorded.
    """
    if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
        connection.close()


class JobTask(Task):
    """Base of every job task (`@shared_task(base=JobTask, bind=True, …)`): see the module docstring.

    A task body calls `self.retry_on_database_error(exc, job_model, job_id, **kwargs)` from
    its `except RETRYABLE_ERRORS` clause: the job shows `queued` with the reason while the
    retry waits, and the retry keeps the job's id.
    """

    acks_late = True
    max_retries = 5
    backoff_factor_seconds = 15
    backoff_max_seconds = 600

    def backoff(self) -> int:
        return get_exponential_backoff_interval(
            factor=self.backoff_factor_seconds,
            retries=self.request.retries,
            maximum=self.backoff_max_seconds,
            full_jitter=True,
        )

    def retry_on_database_error(self, exc: Exception, job_model: type[Job] | None, job_id: Any, /, **kwargs: Any):
        """Retry the task later (raises Celery's Retry), after the last attempt re-raise `exc`; returns
        False without retrying when the job declines the retry (`Job.mark_retrying`)."""
        drop_broken_connection()
        if self.request.retries >= self.max_retries:
            raise exc
        countdown = self.backoff()
        if job_model is not None and job_id is not None:
            attempt = self.request.retries + 1
            message = f"Database unavailable ({exc}); retry {attempt} of {self.max_retries} in {countdown} s."
            if not job_model.mark_retrying(job_id, message):
                return False
        raise self.retry(exc=exc, kwargs=kwargs or None, countdown=countdown) from exc


def _registered_task(task_name: str) -> Task:
    app = current_app
    if task_name not in app.tasks:
        app.loader.import_default_modules()  # a web process has not imported the apps' tasks yet
    return app.tasks[task_name]


def enqueue(task_name: str, *, kwargs: dict[str, Any], expires: int | None = None) -> None:
    """Hand `task_name` to the broker now; raise `QueueUnavailable` at once if it cannot be reached."""
    from kombu.exceptions import OperationalError as BrokerError

    try:
        _registered_task(task_name).apply_async(kwargs=kwargs, expires=expires, retry_policy=FAIL_FAST_RETRY_POLICY)
    except (BrokerError, ConnectionError, OSError) as exc:
        raise QueueUnavailable(str(exc)) from exc


def enqueue_on_commit(
    task_name: str,
    *,
    kwargs: dict[str, Any],
    job_model: type[Job] | None = None,
    job_id: Any = None,
    expires: int | None = None,
    unavailable: str = "The task queue is unavailable. Nothing was lost — try again in a minute.",
) -> None:
    """Queue `task_name` once the current transaction commits (the worker always finds the job row).

    If the broker cannot be reached, the job is marked failed and `QueueUnavailable(unavailable)`
    is raised from the commit, for the caller to show (call the service outside a transaction).
    """

    def send() -> None:
        try:
            enqueue(task_name, kwargs=kwargs, expires=expires)
        except QueueUnavailable as exc:
            logger.error("%s: could not queue %s: %s", task_name, job_id, exc)
            if job_model is not None:
                job_model.fail(job_id, f"{QUEUE_UNAVAILABLE} ({exc})")
            raise QueueUnavailable(unavailable) from exc

    transaction.on_commit(send, robust=False)
