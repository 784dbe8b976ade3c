"""Initiatives and the people who run them (PRODUCT.md §1–§2)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from portfolio.jobs import Job, JobStatus

from .choices import Action, Health, Lane, NotificationKind, ProposalStatus, Side, Status

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

    @classmethod
    def draw(cls, name: str, *, count: int = 1) -> int:
        """Take `count` consecutive, never-used numbers of sequence `name`; returns the first.

        The row is locked for the rest of the caller's transaction, so concurrent creators
        queue on it and each gets distinct numbers; numbers of deleted rows are never reused.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        with transaction.atomic():
            sequence, _ = cls.objects.select_for_update().get_or_create(name=name)
            cls.objects.filter(pk=sequence.pk).update(last_value=F("last_value") + count)
        return sequence.last_value + 1


# The sequence of initiative codes (INI-0001, INI-0002, …).
INITIATIVE_SEQUENCE = "initiative"


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
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="it_sponsored_initiatives",
        verbose_name="IT sponsor",
    )
    lane = models.CharField(max_length=16, choices=Lane.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField()
    end_date = models.DateField()
    marketing_share_pct = models.DecimalField(
        "marketing share (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("50.00"),
        help_text="Share of every cost that marketing bears (0–100); IT bears the rest.",
    )
    health = models.CharField(max_length=8, choices=Health.choices, default=Health.GREEN)
    # PRODUCT.md §2: what the PM expects the whole initiative to cost, in reporting currency.
    # Optional on a draft, required to submit (initiatives.workflow); shown to both sponsors on
    # every approval screen, split by the proposed share.
    estimated_cost = models.DecimalField(
        "estimated cost",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What the whole initiative is expected to cost, in reporting currency.",
    )
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
    # Dual sign-off of the current submission: each sponsor's approval time,
    # cleared when the initiative is (re)submitted. Both set ⇒ approved.
    marketing_approved_at = models.DateTimeField(null=True, blank=True)
    it_approved_at = models.DateTimeField("IT approved at", null=True, blank=True)

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
                condition=Q(estimated_cost__isnull=True) | Q(estimated_cost__gte=0),
                name="initiative_estimated_cost_not_negative",
                violation_error_message="The estimated cost cannot be negative.",
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
            # The dashboard's platform map and island queries join thousands of initiatives of one lane
            # by id: this lets PostgreSQL read them from the index alone, not the wide rows.
            models.Index(fields=["lane", "status", "id"], name="initiative_lane_status_id"),
            # The dashboard's live figures, read again after every change: the at-risk list starts from
            # the red ones, the digital islands from the fast lane's marketing-heavy ones (a share range).
            models.Index(fields=["health"], name="initiative_health"),
            models.Index(fields=["lane", "marketing_share_pct"], name="initiative_lane_share"),
            models.Index(fields=["owner", "status"], name="initiative_owner_status"),
            models.Index(fields=["marketing_sponsor", "status"], name="initiative_mkt_sponsor_status"),
            models.Index(fields=["it_sponsor", "status"], name="initiative_it_sponsor_status"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args, **kwargs) -> None:
        # Every path that creates an initiative (form, API, admin, shell) gets a
        # code from the one sequence (CodeSequence.draw).
        if not self.code:
            self.code = format_initiative_code(CodeSequence.draw(INITIATIVE_SEQUENCE))
        super().save(*args, **kwargs)

    @property
    def it_share_pct(self) -> Decimal:
        return Decimal("100.00") - self.marketing_share_pct


class InitiativeTransition(models.Model):
    """One entry of an initiative's timeline: who did what, when, why, and the status before and after.

    Status changes and the events that lead to them (one sponsor's approval,
    a change proposal and its decisions, a health update) are all recorded.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(max_length=24, choices=Action.choices)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    proposal = models.ForeignKey(
        "InitiativeChangeProposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="transitions"
    )

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # Dual sign-off ends in exactly one transition to approved, even when
            # both sponsors approve at the same instant (the service locks the row;
            # this is the database's guarantee behind it).
            models.UniqueConstraint(
                fields=["initiative"],
                condition=Q(from_status=Status.SUBMITTED, to_status=Status.APPROVED),
                name="initiative_transition_approved_once",
                violation_error_message="This initiative has already been approved.",
            ),
            models.CheckConstraint(
                condition=Q(action__in=Action.values),
                name="initiative_transition_action_valid",
                violation_error_message="Unknown action.",
            ),
        ]
        indexes = [models.Index(fields=["initiative", "-at"], name="initiative_transition_timeline")]

    def __str__(self) -> str:
        return f"{self.initiative_id} {self.action} {self.from_status}→{self.to_status}"

    @property
    def changes_status(self) -> bool:
        return self.from_status != self.to_status


class InitiativeChangeProposal(models.Model):
    """A change of share, lane or sponsor to an approved or in-progress initiative.

    It waits here until both current sponsors approve it; until then the
    initiative keeps its old values (so the spend split uses the old share).
    A field left empty is not part of the change.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="change_proposals")
    status = models.CharField(max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(help_text="Why the change is needed.")

    marketing_share_pct = models.DecimalField(
        "marketing share (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    effective_from = models.DateField(
        "effective from",
        null=True,
        blank=True,
        help_text="The first day of the month from which a new share applies (PRODUCT.md §2 Co-funding agreement).",
    )
    lane = models.CharField(max_length=16, choices=Lane.choices, blank=True)
    marketing_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    it_sponsor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="IT sponsor",
    )
    # The values when the change was proposed, so a decided proposal still reads "60 % → 40 %".
    previous_values = models.JSONField(default=dict, blank=True)

    marketing_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marketing_approved_at = models.DateTimeField(null=True, blank=True)
    it_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="IT approved by",
    )
    it_approved_at = models.DateTimeField("IT approved at", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative"],
                condition=Q(status=ProposalStatus.PENDING),
                name="change_proposal_one_pending_per_initiative",
                violation_error_message="This initiative already has a change waiting for approval.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(marketing_share_pct__isnull=False)
                    | ~Q(lane="")
                    | Q(marketing_sponsor__isnull=False)
                    | Q(it_sponsor__isnull=False)
                ),
                name="change_proposal_changes_something",
                violation_error_message="A change proposal must change the share, the lane or a sponsor.",
            ),
            models.CheckConstraint(
                condition=Q(marketing_share_pct__isnull=True)
                | (Q(marketing_share_pct__gte=0) & Q(marketing_share_pct__lte=100)),
                name="change_proposal_share_between_0_and_100",
                violation_error_message="Marketing's share must be between 0 and 100 %.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ProposalStatus.values),
                name="change_proposal_status_valid",
                violation_error_message="Unknown proposal status.",
            ),
            models.CheckConstraint(
                condition=Q(marketing_share_pct__isnull=True, effective_from__isnull=True)
                | Q(marketing_share_pct__isnull=False, effective_from__day=1),
                name="change_proposal_share_has_effective_month",
                violation_error_message="A new share needs its effective month (the first day of a month).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} change ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ProposalStatus.PENDING

    def changed_fields(self) -> list[str]:
        fields = []
        if self.marketing_share_pct is not None:
            fields.append("marketing_share_pct")
        if self.lane:
            fields.append("lane")
        if self.marketing_sponsor_id:
            fields.append("marketing_sponsor")
        if self.it_sponsor_id:
            fields.append("it_sponsor")
        return fields


class CoFundingAgreement(models.Model):
    """One agreement of an initiative's co-funding timeline (PRODUCT.md §2 Co-funding agreement).

    The share applies from `effective_from` until the next agreement's month; before the first
    agreement's month, the first agreement applies. Both sponsors signed it (who and when). The
    first one comes from the dual sign-off, each later one from an approved share-change proposal.
    """

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="agreements")
    effective_from = models.DateField(help_text="The first day of the month from which this share applies.")
    marketing_share_pct = models.DecimalField("marketing share (%)", max_digits=5, decimal_places=2)
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    it_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="IT signed by",
    )
    it_signed_at = models.DateTimeField("IT signed at", null=True, blank=True)
    proposal = models.ForeignKey(
        InitiativeChangeProposal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agreements",
        help_text="The share-change proposal it came from (none for the dual sign-off's first agreement).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["initiative", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "effective_from"],
                name="agreement_unique_initiative_month",
                violation_error_message="This initiative already has an agreement from that month.",
            ),
            models.CheckConstraint(
                condition=Q(effective_from__day=1),
                name="agreement_effective_from_first_day",
                violation_error_message="An agreement takes effect from the first day of a month.",
            ),
            models.CheckConstraint(
                condition=Q(marketing_share_pct__gte=0) & Q(marketing_share_pct__lte=100),
                name="agreement_share_between_0_and_100",
                violation_error_message="Marketing's share must be between 0 and 100 %.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} {self.marketing_share_pct} % from {self.effective_from:%Y-%m}"

    @property
    def it_share_pct(self) -> Decimal:
        return Decimal("100.00") - self.marketing_share_pct


class Notification(Job):
    """One e-mail to one person, kept as a job: queued at commit, sent by a task, retried, recorded.

    Written with its subject and body in the transaction of what it is about (a workflow
    transition, an overspend alert), so nobody is told of a change that was rolled back and
    a mail server or broker that is down loses nothing (`initiatives.notifications`). Status
    `succeeded` means sent; `failed` with attempts left is tried again by the periodic re-send.
    """

    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="notifications")
    transition = models.ForeignKey(
        InitiativeTransition, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.EmailField(help_text="The recipient's address when the notification was written.")
    subject = models.TextField()
    body = models.TextField()
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Send attempts so far.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values),
                name="notification_kind_valid",
                violation_error_message="Unknown notification kind.",
            ),
            models.CheckConstraint(
                condition=~Q(to_address=""),
                name="notification_has_an_address",
                violation_error_message="A notification needs an e-mail address.",
            ),
            models.CheckConstraint(
                condition=Q(status=JobStatus.SUCCEEDED, sent_at__isnull=False)
                | (~Q(status=JobStatus.SUCCEEDED) & Q(sent_at__isnull=True)),
                name="notification_sent_iff_sent_at",
                violation_error_message="A notification has a sent time exactly when it was sent.",
            ),
        ]
        indexes = [
            # The periodic re-send reads only the notifications not sent yet.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED]),
                name="notification_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address}: {self.subject}"

    @classmethod
    def claim_unsent(cls, pk: int) -> Notification | None:
        """`Job.claim` for an e-mail, which must never go out twice: counts the attempt and returns the
        row, or None when it was sent already or is being sent right now (`running`; a worker that died
        mid-send leaves it so until `notifications_resend_due` releases it). Raises DoesNotExist."""
        with transaction.atomic():
            status, attempts = cls.objects.select_for_update().values_list("status", "attempts").get(pk=pk)
            if status in (JobStatus.SUCCEEDED, JobStatus.RUNNING):
                return None
            return cls.claim(pk, attempts=attempts + 1)
