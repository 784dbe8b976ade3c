"""Initiatives and the people who run them (PRODUCT.md §1–§2)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .choices import Health, Lane, Side, Status

CODE_PREFIX = "INI-"


def format_initiative_code(number: int) -> str:
    """`INI-0001`; numbers past 9999 simply grow (`INI-12345`)."""
    return f"{CODE_PREFIX}{number:04d}"


class Profile(models.Model):
    """What Django's user lacks: the side (marketing or IT) a person works for."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    side = models.CharField(max_length=16, choices=Side.choices, blank=True)
    title = models.CharField(max_length=120, blank=True, help_text="Job title shown beside the name.")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_side_display() or 'no side'})"


class CodeSequence(models.Model):
    """The last number handed out for a code prefix.

    A row per prefix, created by a migration, locked with SELECT … FOR UPDATE
    when a code is drawn: codes are never reused, even after a delete, and two
    concurrent creations never draw the same number.
    """

    name = models.CharField(max_length=32, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_value}"


class Initiative(models.Model):
    """A shared marketing/IT initiative, tagged fast-lane or core-stack and co-funded."""

    code = models.CharField(max_length=16, unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(help_text="The business outcome this initiative serves.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_initiatives")
    marketing_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="marketing_sponsored_initiatives"
    )
    it_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="it_sponsored_initiatives"
    )
    lane = models.CharField(max_length=16, choices=Lane.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField()
    end_date = models.DateField()
    marketing_share_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("50.00"),
        help_text="Share of every cost that marketing bears (0–100); IT bears the rest.",
    )
    health = models.CharField(max_length=8, choices=Health.choices, default=Health.GREEN)
    platforms = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="dependents",
        help_text="Core-stack initiatives this fast-lane initiative builds on.",
    )
    # Lane assessment (PRODUCT.md §2): the answers, what they recommended, and
    # the written justification when the PM chose the other lane.
    lane_assessment = models.JSONField(default=dict, blank=True)
    lane_recommended = models.CharField(max_length=16, choices=Lane.choices, blank=True)
    lane_justification = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[platforms])

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(marketing_share_pct__gte=0) & Q(marketing_share_pct__lte=100),
                name="initiative_share_between_0_and_100",
                violation_error_message="Marketing's share must be between 0 and 100 %.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="initiative_end_not_before_start",
                violation_error_message="The end date cannot be before the start date.",
            ),
            models.CheckConstraint(
                condition=Q(lane__in=Lane.values),
                name="initiative_lane_valid",
                violation_error_message="Unknown lane.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values),
                name="initiative_status_valid",
                violation_error_message="Unknown status.",
            ),
            models.CheckConstraint(
                condition=Q(health__in=Health.values),
                name="initiative_health_valid",
                violation_error_message="Unknown health.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lane"], name="initiative_status_lane"),
            models.Index(fields=["owner", "status"], name="initiative_owner_status"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args, **kwargs) -> None:
        # Every path that creates an initiative (form, API, admin, shell) gets a
        # code from the one sequence; see initiative_codes_allocate.
        if not self.code:
            from .services import initiative_codes_allocate

            self.code = initiative_codes_allocate(count=1)[0]
        super().save(*args, **kwargs)

    @property
    def it_share_pct(self) -> Decimal:
        return Decimal("100.00") - self.marketing_share_pct
