"""Notifications are jobs: written with the transition, sent by a task after commit, retried, recorded.

Celery runs eagerly in the tests (CELERY_TASK_ALWAYS_EAGER): a task queued at commit runs
right there, so a transition inside `django_capture_on_commit_callbacks(execute=True)` sends
its e-mails. Eager Celery does not wait for a retry's countdown: the retry a task asks for
is not run, and the tests run the next attempt themselves (`apply(retries=…)`).
"""

from __future__ import annotations

import smtplib
import threading

import pytest
from celery.exceptions import Retry
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from initiatives import notifications, services
from initiatives.choices import Action, NotificationKind, Status
from initiatives.models import InitiativeTransition, Notification
from initiatives.notifications import MAX_ATTEMPTS, RESEND_AFTER, STUCK_AFTER, notifications_resend_due
from initiatives.tasks import SEND_RETRIES, notification_send_task, notifications_resend_task
from portfolio.jobs import JobStatus
from tests.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db

SPONSORS = ["cio@example.com", "cmo@example.com"]


def _age(queryset, by=RESEND_AFTER * 2) -> None:
    """Make the rows look written (and last tried) `by` ago, as the periodic re-send will find them later."""
    earlier = timezone.now() - by
    queryset.update(created_at=earlier)
    queryset.exclude(started_at=None).update(started_at=earlier)


def _send(notification: Notification, *, retries: int = 0) -> dict:
    """Run the send task as the worker would for delivery `retries` + 1 of its message."""
    return notification_send_task.apply(kwargs={"notification_id": notification.pk}, retries=retries).get()


# --- written with the transition, sent at commit -----------------------------------------


def test_a_transition_writes_one_notification_per_person_and_sends_each_at_commit(
    pm, draft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_submit(initiative=draft, by=pm, reason="Ready for review")

    submit = draft.transitions.get(action=Action.SUBMIT)
    rows = list(Notification.objects.order_by("to_address"))
    assert [(n.kind, n.transition, n.initiative, n.to_address) for n in rows] == [
        (NotificationKind.TRANSITION, submit, draft, address) for address in SPONSORS
    ]
    assert [n.recipient.username for n in rows] == ["cio", "cmo"]
    assert all(n.status == JobStatus.SUCCEEDED and n.attempts == 1 and n.sent_at and not n.error for n in rows)
    sent = sorted(mail.outbox, key=lambda m: m.to)
    assert [(m.to, m.subject, m.body) for m in sent] == [([n.to_address], n.subject, n.body) for n in rows]
    assert "Ready for review" in rows[0].body and rows[0].subject.startswith("[Right-Speed] INI-0001")


def test_notifications_are_written_in_the_transitions_transaction_and_vanish_with_it(pm, draft):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.initiative_submit(initiative=draft, by=pm)
        assert Notification.objects.filter(status=JobStatus.QUEUED).count() == 2  # written, not sent yet
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_writing_a_transitions_notifications_costs_three_queries(
    pm, draft, django_assert_num_queries, django_capture_on_commit_callbacks
):
    services.initiative_submit(initiative=draft, by=pm)
    Notification.objects.all().delete()
    entry = InitiativeTransition.objects.select_related("initiative", "by").get(action=Action.SUBMIT)
    with (
        django_capture_on_commit_callbacks(execute=False),
        django_assert_num_queries(3),
    ):  # the people; the plan; the rows
        rows = notifications.transition_notifications_queue(entry=entry)
    assert len(rows) == 2


def test_filing_notifies_nobody_and_people_without_an_address_are_skipped(
    pm, filing, executive_it, django_capture_on_commit_callbacks
):
    executive_it.email = ""
    executive_it.save()
    with django_capture_on_commit_callbacks(execute=True):
        draft = services.initiative_create(by=pm, **filing)
        assert not Notification.objects.exists()
        services.initiative_submit(initiative=draft, by=pm)
    assert list(Notification.objects.values_list("to_address", flat=True)) == ["cmo@example.com"]


# --- a mail server that is down -----------------------------------------------------------


def test_a_mail_server_error_leaves_the_transition_and_the_notification_waiting_for_a_retry(
    pm, draft, mail_server, django_capture_on_commit_callbacks
):
    mail_server.down(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_submit(initiative=draft, by=pm)

    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.transitions.filter(action=Action.SUBMIT).exists()
    assert mail_server.refused == 2 and mail.outbox == []
    for notification in Notification.objects.all():
        assert (notification.status, notification.attempts, notification.sent_at) == (JobStatus.QUEUED, 1, None)
        assert notification.error.startswith(
            "Could not send: SMTPServerDisconnected: Connection unexpectedly closed (attempt 1 of 6; next in "
        )


def test_the_tasks_retry_sends_it_once_the_mail_server_is_back(pm, draft, mail_server):
    services.initiative_submit(initiative=draft, by=pm)  # not committed: nothing queued yet
    first = Notification.objects.first()
    mail_server.down(ConnectionRefusedError("refused"))
    with pytest.raises(Retry):  # eager Celery raises the retry it would schedule
        _send(first)
    mail_server.up()

    assert _send(first, retries=1) == {"notification_id": first.pk, "status": "sent"}

    first.refresh_from_db()
    assert (first.status, first.attempts, first.error) == (JobStatus.SUCCEEDED, 2, "")
    assert [m.to for m in mail.outbox] == [[first.to_address]]


def test_after_the_last_attempt_of_a_run_the_notification_is_failed_with_the_error(mail_server):
    notification = NotificationFactory()
    mail_server.down(smtplib.SMTPRecipientsRefused({notification.to_address: (550, b"No such user")}))

    result = _send(notification, retries=SEND_RETRIES)

    notification.refresh_from_db()
    assert result == {"notification_id": notification.pk, "status": "failed", "attempts": 1}
    assert (notification.status, notification.attempts) == (JobStatus.FAILED, 1)
    assert notification.error.startswith("Could not send: SMTPRecipientsRefused: ")
    assert notification.error.endswith("(attempt 1 of 6; the periodic re-send tries again).")
    assert notification.finished_at is not None and notification.sent_at is None


def test_a_notification_out_of_attempts_is_failed_for_good(mail_server):
    notification = NotificationFactory(attempts=MAX_ATTEMPTS - 1)
    mail_server.down(TimeoutError("timed out"))

    _send(notification)  # the first delivery, but the row's last attempt: no retry

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (JobStatus.FAILED, MAX_ATTEMPTS)
    assert notification.error.endswith("(attempt 6 of 6; no attempts left).")
    mail_server.up()
    _age(Notification.objects.all())
    assert notifications_resend_due() == 0
    assert mail.outbox == []


# --- the periodic re-send -------------------------------------------------------------------


def test_the_periodic_resend_sends_what_failed_and_leaves_recent_and_sent_notifications_alone(mail_server):
    mail_server.down(ConnectionRefusedError("refused"))
    failed = NotificationFactory()
    _send(failed, retries=SEND_RETRIES)
    waiting = NotificationFactory()
    with pytest.raises(Retry):  # eager Celery raises the retry it would schedule
        _send(waiting)
    mail_server.up()
    sent = NotificationFactory()
    _send(sent)
    mail.outbox.clear()
    _age(Notification.objects.filter(pk__in=[failed.pk, sent.pk]))
    fresh = NotificationFactory()  # just written: its own task is on it

    assert notifications_resend_task.apply().get() == {"queued": 1}

    assert [m.to for m in mail.outbox] == [[failed.to_address]]
    statuses = dict(Notification.objects.values_list("pk", "status"))
    assert statuses == {
        failed.pk: JobStatus.SUCCEEDED,
        waiting.pk: JobStatus.QUEUED,  # its retry is due within the minute
        sent.pk: JobStatus.SUCCEEDED,
        fresh.pk: JobStatus.QUEUED,
    }


def test_the_resend_releases_a_notification_whose_worker_died_mid_send():
    long_ago = timezone.now() - STUCK_AFTER * 2
    stuck = NotificationFactory(status=JobStatus.RUNNING, attempts=1, created_at=long_ago, started_at=long_ago)
    busy = NotificationFactory(status=JobStatus.RUNNING, attempts=1, started_at=timezone.now())
    _age(Notification.objects.filter(pk=busy.pk), by=RESEND_AFTER / 2)

    assert _send(stuck) == {"notification_id": stuck.pk, "status": "already sent or being sent"}  # redelivered
    assert notifications_resend_due() == 1

    stuck.refresh_from_db()
    busy.refresh_from_db()
    assert (stuck.status, stuck.attempts) == (JobStatus.SUCCEEDED, 2)
    assert busy.status == JobStatus.RUNNING
    assert [m.to for m in mail.outbox] == [[stuck.to_address]]


def test_the_resend_runs_every_five_minutes_and_expires_before_the_next_run():
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-resend"]
    assert entry["task"] == "initiatives.tasks.notifications_resend_task"
    assert entry["schedule"] == crontab(minute="*/5")
    assert 0 < entry["options"]["expires"] < 5 * 60


# --- never twice ------------------------------------------------------------------------------


def test_a_sent_notification_is_not_sent_twice(pm, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.initiative_submit(initiative=draft, by=pm)
    assert len(mail.outbox) == 2
    sent = Notification.objects.first()

    assert _send(sent) == {"notification_id": sent.pk, "status": "already sent or being sent"}  # redelivered
    _age(Notification.objects.all())
    assert notifications_resend_due() == 0

    assert len(mail.outbox) == 2
    sent.refresh_from_db()
    assert sent.attempts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_notification_send_it_once():
    notification = NotificationFactory()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait()
            notifications.notification_send(notification_id=notification.pk)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (JobStatus.SUCCEEDED, 1)


# --- a broker that is down ------------------------------------------------------------------


def test_a_broker_outage_at_commit_does_not_fail_the_transition_and_the_resend_sends_later(
    pm, draft, monkeypatch, django_capture_on_commit_callbacks
):
    asked = []

    def broker_down(*args, **kwargs):
        asked.append(kwargs)
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(notification_send_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        submitted = services.initiative_submit(initiative=draft, by=pm)

    assert submitted.status == Status.SUBMITTED
    assert len(asked) == 1  # one wait for a broker that is down, not one per e-mail
    rows = Notification.objects.all()
    assert [(n.status, n.attempts) for n in rows] == [(JobStatus.FAILED, 0)] * 2
    assert all(n.error.startswith("Queue unavailable, try again. (Error 111") for n in rows)
    assert mail.outbox == []

    monkeypatch.undo()  # the broker is back
    _age(rows)
    assert notifications_resend_due() == 2
    assert sorted(m.to[0] for m in mail.outbox) == SPONSORS


def test_the_services_queue_the_send_task_by_its_registered_name():
    from portfolio.celery import app

    app.loader.import_default_modules()
    assert app.tasks[notifications.SEND_TASK].name == notification_send_task.name == notifications.SEND_TASK
    # The service names the task, never imports it (tasks import services, not the reverse).
    assert not [name for name, value in vars(notifications).items() if hasattr(value, "apply_async")]


# --- the admin -------------------------------------------------------------------------------


def test_the_admin_role_lists_failed_notifications_and_sends_them_again(client, mail_server):
    client.force_login(UserFactory(username="ada", role="admin", side=""))
    failed = NotificationFactory(subject="Overspend: the failed one")
    NotificationFactory(subject="Overspend: the queued one")
    mail_server.down(ConnectionRefusedError("refused"))
    _send(failed, retries=SEND_RETRIES)
    mail_server.up()

    changelist = reverse("admin:initiatives_notification_changelist")
    html = client.get(changelist, {"status__exact": JobStatus.FAILED}).content.decode()
    assert "the failed one" in html and "the queued one" not in html
    detail = client.get(reverse("admin:initiatives_notification_change", args=[failed.pk])).content.decode()
    assert "ConnectionRefusedError: refused" in detail and "<textarea" not in detail  # read-only

    response = client.post(changelist, {"action": "send_again", "_selected_action": [failed.pk]})

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (JobStatus.SUCCEEDED, 1)  # a fresh set of attempts
    assert [m.subject for m in mail.outbox] == ["Overspend: the failed one"]
