"""The spend split's tables (PRODUCT.md §3): the rows, the runs that write them, their compact
history, and the overspend alerts the nightly job sends.

The tables keep the names they had when they lived in `budgets` (`budgets_splitrow`…):
raw SQL, benchmarks and operators' queries name them.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from budgets.models import MONEY, PeriodLock
from portfolio.jobs import RETRYABLE_ERRORS, Job, JobStatus

logger = logging.getLogger(__name__)


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
    # The forecast (PRODUCT.md §3) as of the run that wrote the row (or the freeze): a month before
    # the as-of month counts its actual_total, the as-of month and later ones max(planned, actual);
    # forecast_marketing = round_half_up(forecast_total × the month's share), IT the rest. Not an
    # export column of the split report: the forecast report and the roll-ups read them.
    forecast_total = models.DecimalField(**MONEY, default=0)
    forecast_marketing = models.DecimalField(**MONEY, default=0)
    forecast_it = models.DecimalField(**MONEY, default=0)
    # A row of a closed month (PRODUCT.md §3 "Closed months are final"): computed and frozen when
    # finance locked the month; a recompute carries it over untouched until the month is unlocked.
    closed = models.BooleanField(default=False)

    class Meta:
        db_table = "budgets_splitrow"
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


class SplitRun(Job):
    """One recompute of the split: when, how long, how many rows, and how it ended.

    Its state (status, started/finished, error) is the one job lifecycle of portfolio.jobs;
    `finished_at` of a succeeded run is the as-of time of every split figure.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trigger = models.CharField(max_length=16, default="schedule", help_text="schedule, command, ui, api or retry")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "budgets_splitrun"
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["status", "-finished_at"], name="split_run_status_finished")]
        constraints = [
            # Requests coalesce: one made while a run is waiting to start joins that run
            # (split.services.split_run_queue), so at most one run is ever queued.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="queued"),
                name="split_run_one_queued",
                violation_error_message="A recompute is already queued; a new request joins it.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queued_at:%Y-%m-%d %H:%M} {self.status}"

    @classmethod
    def mark_retrying(cls, pk, message: str) -> bool:
        """Queued again until the retry, unless another run was queued meanwhile: at most one run is
        queued (`split_run_one_queued`), and that one recomputes instead, so this one fails."""
        try:
            with transaction.atomic():
                return super().mark_retrying(pk, message)
        except RETRYABLE_ERRORS:  # the database is down: the retry still goes ahead, as in Job.mark_retrying
            logger.warning("split run %s: could not record the retry (database still unavailable)", pk)
            return True
        except IntegrityError:
            cls.objects.filter(pk=pk).update(
                status=JobStatus.FAILED, error=f"Failed: {message.split(';')[0]}. The next run recomputes instead."
            )
            return False


class SplitHistory(models.Model):
    """Compact per-run history: roll-ups by lane and fiscal month (bounded whatever the portfolio size).

    Every money column of the split rows, summed: readers sum these, never derive one from others.
    """

    run = models.ForeignKey(SplitRun, on_delete=models.CASCADE, related_name="history_rows")
    lane = models.CharField(max_length=16)
    month = models.DateField()
    fiscal_year = models.PositiveSmallIntegerField()
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
    # Runs recorded before the history kept the forecast have 0.00 here (only the latest run's is read).
    forecast_total = models.DecimalField(**MONEY, default=0)
    forecast_marketing = models.DecimalField(**MONEY, default=0)
    forecast_it = models.DecimalField(**MONEY, default=0)

    class Meta:
        db_table = "budgets_splithistory"
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
        db_table = "budgets_overspendalert"
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


class ClosedMonth(models.Model):
    """A locked month whose split rows are frozen (PRODUCT.md §3 "Closed months are final").

    Created in the locking transaction with the month's totals as frozen; deleted (unfrozen) when
    finance unlocks the month. Its history records every freeze and unfreeze with who, when and why.
    """

    month = models.DateField(unique=True, help_text="The first day of the closed calendar month.")
    lock = models.OneToOneField(PeriodLock, on_delete=models.PROTECT, related_name="closed_month")
    frozen_at = models.DateTimeField(auto_now_add=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    row_count = models.PositiveIntegerField(default=0)
    planned_total = models.DecimalField(**MONEY, default=0)
    planned_marketing = models.DecimalField(**MONEY, default=0)
    actual_total = models.DecimalField(**MONEY, default=0)
    actual_marketing = models.DecimalField(**MONEY, default=0)
    paid_marketing = models.DecimalField(**MONEY, default=0)
    paid_it = models.DecimalField(**MONEY, default=0)
    true_up = models.DecimalField(**MONEY, default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(month__day=1),
                name="closed_month_is_first_day",
                violation_error_message="A closed month is the first day of a calendar month.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} closed"


class SettlementStatus(models.TextChoices):
    ACTIVE = "active", "Settled"
    REVERSED = "reversed", "Reversed"


class Settlement(models.Model):
    """A true-up settlement of one or more closed months (PRODUCT.md §3 "True-up settlement").

    Its amount is the sum of the months' frozen `true_up` (positive: marketing pays IT). It is
    never edited; it can only be reversed, with a reason, after which its months can be settled again.
    """

    reference = models.CharField(max_length=100, help_text="The ERP document that booked the settlement.")
    first_month = models.DateField()
    last_month = models.DateField()
    months = models.JSONField(default=list, help_text="The months settled, as YYYY-MM (kept after a reversal).")
    amount = models.DecimalField(**MONEY, help_text="Sum of the months' frozen true-up: positive, marketing pays IT.")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=SettlementStatus.choices, default=SettlementStatus.ACTIVE)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-first_month", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status="active"),
                name="settlement_reference_unique_active",
                violation_error_message="A settlement with this ERP reference already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(reference=""),
                name="settlement_reference_required",
                violation_error_message="Enter the ERP reference of the settlement.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "reversed"]),
                name="settlement_status_valid",
                violation_error_message="Unknown settlement status.",
            ),
            models.CheckConstraint(
                condition=Q(status="active", reversed_at__isnull=True)
                | (Q(status="reversed", reversed_at__isnull=False) & ~Q(reversal_reason="")),
                name="settlement_reversal_recorded",
                violation_error_message="A reversal records when and why.",
            ),
            models.CheckConstraint(
                condition=Q(first_month__day=1) & Q(last_month__day=1) & Q(last_month__gte=F("first_month")),
                name="settlement_months_valid",
                violation_error_message="A settlement covers whole months, the first not after the last.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.first_month:%Y-%m}–{self.last_month:%Y-%m})"


class SettlementMonth(models.Model):
    """A closed month inside an active settlement: a month is in at most one (deleted on reversal)."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="settled_months")
    closed_month = models.OneToOneField(ClosedMonth, on_delete=models.PROTECT, related_name="settlement_month")
    month = models.DateField(unique=True)

    class Meta:
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} in {self.settlement_id}"


class SettlementLine(models.Model):
    """A settlement's amount for one initiative: the sum of its frozen true-up over the months."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    initiative = models.ForeignKey(
        "initiatives.Initiative", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    initiative_code = models.CharField(max_length=16)
    initiative_title = models.CharField(max_length=200)
    true_up = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["settlement", "initiative_code"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "initiative"], name="settlement_line_unique_initiative"),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id} {self.initiative_code} {self.true_up}"
