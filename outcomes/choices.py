"""Enumerations of shared outcomes (PRODUCT.md §3b)."""

from django.db import models

from portfolio.roles import Side as Side  # a KPI's owning side: marketing or IT


class Direction(models.TextChoices):
    UP = "up", "Up (higher is better)"
    DOWN = "down", "Down (lower is better)"
