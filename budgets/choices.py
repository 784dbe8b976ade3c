"""Enumerations of budgets, actuals and the split (PRODUCT.md §2–§3)."""

from django.db import models


class Category(models.TextChoices):
    LABOR = "labor", "Labor"
    SOFTWARE = "software", "Software"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    AGENCY = "agency", "Agency"
    MEDIA = "media", "Media"
    OTHER = "other", "Other"


class Payer(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    IT = "it", "IT"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    # Its worker died mid-run (killed, out of memory, machine lost): nothing was written.
    INTERRUPTED = "interrupted", "Interrupted"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    JOURNAL = "journal", "True-up journal (CSV)"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"
