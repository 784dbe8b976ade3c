"""Celery tasks of the finance exports: thin wrappers that take ids and call reports.services.

`export_job_task` writes one background export. It is a `portfolio.jobs.JobTask`: safe
to run twice (a job that succeeded is left alone, a rerun rewrites the file from
scratch), so acknowledged late; only database connectivity errors are retried, with
backoff. Other failures are recorded on the job by the service, which the person sees
on My exports, and are not raised again. The services queue it by name
(`portfolio.jobs.enqueue_on_commit`), never by importing this module.
`export_files_purge_task` runs nightly (CELERY_BEAT_SCHEDULE) and removes exports
older than seven days. Celery finds both by autodiscovery.
"""

from __future__ import annotations

import logging

from celery import shared_task

from portfolio.jobs import RETRYABLE_ERRORS, JobStatus, JobTask
from reports.models import ExportJob
from reports.services import (
    EXPORT_SOFT_TIME_LIMIT_SECONDS,
    EXPORT_TIME_LIMIT_SECONDS,
    export_files_purge,
    export_job_run,
    export_jobs_recover,
)

logger = logging.getLogger(__name__)


@shared_task(
    base=JobTask,
    bind=True,
    name="reports.tasks.export_job_task",
    max_retries=3,
    backoff_factor_seconds=10,
    backoff_max_seconds=300,
    soft_time_limit=EXPORT_SOFT_TIME_LIMIT_SECONDS,
    time_limit=EXPORT_TIME_LIMIT_SECONDS,
)
def export_job_task(self, job_id: str) -> dict:
    """Write the file of background export `job_id`."""
    try:
        job = export_job_run(job_id=job_id)
    except ExportJob.DoesNotExist:
        logger.warning("export %s does not exist (any more); nothing to do", job_id)
        return {"job_id": job_id, "status": "missing"}
    except RETRYABLE_ERRORS as exc:
        self.retry_on_database_error(exc, ExportJob, job_id)  # the retry keeps this call's arguments
    except Exception:  # recorded on the job by export_job_run; the person sees it on My exports
        return {"job_id": job_id, "status": JobStatus.FAILED}
    return {"job_id": job_id, "status": job.status, "rows": job.rows_written}


@shared_task(name="reports.tasks.export_files_purge_task")
def export_files_purge_task() -> dict:
    """Remove exports (files and jobs) older than seven days."""
    return {"removed": export_files_purge()}


@shared_task(name="reports.tasks.export_jobs_recover_task", soft_time_limit=60, time_limit=90)
def export_jobs_recover_task() -> dict:
    """Beat's check, every five minutes: exports whose worker died are marked failed (can be retried)."""
    return {"closed": export_jobs_recover()}
