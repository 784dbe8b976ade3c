"""What a scenario may change about an initiative (PRODUCT.md §3a)."""

from django.db import models


class ChangeKind(models.TextChoices):
    SHARE = "share", "Share from a month"
    LANE = "lane", "Lane"
    EXCLUDE = "exclude", "Excluded from a month"
    SCALE = "scale", "Plan scaled from a month"
