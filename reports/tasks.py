"""Celery tasks of the finance exports: thin wrappers that take ids and call reports.exports.

`export_job_task` writes one background export (safe to run twice: a job that
succeeded is left alone, a rerun rewrites the file from scratch), so it uses
`acks_late`; only database connectivity errors are retried, with backoff. Other
failures are recorded on the job by the service, which the person sees on
My exports, and are not raised again. `export_files_purge_task` runs nightly
(CELERY_BEAT_SCHEDULE) and removes exports older than seven days.

Registered with Celery through budgets/tasks.py, which imports this module.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import InterfaceError, OperationalError, connection

from reports.choices import ExportStatus
from reports.exports import export_files_purge, export_job_run
from reports.models import ExportJob

logger = logging.getLogger(__name__)

RETRYABLE_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 3


@shared_task(
    bind=True,
    name="reports.tasks.export_job_task",
    acks_late=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def export_job_task(self, job_id: str) -> dict:
    """Write the file of background export `job_id`."""
    try:
        job = export_job_run(job_id=job_id)
    except ExportJob.DoesNotExist:
        logger.warning("export %s does not exist (any more); nothing to do", job_id)
        return {"job_id": job_id, "status": "missing"}
    except RETRYABLE_ERRORS as exc:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        if self.request.retries >= self.max_retries:
            raise
        countdown = get_exponential_backoff_interval(
            factor=10, retries=self.request.retries, maximum=300, full_jitter=True
        )
        try:
            ExportJob.objects.filter(pk=job_id).update(
                status=ExportStatus.QUEUED, error=f"Database unavailable; retrying in {countdown} s."
            )
        except RETRYABLE_ERRORS:
            logger.warning("export %s: could not record the retry (database still unavailable)", job_id)
        raise self.retry(exc=exc, countdown=countdown) from exc
    except Exception:  # recorded on the job by export_job_run; the person sees it on My exports
        return {"job_id": job_id, "status": ExportStatus.FAILED}
    return {"job_id": job_id, "status": job.status, "rows": job.rows_written}


@shared_task(name="reports.tasks.export_files_purge_task")
def export_files_purge_task() -> dict:
    """Remove exports (files and jobs) older than seven days."""
    return {"removed": export_files_purge()}
