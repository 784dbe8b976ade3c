"""Budgets, actuals, FX rates, period locks and import runs: the finance records (PRODUCT.md §2).

Amounts are `Decimal` with two places in the reporting currency unless the
field says otherwise. What must never be violated is a named database
constraint, so no path (form, API, importer, admin, raw ORM) can store it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import Category, Payer

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
