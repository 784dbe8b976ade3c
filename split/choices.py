"""Enumerations of the split engine."""

from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    # Its worker died mid-run (killed, out of memory, machine lost): nothing was written.
    INTERRUPTED = "interrupted", "Interrupted"
