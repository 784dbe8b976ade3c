"""What-if scenarios (PRODUCT.md §3a): named sets of per-initiative changes over the live plan.

A scenario never changes live figures: its changes are applied on read, as overrides over the
split rows and budget lines (`scenarios.comparison`). The database enforces what each kind of
change must carry, one change of each kind per initiative and scenario, and the ranges.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from initiatives.choices import Lane
from initiatives.models import Initiative, InitiativeChangeProposal

from .choices import ChangeKind


class Scenario(models.Model):
    """A named what-if, owned by its author (an executive or finance), readable by executives and finance."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scenarios")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "name"],
                name="scenario_name_unique_per_author",
                violation_error_message="You already have a scenario with this name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScenarioChange(models.Model):
    """One change a scenario makes to one initiative.

    - `share`: marketing's share (`marketing_share_pct`) from `from_month` on;
    - `lane`: the initiative's lane (`lane`) in every open month;
    - `exclude`: no plan from `from_month` on;
    - `scale`: the plan × `plan_scale_pct` / 100 from `from_month` on (100 leaves it as it is).

    `from_month` is the first day of a month (the services say so; they refuse any other day).
    Closed months are never changed by a scenario. `proposal` links a share or lane change to the
    ordinary change proposal "propose" made of it.
    """

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="changes")
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    from_month = models.DateField(
        null=True, blank=True, help_text="The first day of the month the change applies from."
    )
    marketing_share_pct = models.DecimalField(
        "marketing share (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    lane = models.CharField(max_length=16, choices=Lane.choices, blank=True)
    plan_scale_pct = models.DecimalField("plan scaled to (%)", max_digits=7, decimal_places=2, null=True, blank=True)
    proposal = models.ForeignKey(
        InitiativeChangeProposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["initiative_id", "kind"]
        indexes = [models.Index(fields=["scenario", "kind"], name="scenario_change_kind")]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "initiative", "kind"],
                name="scenario_change_one_per_kind",
                violation_error_message="This scenario already changes that of this initiative.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=ChangeKind.SHARE, marketing_share_pct__isnull=False, from_month__isnull=False)
                    | Q(kind=ChangeKind.LANE) & ~Q(lane="")
                    | Q(kind=ChangeKind.EXCLUDE, from_month__isnull=False)
                    | Q(kind=ChangeKind.SCALE, plan_scale_pct__isnull=False, from_month__isnull=False)
                ),
                name="scenario_change_fields_of_its_kind",
                violation_error_message="A change carries the fields of its kind.",
            ),
            models.CheckConstraint(
                condition=Q(marketing_share_pct__isnull=True)
                | Q(marketing_share_pct__gte=0, marketing_share_pct__lte=100),
                name="scenario_change_share_0_100",
                violation_error_message="A share is between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=Q(plan_scale_pct__isnull=True) | Q(plan_scale_pct__gte=0),
                name="scenario_change_scale_not_negative",
                violation_error_message="A plan cannot be scaled below zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of initiative {self.initiative_id}"
