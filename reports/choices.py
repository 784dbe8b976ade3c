"""Enumerations of the finance exports (their status is `portfolio.jobs.JobStatus`, shared by every job)."""

from django.db import models


class ExportFormat(models.TextChoices):
    CSV = "csv", "Split report (CSV)"
    XLSX = "xlsx", "Split report (XLSX)"
    JOURNAL = "journal", "True-up journal (CSV)"
    FORECAST_CSV = "forecast_csv", "Forecast report (CSV)"
    FORECAST_XLSX = "forecast_xlsx", "Forecast report (XLSX)"
