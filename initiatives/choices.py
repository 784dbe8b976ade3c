"""Enumerations of the initiative domain (PRODUCT.md §1–§2)."""

from django.db import models

# People, not initiatives: declared in the project package (the policy needs them), re-exported here.
from portfolio.roles import Role as Role
from portfolio.roles import Side as Side


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
    BUDGET_NEEDED = "budget_needed", "Budget needed (to finance)"
