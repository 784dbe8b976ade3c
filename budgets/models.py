"""Budgets, actuals, FX rates, period locks and the spend split (PRODUCT.md §2–§3).

Amounts are `Decimal` with two places in the reporting currency unless the
field says otherwise. What must never be violated is a named database
constraint, so no path (form, API, importer, admin, raw ORM) can store it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import Category, ExportFormat, ExportStatus, Payer, RunStatus

MONEY = {"max_digits": 14, "decimal_places": 2}


class BudgetLine(models.Model):
    """Planned spend of one initiative, month and category."""

    initiative = models.ForeignKey("initiatives.Initiative", on_delete=models.CASCADE, related_name="budget_lines")
    month = models.DateField(help_text="The first day of a calendar month.")
    category = models.CharField(max_length=16, choices=Category.choices)
    amount = models.DecimalField(**MONEY)

    history = HistoricalRecords()

    class Meta:
        ordering = ["initiative", "month", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "month", "category"],
                name="budget_line_unique_initiative_month_category",
                violation_error_message="This initiative already has a budget line for that month and category.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="budget_line_amount_not_negative",
                violation_error_message="A budget amount cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="budget_line_month_is_first_day",
                violation_error_message="A budget month is the first day of a calendar month.",
            ),
            models.CheckConstraint(
                condition=Q(category__in=Category.values),
                name="budget_line_category_valid",
                violation_error_message="Unknown category.",
            ),
        ]
        indexes = [models.Index(fields=["month"], name="budget_line_month")]

    def __str__(self) -> str:
        return f"{self.initiative_id} {self.month:%Y-%m} {self.category} {self.amount}"


class Expense(models.Model):
    """An actual: money really spent (or credited back) on an initiative."""

    initiative = models.ForeignKey("initiatives.Initiative", on_delete=models.PROTECT, related_name="expenses")
    incurred_on = models.DateField()
    amount = models.DecimalField(**MONEY, help_text="In `currency`; negative for a credit or reversal.")
    currency = models.CharField(max_length=3, help_text="ISO 4217 code.")
    amount_reporting = models.DecimalField(
        "amount in reporting currency",
        **MONEY,
        help_text="`amount` at the FX rate of its currency and month, half-up to cents.",
    )
    paid_by = models.CharField(max_length=16, choices=Payer.choices, help_text="Whose cost centre was charged.")
    category = models.CharField(max_length=16, choices=Category.choices)
    vendor = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=32, default="manual", help_text="Where the record came from (e.g. erp).")
    external_ref = models.CharField(
        "external reference",
        max_length=100,
        null=True,
        blank=True,
        help_text="The source system's document id; unique per source.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-incurred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="expense_amount_not_zero",
                violation_error_message="An expense amount cannot be zero.",
            ),
            models.UniqueConstraint(
                fields=["source", "external_ref"],
                name="expense_unique_source_external_ref",
                violation_error_message="An expense with this source and external reference already exists.",
            ),
            models.CheckConstraint(
                condition=Q(paid_by__in=Payer.values),
                name="expense_paid_by_valid",
                violation_error_message="Paid by must be marketing or it.",
            ),
            models.CheckConstraint(
                condition=Q(category__in=Category.values),
                name="expense_category_valid",
                violation_error_message="Unknown category.",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="expense_currency_iso_4217",
                violation_error_message="Currency must be a three-letter ISO 4217 code.",
            ),
        ]
        indexes = [
            models.Index(fields=["initiative", "incurred_on"], name="expense_initiative_date"),
            models.Index(fields=["incurred_on"], name="expense_incurred_on"),
            models.Index(fields=["currency", "incurred_on"], name="expense_currency_date"),
        ]

    # What an expense records besides its initiative, id and creation time: the columns that
    # the importer writes, the API and the lists show, and the audit log lists.
    RECORD_FIELDS = (
        "incurred_on",
        "amount",
        "currency",
        "amount_reporting",
        "paid_by",
        "category",
        "vendor",
        "description",
        "source",
        "external_ref",
    )

    def __str__(self) -> str:
        return f"{self.incurred_on} {self.amount} {self.currency} ({self.paid_by})"


class FxRate(models.Model):
    """Units of reporting currency per one unit of `currency` during `month`."""

    currency = models.CharField(max_length=3)
    month = models.DateField(help_text="The first day of a calendar month.")
    rate = models.DecimalField(max_digits=18, decimal_places=8)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "FX rate"
        ordering = ["-month", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "month"],
                name="fx_rate_unique_currency_month",
                violation_error_message="There is already a rate for this currency and month.",
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0),
                name="fx_rate_positive",
                violation_error_message="An FX rate must be positive.",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="fx_rate_month_is_first_day",
                violation_error_message="An FX month is the first day of a calendar month.",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="fx_rate_currency_iso_4217",
                violation_error_message="Currency must be a three-letter ISO 4217 code.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.month:%Y-%m} = {self.rate}"


class PeriodLock(models.Model):
    """A closed month: nothing dated in it may be created, changed or deleted."""

    month = models.DateField(unique=True, help_text="The first day of the locked calendar month.")
    reason = models.CharField(max_length=500)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="period_lock_month_is_first_day",
                violation_error_message="A locked month is the first day of a calendar month.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} locked"


class ImportRun(models.Model):
    """One import that went through (files with errors save nothing, so they leave no run)."""

    kind = models.CharField(max_length=16, help_text="actuals, budget or fx_rates")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    via = models.CharField(max_length=16, default="web", help_text="web or command")
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField()
    created = models.PositiveIntegerField()
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-run_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.file_name} {self.run_at:%Y-%m-%d %H:%M}"


class SplitRow(models.Model):
    """One (initiative, month) row of the spend split, as of the latest recompute (§3).

    The initiative's code, title, lane, status and share are copied in at
    recompute time so that the dashboard, exports and API read one table and
    all show the same snapshot.
    """

    initiative = models.ForeignKey(
        "initiatives.Initiative", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    month = models.DateField()
    fiscal_year = models.PositiveSmallIntegerField()
    fiscal_quarter = models.PositiveSmallIntegerField()
    initiative_code = models.CharField(max_length=16)
    initiative_title = models.CharField(max_length=200)
    lane = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    marketing_share_pct = models.DecimalField(max_digits=5, decimal_places=2)
    planned_total = models.DecimalField(**MONEY)
    planned_marketing = models.DecimalField(**MONEY)
    planned_it = models.DecimalField(**MONEY)
    actual_total = models.DecimalField(**MONEY)
    actual_marketing = models.DecimalField(**MONEY)
    actual_it = models.DecimalField(**MONEY)
    paid_marketing = models.DecimalField(**MONEY)
    paid_it = models.DecimalField(**MONEY)
    true_up = models.DecimalField(**MONEY)
    variance = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["fiscal_year", "month", "initiative_code"]
        constraints = [
            models.UniqueConstraint(fields=["initiative", "month"], name="split_row_unique_initiative_month"),
        ]
        indexes = [
            models.Index(fields=["fiscal_year", "fiscal_quarter"], name="split_row_fiscal"),
            models.Index(fields=["month", "initiative_code"], name="split_row_month_code"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_code} {self.month:%Y-%m}"


class SplitRun(models.Model):
    """One recompute of the split: when, how long, how many rows, and how it ended."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=16, default="schedule", help_text="schedule, command, ui or api")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="The as-of time of a successful run.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["status", "-finished_at"], name="split_run_status_finished")]
        constraints = [
            # Requests coalesce: one made while a run is waiting to start joins that run
            # (budgets.spend_split.split_run_queue), so at most one run is ever queued.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="queued"),
                name="split_run_one_queued",
                violation_error_message="A recompute is already queued; a new request joins it.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queued_at:%Y-%m-%d %H:%M} {self.status}"


class SplitHistory(models.Model):
    """Compact per-run history: roll-ups by lane and fiscal month (bounded whatever the portfolio size)."""

    run = models.ForeignKey(SplitRun, on_delete=models.CASCADE, related_name="history_rows")
    lane = models.CharField(max_length=16)
    month = models.DateField()
    fiscal_year = models.PositiveSmallIntegerField()
    planned_total = models.DecimalField(**MONEY)
    planned_marketing = models.DecimalField(**MONEY)
    actual_total = models.DecimalField(**MONEY)
    actual_marketing = models.DecimalField(**MONEY)
    paid_marketing = models.DecimalField(**MONEY)
    true_up = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["run", "month", "lane"]
        constraints = [
            models.UniqueConstraint(fields=["run", "lane", "month"], name="split_history_unique_run_lane_month"),
        ]
        verbose_name_plural = "split history"

    def __str__(self) -> str:
        return f"{self.run_id} {self.lane} {self.month:%Y-%m}"


class OverspendAlert(models.Model):
    """An overspend alert sent for an initiative in a month: at most one per (initiative, month)."""

    initiative = models.ForeignKey("initiatives.Initiative", on_delete=models.CASCADE, related_name="overspend_alerts")
    month = models.DateField(help_text="The first day of the calendar month the alert was sent in.")
    sent_at = models.DateTimeField(auto_now_add=True)
    fiscal_year = models.PositiveSmallIntegerField(help_text="The fiscal year whose year-to-date figures triggered it.")
    planned_total = models.DecimalField(**MONEY, help_text="Fiscal-year-to-date planned spend when sent.")
    actual_total = models.DecimalField(**MONEY, help_text="Fiscal-year-to-date actual spend when sent.")

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "month"],
                name="overspend_alert_unique_initiative_month",
                violation_error_message="An overspend alert was already sent for this initiative and month.",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="overspend_alert_month_is_first_day",
                violation_error_message="An alert month is the first day of a calendar month.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} overspend {self.month:%Y-%m}"


class ExportJob(models.Model):
    """A finance export written in the background (PRODUCT.md §4): above EXPORT_ASYNC_ROWS rows.

    The task records its own progress here; the file lives under MEDIA_ROOT/exports/ and is
    served only to the person who asked for it, until the nightly clean-up removes it after 7 days.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict, blank=True, help_text="The query parameters of the export, normalised.")
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0–100.")
    row_count = models.PositiveIntegerField(null=True, blank=True, help_text="Rows to write (known when queued).")
    rows_written = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=255, blank=True, help_text="Path of the file relative to MEDIA_ROOT.")
    file_name = models.CharField(max_length=200, blank=True, help_text="The name the download gets.")
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="As-of time of the split run exported.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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
                condition=Q(status__in=ExportStatus.values),
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
