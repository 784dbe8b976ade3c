"""Finance exports in the background (PRODUCT.md §4): request, retry, run and purge an `ExportJob`.

Above EXPORT_ASYNC_ROWS rows the reports page does not make the person wait: an
ExportJob row is recorded, its task is queued by name once that row is committed
(`portfolio.jobs.enqueue_on_commit`), and the task writes the file under
MEDIA_ROOT/exports/, recording its progress as it goes. The job's lifecycle
(claim, finish, fail, retry) is the one of every job (`portfolio.jobs.Job`).
Files are kept EXPORT_KEEP_DAYS days, then removed by a nightly task.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio import jobs
from portfolio.jobs import JobStatus, QueueUnavailable, describe_failure
from reports.choices import ExportFormat
from reports.forecast import forecast_csv_chunks
from reports.forecast_xlsx import write_forecast_xlsx
from reports.journal import journal_csv_chunks, journal_rows
from reports.models import ExportJob
from reports.selectors import EXPORT_KEEP_DAYS, SplitExport
from reports.split_csv import split_csv_chunks
from reports.xlsx import write_split_xlsx

logger = logging.getLogger(__name__)

EXPORT_TASK = "reports.tasks.export_job_task"
EXPORT_KINDS: dict[str, tuple[str, str]] = {
    ExportFormat.CSV: ("split-report", "csv"),
    ExportFormat.XLSX: ("split-report", "xlsx"),
    ExportFormat.JOURNAL: ("true-up-journal", "csv"),
    ExportFormat.FORECAST_CSV: ("forecast-report", "csv"),
    ExportFormat.FORECAST_XLSX: ("forecast-report", "xlsx"),
}
FORECAST_FORMATS = (ExportFormat.FORECAST_CSV, ExportFormat.FORECAST_XLSX)
EXPORTS_FOLDER = "exports"
# A queued export no worker picked up within this many seconds is dropped by the broker.
QUEUED_EXPORT_EXPIRES_SECONDS = 3600
PROGRESS_EVERY_SECONDS = 0.5
EXPORT_UNAVAILABLE = (
    "The export could not be queued: the task queue is unavailable. Nothing was lost — try again in a minute."
)
TOO_LONG = "Failed: the export took longer than its time limit. Try a narrower selection."
# The export task's time limits (reports.tasks): past the hard one, a job still `running` is dead.
EXPORT_SOFT_TIME_LIMIT_SECONDS = 20 * 60
EXPORT_TIME_LIMIT_SECONDS = 25 * 60
INTERRUPTED = "Interrupted: the worker stopped before the file was written. Try again."

# The export task could not be handed to the broker: the job is kept, marked failed (its error starts
# with `portfolio.jobs.QUEUE_UNAVAILABLE`), and can be retried; the message is for the person.
ExportQueueUnavailable = QueueUnavailable


def export_row_count(export: SplitExport, export_format: str) -> int:
    """How many data rows the file will have (journal: the rows with a true-up; forecast: initiative-years)."""
    if export_format == ExportFormat.JOURNAL:
        return journal_rows(export.filters).count()
    if export_format in FORECAST_FORMATS:
        return export.forecast_totals()["lines"]
    return export.row_count()


def export_job_request(*, export_format: str, params: Mapping[str, Any], by) -> ExportJob:
    """Record a background export for `by` and queue its task once the job row is committed.

    Bad filters raise SplitFilterError and record nothing. If the broker cannot be
    reached the job stays (failed, with its filters) and ExportQueueUnavailable is
    raised for the caller to show; `export_job_retry` queues it again.

    Deliberately not `@transaction.atomic`: the task is sent after the commit, and a
    failure to send it is recorded in its own transaction.
    """
    if export_format not in EXPORT_KINDS:
        raise ValueError(f"unknown export format {export_format!r}; use one of {', '.join(EXPORT_KINDS)}")
    export = SplitExport.prepare(params)
    kind, extension = EXPORT_KINDS[export_format]
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=by,
            format=export_format,
            filters=export.query_params(),
            row_count=export_row_count(export, export_format),
            as_of=export.as_of,
            file_name=export.filename(kind, extension),
        )
        _enqueue_on_commit(job)
    job.refresh_from_db()
    return job


def export_job_retry(*, job: ExportJob, by) -> ExportJob:
    """Queue a failed export of `by` again (same filters); other jobs are left alone."""
    if job.requested_by_id != by.pk or job.status != JobStatus.FAILED:
        return job
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED, error="", progress=0, rows_written=0, started_at=None, finished_at=None
        )
        _enqueue_on_commit(job)
    job.refresh_from_db()
    return job


def _enqueue_on_commit(job: ExportJob) -> None:
    jobs.enqueue_on_commit(
        EXPORT_TASK,
        kwargs={"job_id": str(job.pk)},
        job_model=ExportJob,
        job_id=job.pk,
        expires=QUEUED_EXPORT_EXPIRES_SECONDS,
        unavailable=EXPORT_UNAVAILABLE,
    )


class _ProgressRecorder:
    """Records rows written on the job now and then (at most every PROGRESS_EVERY_SECONDS)."""

    def __init__(self, job: ExportJob):
        self.job_id = job.pk
        self.total = job.row_count or 0
        self.rows = 0
        self.recorded_at = 0.0

    def __call__(self, rows: int) -> None:
        self.rows = rows
        now = time.monotonic()
        if now - self.recorded_at >= PROGRESS_EVERY_SECONDS:
            self.recorded_at = now
            percent = min(99, rows * 100 // self.total) if self.total else 0
            ExportJob.objects.filter(pk=self.job_id).update(rows_written=rows, progress=percent)


def export_file_path(job: ExportJob) -> Path:
    """Where the job's file is (or will be) on disk."""
    return Path(settings.MEDIA_ROOT) / (job.file or f"{EXPORTS_FOLDER}/{job.pk}.{EXPORT_KINDS[job.format][1]}")


def write_chunks(chunks: Iterable[bytes], target: IO[bytes]) -> int:
    """Write byte chunks to a file; returns the bytes written."""
    written = 0
    for chunk in chunks:
        target.write(chunk)
        written += len(chunk)
    return written


def export_job_run(*, job_id: uuid.UUID | str) -> ExportJob:
    """Write the file of a queued export, recording progress; returns the job in its final state.

    A job that already succeeded is returned untouched (a redelivered message
    changes nothing). The file is written under a temporary name and renamed when
    complete, so a download never sees half a file. Failures are recorded on the
    job and raised.
    """
    job = ExportJob.claim(job_id, rows_written=0)
    if job.status == JobStatus.SUCCEEDED:
        return job
    kind, extension = EXPORT_KINDS[job.format]
    relative = f"{EXPORTS_FOLDER}/{job.pk}.{extension}"
    final = Path(settings.MEDIA_ROOT) / relative
    partial = final.with_name(final.name + ".part")
    try:
        export = SplitExport.prepare(job.filters)  # the latest recompute when the file is written
        final.parent.mkdir(parents=True, exist_ok=True)
        progress = _ProgressRecorder(job)
        with open(partial, "wb") as target:
            requested_by = job.requested_by.get_full_name() or job.requested_by.get_username()
            if job.format == ExportFormat.XLSX:
                rows = write_split_xlsx(export, target, requested_by=requested_by, progress=progress)
            elif job.format == ExportFormat.FORECAST_XLSX:
                rows = write_forecast_xlsx(export, target, requested_by=requested_by, progress=progress)
            else:
                chunks = {
                    ExportFormat.CSV: split_csv_chunks,
                    ExportFormat.JOURNAL: journal_csv_chunks,
                    ExportFormat.FORECAST_CSV: forecast_csv_chunks,
                }[job.format]
                write_chunks(chunks(export.filters, progress=progress), target)
                rows = progress.rows
        os.replace(partial, final)
        ExportJob.finish(
            job.pk,
            rows_written=rows,
            row_count=rows,
            file=relative,
            file_size=final.stat().st_size,
            file_name=export.filename(kind, extension),
            as_of=export.as_of,
        )
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        logger.exception("export %s failed", job.pk)
        ExportJob.fail(job.pk, describe_failure(exc, too_long=TOO_LONG))
        raise
    logger.info("export %s: %s rows, %s", job.pk, rows, final.name)
    job.refresh_from_db()
    return job


def export_files_purge(*, now: dt.datetime | None = None, keep_days: int = EXPORT_KEEP_DAYS) -> int:
    """Remove the exports (files and jobs) older than `keep_days` days; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days)
    folder = (Path(settings.MEDIA_ROOT) / EXPORTS_FOLDER).resolve()
    removed = 0
    for job in ExportJob.objects.filter(created_at__lt=cutoff).only("pk", "file", "format"):
        path = export_file_path(job).resolve()
        if path.parent == folder:  # only ever delete inside the exports folder
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".part").unlink(missing_ok=True)
        job.delete()
        removed += 1
    if removed:
        logger.info("exports: removed %s older than %s days", removed, keep_days)
    return removed


def export_jobs_recover() -> int:
    """Exports whose worker died (killed, machine lost) are marked failed, so the person sees it on My
    exports and can try again, instead of a job `running` until the broker redelivers its message."""
    closed = ExportJob.overrun_close(limit_seconds=EXPORT_TIME_LIMIT_SECONDS + 60, error=INTERRUPTED)
    if closed:
        logger.warning("exports: %s job(s) whose worker died marked failed", closed)
    return closed
