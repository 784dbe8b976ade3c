"""Celery tasks of the initiatives app: the notification e-mails (see `initiatives.notifications`).

The services queue them by name (`portfolio.jobs.enqueue`), never by importing this module.
Both are safe to run twice: a notification already sent, or being sent, is not sent again.
"""

from __future__ import annotations

import logging

from celery import shared_task

from portfolio.jobs import RETRYABLE_ERRORS, JobTask, describe_failure

from .agreements import agreements_sync_current_share
from .models import Notification
from .notifications import MAIL_ERRORS, MAX_ATTEMPTS, notification_send, notifications_resend_due

logger = logging.getLogger(__name__)

SEND_RETRIES = 2  # three attempts per task run, seconds to a minute apart; then the periodic re-send


@shared_task(
    base=JobTask,
    bind=True,
    name="initiatives.tasks.notification_send_task",
    max_retries=SEND_RETRIES,
    backoff_factor_seconds=30,
    backoff_max_seconds=120,
    soft_time_limit=60,
    time_limit=90,
)
def notification_send_task(self, notification_id: int) -> dict:
    """Send notification `notification_id`; on a mail-server error record it on the row and retry."""
    try:
        notification = notification_send(notification_id=notification_id)
    except Notification.DoesNotExist:
        logger.warning("notification %s does not exist (any more); nothing to send", notification_id)
        return {"notification_id": notification_id, "status": "missing"}
    except RETRYABLE_ERRORS as exc:
        self.retry_on_database_error(exc, Notification, notification_id, notification_id=notification_id)
    except MAIL_ERRORS as exc:
        return _mail_server_failed(self, notification_id, exc)
    except Exception as exc:  # a bug, or the time limit: recorded on the row, then raised for the worker's log
        Notification.fail(notification_id, describe_failure(exc, too_long="Sending took too long."))
        raise
    if notification is None:
        return {"notification_id": notification_id, "status": "already sent or being sent"}
    return {"notification_id": notification_id, "status": "sent"}


def _mail_server_failed(task: JobTask, notification_id: int, exc: Exception) -> dict:
    """Record the failed attempt; retry with backoff while this run and the row have attempts left."""
    attempts = Notification.objects.filter(pk=notification_id).values_list("attempts", flat=True).first() or 0
    reason = f"Could not send: {type(exc).__name__}: {exc}"
    if task.request.retries < task.max_retries and attempts < MAX_ATTEMPTS:
        countdown = task.backoff()
        Notification.mark_retrying(
            notification_id, f"{reason} (attempt {attempts} of {MAX_ATTEMPTS}; next in {countdown} s)."
        )
        raise task.retry(exc=exc, countdown=countdown, kwargs={"notification_id": notification_id})
    then = "the periodic re-send tries again" if attempts < MAX_ATTEMPTS else "no attempts left"
    Notification.fail(notification_id, f"{reason} (attempt {attempts} of {MAX_ATTEMPTS}; {then}).")
    logger.error("notification %s not sent after attempt %s: %s", notification_id, attempts, exc)
    return {"notification_id": notification_id, "status": "failed", "attempts": attempts}


@shared_task(
    base=JobTask,
    bind=True,
    name="initiatives.tasks.notifications_resend_task",
    max_retries=0,  # the next run, minutes later, is the retry
    soft_time_limit=120,
    time_limit=180,
)
def notifications_resend_task(self) -> dict:
    """Every few minutes (beat): queue again the notifications not sent yet that have attempts left."""
    return {"queued": notifications_resend_due()}


@shared_task(
    base=JobTask,
    bind=True,
    name="initiatives.tasks.agreements_share_sync_task",
    max_retries=0,  # the next hour's run is the retry
    soft_time_limit=600,
    time_limit=660,
)
def agreements_share_sync_task(self) -> dict:
    """Every hour (beat): each initiative's share becomes the one of the agreement in force this month."""
    return {"changed": agreements_sync_current_share()}
