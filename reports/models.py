"""The background finance exports (PRODUCT.md §4)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from portfolio.jobs import Job, JobStatus
from reports.choices import ExportFormat

# An export is never skipped. How the pages call each state: a finished export is "Ready" (to download).
EXPORT_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED)
EXPORT_STATUS_LABELS = {**dict(JobStatus.choices), JobStatus.SUCCEEDED: "Ready"}


class ExportJob(Job):
    """A finance export written in the background (PRODUCT.md §4): above EXPORT_ASYNC_ROWS rows.

    One job of `portfolio.jobs` (status, started/finished times, progress, error come from
    `Job`). The task records its own progress here; the file lives under MEDIA_ROOT/exports/
    and is served only to the person who asked for it, until the nightly clean-up removes it
    after 7 days.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict, blank=True, help_text="The query parameters of the export, normalised.")
    row_count = models.PositiveIntegerField(null=True, blank=True, help_text="Rows to write (known when queued).")
    rows_written = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=255, blank=True, help_text="Path of the file relative to MEDIA_ROOT.")
    file_name = models.CharField(max_length=200, blank=True, help_text="The name the download gets.")
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="As-of time of the split run exported.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "budgets_exportjob"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100),
                name="export_job_progress_at_most_100",
                violation_error_message="Progress is a percentage (0–100).",
            ),
            models.CheckConstraint(
                condition=Q(format__in=ExportFormat.values),
                name="export_job_format_valid",
                violation_error_message="Unknown export format.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EXPORT_STATUSES),
                name="export_job_status_valid",
                violation_error_message="Unknown export status.",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="export_job_user_created"),
            models.Index(fields=["created_at"], name="export_job_created"),
        ]

    def __str__(self) -> str:
        return f"{self.format} export {self.created_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def status_label(self) -> str:
        """The status in the pages' words ("Ready" for a finished export)."""
        return EXPORT_STATUS_LABELS.get(self.status, self.status)
