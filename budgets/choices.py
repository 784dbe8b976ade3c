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
