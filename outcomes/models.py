"""Shared outcomes (PRODUCT.md §3b): the KPIs an initiative is meant to move, and their measurements.

A KPI keeps beside its definition what its measurements say — the first and the latest measurement, the
attainment and the last day it is on track (`outcomes.attainment`) — written by the services whenever a
measurement or the definition changes (`outcomes.services.kpis_refresh`), so that the dashboard and the
report count 50,000 KPIs without reading a million measurements. The database enforces what must never
be violated: one name per initiative, a target away from the baseline on the side of the direction, one
measurement per KPI and day, and the stored figures present together or not at all.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from initiatives.models import Initiative

from .choices import Direction, Side

KPIS_PER_INITIATIVE = 5
VALUE_DIGITS, VALUE_PLACES = 18, 4  # baseline, target and measured values: up to 14 digits and 4 places


def _value(verbose_name: str, **extra) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, **extra)


def on_track_by(on_track_until, day) -> bool | None:
    """On track on `day` by a KPI's stored last day on track; None when it has not been measured yet."""
    return None if on_track_until is None else day <= on_track_until


def measured_q(prefix: str = "") -> Q:
    """KPIs measured at least once (their stored figures present)."""
    return Q(**{f"{prefix}latest_value__isnull": False})


def on_track_q(day, prefix: str = "") -> Q:
    """KPIs on track on `day`, as a filter (`prefix` "outcome_kpis__" from an initiative): by the stored last
    day on track (`outcomes.attainment.on_track_until`), NULL — not measured — on neither side."""
    return Q(**{f"{prefix}on_track_until__gte": day})


def off_track_q(day, prefix: str = "") -> Q:
    """KPIs measured and off track on `day` (see `on_track_q`)."""
    return Q(**{f"{prefix}on_track_until__lt": day})


class OutcomeKpiQuerySet(models.QuerySet):
    def on_track(self, day):
        return self.filter(on_track_q(day))

    def off_track(self, day):
        return self.filter(off_track_q(day))

    def not_measured(self):
        return self.filter(latest_value__isnull=True)


class OutcomeKpi(models.Model):
    """One outcome KPI of an initiative: what marketing and IT agreed success looks like (§3b)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="outcome_kpis")
    name = models.CharField(max_length=120, help_text="What is measured, e.g. “Checkout conversion rate”.")
    unit = models.CharField(max_length=24, help_text="e.g. %, ms, USD, orders a day.")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    baseline = _value("baseline")
    target = _value("target")
    target_date = models.DateField()
    owner_side = models.CharField("owning side", max_length=16, choices=Side.choices)
    # What the measurements say, kept by outcomes.services.kpis_refresh (None before the first one).
    first_measured_on = models.DateField(null=True, blank=True, editable=False)
    latest_measured_on = models.DateField(null=True, blank=True, editable=False)
    latest_value = _value("latest value", null=True, blank=True, editable=False)
    attainment_pct = models.DecimalField(
        "attainment (%)", max_digits=24, decimal_places=2, null=True, blank=True, editable=False
    )
    on_track_until = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    objects = OutcomeKpiQuerySet.as_manager()
    history = HistoricalRecords(
        excluded_fields=[
            "updated_at",
            "first_measured_on",
            "latest_measured_on",
            "latest_value",
            "attainment_pct",
            "on_track_until",
        ]
    )

    class Meta:
        ordering = ["initiative_id", "id"]
        verbose_name = "outcome KPI"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "initiative",
                name="outcome_kpi_name_unique_per_initiative",
                violation_error_message="This initiative already has a KPI with this name.",
            ),
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values),
                name="outcome_kpi_direction_valid",
                violation_error_message="Choose whether the KPI should go up or down.",
            ),
            models.CheckConstraint(
                condition=Q(owner_side__in=Side.values),
                name="outcome_kpi_owner_side_valid",
                violation_error_message="Choose marketing or IT as the owning side.",
            ),
            models.CheckConstraint(
                condition=Q(direction=Direction.UP, target__gt=F("baseline"))
                | Q(direction=Direction.DOWN, target__lt=F("baseline")),
                name="outcome_kpi_target_beyond_baseline",
                violation_error_message="The target must lie beyond the baseline in the KPI's direction.",
            ),
            models.CheckConstraint(
                condition=Q(
                    first_measured_on__isnull=True,
                    latest_measured_on__isnull=True,
                    latest_value__isnull=True,
                    attainment_pct__isnull=True,
                    on_track_until__isnull=True,
                )
                | Q(
                    first_measured_on__isnull=False,
                    latest_measured_on__gte=F("first_measured_on"),
                    latest_value__isnull=False,
                    attainment_pct__isnull=False,
                    on_track_until__isnull=False,
                ),
                name="outcome_kpi_measured_figures_together",
                violation_error_message="A KPI's measured figures are all present or all absent.",
            ),
        ]
        indexes = [models.Index(fields=["owner_side", "on_track_until"], name="outcome_kpi_side_on_track")]

    def __str__(self) -> str:
        return self.name

    def on_track_on(self, day) -> bool | None:
        """On track on `day`? None before its first measurement (the stored form of `attainment.on_track`)."""
        return on_track_by(self.on_track_until, day)


class OutcomeMeasurement(models.Model):
    """A KPI's value on a day: from the PM's form, the CSV import or the API (§3b)."""

    kpi = models.ForeignKey(OutcomeKpi, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField()
    value = _value("value")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["kpi_id", "measured_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "measured_on"],
                name="outcome_measurement_one_per_day",
                violation_error_message="This KPI already has a measurement on that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} on {self.measured_on}: {self.value}"
