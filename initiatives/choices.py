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


class Action(models.TextChoices):
    """What happened to an initiative: one row of its timeline (InitiativeTransition.action)."""

    CREATE = "create", "Filed"
    SUBMIT = "submit", "Submitted for approval"
    RESUBMIT = "resubmit", "Resubmitted after rejection"
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"
    START = "start", "Started"
    COMPLETE = "complete", "Completed"
    CANCEL = "cancel", "Cancelled"
    HEALTH = "health", "Health updated"
    PROPOSE_CHANGE = "propose_change", "Change proposed"
    APPROVE_CHANGE = "approve_change", "Change approved"
    REJECT_CHANGE = "reject_change", "Change rejected"
    WITHDRAW_CHANGE = "withdraw_change", "Change withdrawn"
    APPLY_CHANGE = "apply_change", "Change applied"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for both sponsors"
    APPLIED = "applied", "Approved and applied"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class NotificationKind(models.TextChoices):
    """What a notification e-mail is about (Notification.kind)."""

    TRANSITION = "transition", "Workflow transition"
    OVERSPEND = "overspend", "Overspend alert"
