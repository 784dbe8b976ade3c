"""Enumerations of the initiative domain (PRODUCT.md §1–§2)."""

from django.db import models


class Side(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    IT = "it", "IT"


class Role(models.TextChoices):
    """Django group names: one per role of PRODUCT.md §1."""

    PM = "pm", "Product manager"
    EXECUTIVE = "executive", "Executive"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Administrator"


class Lane(models.TextChoices):
    FAST_LANE = "fast_lane", "Fast lane"
    CORE_STACK = "core_stack", "Core stack"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# States from which an initiative may still be cancelled.
OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.IN_PROGRESS, Status.REJECTED)


class Health(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"
