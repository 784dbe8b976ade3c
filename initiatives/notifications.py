"""Notifications (PRODUCT.md §2: every transition notifies the people concerned; §3: overspend alerts).

Each e-mail is a `Notification` row — one job of `portfolio.jobs` — written with its
subject and body in the transaction of what it is about, so nobody is told of a change
that was rolled back. Once that transaction commits, one `notification_send_task` per
row is queued by name (`SEND_TASK`); the task sends it through Django's default mailer
and records it sent, or retries with backoff on a mail-server error and records why.

Nothing is lost silently and nothing turns the transition into an error page:
- a broker that is down at commit time leaves the rows `failed` with the reason (the
  request still succeeds);
- `notifications_resend_due`, run every few minutes by beat, queues again every row not
  sent yet that has attempts left (`MAX_ATTEMPTS`) and has not been tried for
  `RESEND_AFTER`, and releases a row left `running` by a worker that died mid-send;
- a row already sent is never sent again (`Notification.claim_unsent`).
Failed notifications are listed in the Django admin (Initiatives › Notifications).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portfolio import jobs
from portfolio.jobs import JobStatus

from .choices import Action, NotificationKind, Role, Status
from .models import Initiative, InitiativeTransition, Notification
from .selectors import initiative_plan_total

logger = logging.getLogger(__name__)

SEND_TASK = "initiatives.tasks.notification_send_task"
# Errors of a mail server that is down, refuses or drops the connection: worth another attempt.
# (smtplib.SMTPException and ConnectionError are OSErrors; listed for the reader.)
MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, OSError)
MAX_ATTEMPTS = 6  # in all, across the send task's own retries and the periodic re-sends
RESEND_AFTER = dt.timedelta(minutes=10)  # longer than the send task's retry backoff
STUCK_AFTER = dt.timedelta(minutes=15)  # longer than the send task's time limit
RESEND_BATCH = 500

# Who hears about what, besides the person who did it.
_OWNER_AND_SPONSORS = ("owner", "marketing_sponsor", "it_sponsor")
RECIPIENTS: dict[str, tuple[str, ...]] = {
    Action.SUBMIT: ("marketing_sponsor", "it_sponsor"),
    Action.RESUBMIT: ("marketing_sponsor", "it_sponsor"),
    Action.APPROVE: _OWNER_AND_SPONSORS,
    Action.REJECT: _OWNER_AND_SPONSORS,
    Action.START: _OWNER_AND_SPONSORS,
    Action.COMPLETE: _OWNER_AND_SPONSORS,
    Action.CANCEL: _OWNER_AND_SPONSORS,
    Action.HEALTH: _OWNER_AND_SPONSORS,
    Action.PROPOSE_CHANGE: _OWNER_AND_SPONSORS,
    Action.APPROVE_CHANGE: _OWNER_AND_SPONSORS,
    Action.APPLY_CHANGE: _OWNER_AND_SPONSORS,
    Action.REJECT_CHANGE: _OWNER_AND_SPONSORS,
    Action.WITHDRAW_CHANGE: _OWNER_AND_SPONSORS,
}


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def headline(entry: InitiativeTransition) -> str:
    """One line saying what happened, e.g. 'approved by Carla Diaz — now waiting for the IT sponsor'."""
    who = display_name(entry.by)
    if entry.action == Action.APPROVE:
        if entry.to_status == Status.APPROVED:
            return f"approved by {who}: both sponsors have signed off"
        waiting = "IT sponsor" if entry.by_id == entry.initiative.marketing_sponsor_id else "marketing sponsor"
        return f"approved by {who}, waiting for the {waiting}"
    return f"{entry.get_action_display().lower()} by {who}"


# --- writing them ------------------------------------------------------------------------


def transition_recipients(entry: InitiativeTransition) -> list[AbstractBaseUser]:
    """The people concerned by a timeline entry, with an address, not the one who did it (one query)."""
    initiative = entry.initiative
    wanted = [getattr(initiative, f"{role}_id") for role in RECIPIENTS.get(entry.action, ())]
    if entry.proposal_id and entry.action != Action.PROPOSE_CHANGE:
        wanted.append(entry.proposal.proposed_by_id)
    wanted = [pk for pk in dict.fromkeys(wanted) if pk != entry.by_id]
    people = get_user_model().objects.in_bulk(wanted) if wanted else {}
    return [people[pk] for pk in wanted if pk in people and people[pk].email]


def transition_notifications_queue(*, entry: InitiativeTransition) -> list[Notification]:
    """Write the e-mails of one timeline entry, rendered now in the caller's transaction, and send them once
    it commits (two queries: the people, the rows)."""
    initiative = entry.initiative
    people = transition_recipients(entry)
    if not people:
        return []
    context = {
        "entry": entry,
        "initiative": initiative,
        "headline": headline(entry),
        "actor_name": display_name(entry.by),
        "link": _initiative_link(initiative),
        "proposal": entry.proposal,
        **_money_context(initiative, proposal=entry.proposal),
    }
    rows = []
    for person in people:
        personal = {**context, "recipient": person, "recipient_name": display_name(person)}
        rows.append(
            Notification(
                kind=NotificationKind.TRANSITION,
                initiative=initiative,
                transition=entry,
                recipient=person,
                to_address=person.email,
                subject=" ".join(render_to_string("initiatives/emails/transition_subject.txt", personal).split()),
                body=render_to_string("initiatives/emails/transition_body.txt", personal),
            )
        )
    return _write_and_queue(rows)


def _initiative_link(initiative: Initiative) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("initiatives:detail", args=[initiative.code])


def _money_context(initiative: Initiative, *, proposal=None) -> dict[str, object]:
    """The estimate, the share it is split by (a proposed new share when the change has one) and the
    plan (None before finance enters one): what the e-mails show beside the decision (one query)."""
    proposed = proposal is not None and proposal.marketing_share_pct is not None
    return {
        "estimate": initiative.estimated_cost,
        "estimate_share": proposal.marketing_share_pct if proposed else initiative.marketing_share_pct,
        "estimate_share_proposed": proposed,
        "plan": initiative_plan_total(initiative=initiative),
    }


def finance_recipients() -> list[AbstractBaseUser]:
    """Active finance users with an address: who maintains budget lines (PRODUCT.md §1)."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.FINANCE)
        .exclude(email="")
        .order_by("pk")
        .distinct()
    )


def budget_needed_notifications_queue(*, initiative: Initiative) -> list[Notification]:
    """Tell finance that `initiative` was just approved and now needs a budget (issue 17 point 4),
    written in the approving transaction and sent once it commits."""
    people = finance_recipients()
    if not people:
        return []
    context = {"initiative": initiative, "link": _initiative_link(initiative), **_money_context(initiative)}
    subject = " ".join(render_to_string("initiatives/emails/budget_needed_subject.txt", context).split())
    body = render_to_string("initiatives/emails/budget_needed_body.txt", context)
    return notifications_queue(
        kind=NotificationKind.BUDGET_NEEDED, initiative=initiative, recipients=people, subject=subject, body=body
    )


def notifications_queue(
    *, kind: str, initiative: Initiative, recipients: Iterable[AbstractBaseUser], subject: str, body: str
) -> list[Notification]:
    """Write one e-mail per distinct address among `recipients` (those without one are skipped) and send
    each once the caller's transaction commits: what other apps (the overspend alerts) notify through."""
    by_address = {person.email: person for person in recipients if person.email}
    rows = [
        Notification(kind=kind, initiative=initiative, recipient=person, to_address=address, subject=subject, body=body)
        for address, person in by_address.items()
    ]
    return _write_and_queue(rows)


def _write_and_queue(rows: list[Notification]) -> list[Notification]:
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in created]
    # robust: whatever happens while queueing, the transition has committed and stands.
    transaction.on_commit(lambda: _queue(ids), robust=True)
    return created


def _queue(ids: list[int]) -> int:
    """Hand one send task per notification to the broker; returns how many were queued.

    The broker is asked once per row, but a broker that is down is waited for only once: the
    rows not queued are marked failed with the reason, for the periodic re-send. Never raises.
    """
    for position, pk in enumerate(ids):
        try:
            jobs.enqueue(SEND_TASK, kwargs={"notification_id": pk})
        except jobs.QueueUnavailable as exc:
            unqueued = ids[position:]
            logger.error("could not queue %s notification(s) %s: %s", len(unqueued), unqueued, exc)
            Notification.objects.filter(pk__in=unqueued, status__in=(JobStatus.QUEUED, JobStatus.FAILED)).update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                error=f"{jobs.QUEUE_UNAVAILABLE} ({exc}); it is sent again by the periodic re-send.",
            )
            return position
        except Exception:  # one notification's trouble never stops the others; its row says where it stands
            # (With tasks run eagerly, as in the tests, this is also where the task's own retry surfaces.)
            logger.exception("notification %s: queueing its send task raised", pk)
    return len(ids)


# --- sending them ------------------------------------------------------------------------


def notification_send(*, notification_id: int) -> Notification | None:
    """Send one notification through the default mailer and record it sent; None when there was
    nothing to do (already sent, or being sent). Mail-server errors (`MAIL_ERRORS`) propagate,
    for the task to record and retry. Raises Notification.DoesNotExist."""
    notification = Notification.claim_unsent(notification_id)
    if notification is None:
        return None
    message = EmailMessage(subject=notification.subject, body=notification.body, to=[notification.to_address])
    if not mailers.default.send_messages([message]):
        raise smtplib.SMTPException("the mail server accepted no message")
    sent_at = timezone.now()
    Notification.finish(notification.pk, sent_at=sent_at)
    notification.status, notification.sent_at = JobStatus.SUCCEEDED, sent_at
    return notification


def notifications_resend_due(*, now: dt.datetime | None = None) -> int:
    """Queue again the notifications not sent yet that have attempts left; returns how many.

    A row left `running` for longer than the send task may run (its worker died mid-send) is
    marked failed first; it may have gone out, so it is re-sent only if attempts are left.
    A row tried or written less than RESEND_AFTER ago is left to the task already on it.
    """
    now = now or timezone.now()
    stuck = Notification.objects.filter(status=JobStatus.RUNNING, started_at__lt=now - STUCK_AFTER)
    for pk in stuck.values_list("pk", flat=True):
        Notification.fail(pk, "The worker stopped while sending (it may or may not have gone out).")
    cutoff = now - RESEND_AFTER
    due = list(
        Notification.objects.filter(
            status__in=(JobStatus.QUEUED, JobStatus.FAILED), attempts__lt=MAX_ATTEMPTS, created_at__lt=cutoff
        )
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    queued = _queue(due)
    if due:
        logger.info("notifications: %s of %s due re-sent", queued, len(due))
    return queued


def notifications_send_again(*, ids: Iterable[int]) -> int:
    """Give failed notifications a fresh set of attempts and queue them (the admin's "send again")."""
    with transaction.atomic():
        again = list(
            Notification.objects.select_for_update()
            .filter(pk__in=list(ids), status=JobStatus.FAILED)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=again).update(status=JobStatus.QUEUED, attempts=0, error="")
    return _queue(again)
