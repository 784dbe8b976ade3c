"""Runs whose worker died: marked interrupted and retried once, on worker start-up and every minute.

A dead run is simulated by a `running` row while nobody holds the recompute lock —
what a SIGKILLed worker leaves behind (tests/faults/test_worker_killed.py kills a real one).
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from celery.signals import worker_ready
from django.core.cache import cache
from django.utils import timezone

from split import services as spend_split
from split import tasks
from split.models import SplitRow, SplitRun
from split.services import (
    INTERRUPTED_REASON,
    NOT_RETRIED_NOTE,
    RETRIED_NOTE,
    SUPERSEDED_NOTE,
    split_runs_recover,
)
from split.tasks import split_recompute_task, split_runs_recover_task
from tests.factories import BudgetLineFactory
from tests.split import split_lock

pytestmark = pytest.mark.django_db
lock_held_elsewhere = split_lock.lock_held_elsewhere


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """Task messages sent (captured, not executed)."""
    messages: list[dict] = []
    monkeypatch.setattr(split_recompute_task, "apply_async", lambda **options: messages.append(options["kwargs"]))
    return messages


def dead_run(*, trigger: str = "ui", by=None, minutes_ago: int = 3) -> SplitRun:
    started = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return SplitRun.objects.create(status="running", trigger=trigger, requested_by=by, started_at=started)


def test_a_dead_run_is_marked_interrupted_and_retried_once(finance, sent, django_capture_on_commit_callbacks):
    dead = dead_run(by=finance)

    with django_capture_on_commit_callbacks(execute=True):
        closed = split_runs_recover()

    dead.refresh_from_db()
    assert closed == [dead]
    assert (dead.status, dead.error) == ("interrupted", f"{INTERRUPTED_REASON} {RETRIED_NOTE}")
    assert dead.finished_at is not None
    retry = SplitRun.objects.get(status="queued")
    assert (retry.trigger, retry.requested_by) == ("retry", finance)
    assert sent == [{"run_id": str(retry.pk)}]


def test_the_retry_runs_and_replaces_the_split(finance, django_capture_on_commit_callbacks):
    BudgetLineFactory(month=dt.date(2026, 1, 1))
    dead_run(by=finance)

    with django_capture_on_commit_callbacks(execute=True):  # the retry's task runs inline (eager) once sent
        split_runs_recover()

    retry = SplitRun.objects.get(trigger="retry")
    assert (retry.status, retry.row_count) == ("succeeded", 1)
    assert SplitRow.objects.count() == 1


def test_a_retry_that_dies_too_is_not_retried_again(sent, django_capture_on_commit_callbacks):
    dead_retry = dead_run(trigger="retry")

    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()

    dead_retry.refresh_from_db()
    assert (dead_retry.status, dead_retry.error) == ("interrupted", f"{INTERRUPTED_REASON} {NOT_RETRIED_NOTE}")
    assert not SplitRun.objects.filter(status="queued").exists()
    assert sent == []


def test_no_retry_when_a_run_is_already_queued(sent, django_capture_on_commit_callbacks):
    dead = dead_run()
    waiting = SplitRun.objects.create(status="queued", trigger="api")

    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()

    dead.refresh_from_db()
    assert (dead.status, dead.error) == ("interrupted", f"{INTERRUPTED_REASON} {SUPERSEDED_NOTE}")
    assert list(SplitRun.objects.filter(status="queued")) == [waiting]
    assert sent == []  # the queued run has its own message


def test_a_run_that_holds_the_lock_is_alive_and_left_alone(lock_held_elsewhere, sent):
    running = dead_run(minutes_ago=30)  # long, but its worker holds the lock: it is still working

    assert split_runs_recover() == []

    running.refresh_from_db()
    assert running.status == "running"


def test_recovery_needs_a_fixed_number_of_queries(django_assert_max_num_queries, sent):
    # lock, expiry, waiting run, running runs, unlock; a savepoint and its release in the test's transaction
    with django_assert_max_num_queries(7):
        split_runs_recover()


def test_a_queued_run_whose_message_expired_is_closed(sent, django_capture_on_commit_callbacks):
    stale = SplitRun.objects.create(status="queued", trigger="ui")
    expired = timezone.now() - dt.timedelta(seconds=spend_split.QUEUED_RUN_EXPIRES_SECONDS + 1)
    SplitRun.objects.filter(pk=stale.pk).update(queued_at=expired)

    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()

    stale.refresh_from_db()
    assert (stale.status, stale.error) == ("failed", spend_split.EXPIRED_REASON)
    assert sent == []


def test_a_run_queued_long_ago_with_nothing_running_gets_its_message_again(
    sent, caplog, django_capture_on_commit_callbacks
):
    """The broker lost its message (Redis restarted without its data): requests would otherwise join it in vain."""
    stranded = SplitRun.objects.create(status="queued", trigger="ui")
    waited = timezone.now() - dt.timedelta(seconds=spend_split.QUEUED_RUN_RESEND_SECONDS + 1)
    SplitRun.objects.filter(pk=stranded.pk).update(queued_at=waited)
    fresh_enough = timezone.now()

    with (
        caplog.at_level(logging.WARNING, logger="split.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        split_runs_recover()

    assert sent == [{"run_id": str(stranded.pk)}]
    assert "sending its task again" in caplog.text
    SplitRun.objects.filter(pk=stranded.pk).update(queued_at=fresh_enough)
    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()
    assert len(sent) == 1  # a run queued a moment ago is simply waiting for a worker


def test_a_stranded_run_is_sent_again_at_most_once_per_resend_interval(sent, django_capture_on_commit_callbacks):
    """Beat recovers every minute; its queued_at never moves, so without a record it would be resent each time."""
    stranded = SplitRun.objects.create(status="queued", trigger="ui")
    waited = timezone.now() - dt.timedelta(seconds=spend_split.QUEUED_RUN_RESEND_SECONDS + 1)
    SplitRun.objects.filter(pk=stranded.pk).update(queued_at=waited)

    for _minute in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            split_runs_recover()
    assert sent == [{"run_id": str(stranded.pk)}]

    # Once the interval has passed (the record expired), it is sent once more.
    cache.delete(f"split:run-resent:{stranded.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()
    assert len(sent) == 2


def test_a_stranded_run_is_still_sent_again_while_the_cache_is_down(
    sent, monkeypatch, django_capture_on_commit_callbacks
):
    stranded = SplitRun.objects.create(status="queued", trigger="ui")
    waited = timezone.now() - dt.timedelta(seconds=spend_split.QUEUED_RUN_RESEND_SECONDS + 1)
    SplitRun.objects.filter(pk=stranded.pk).update(queued_at=waited)
    # What portfolio.cache's fail-open backend answers while Redis is away: misses, dropped writes.
    monkeypatch.setattr(spend_split.cache, "get", lambda key, default=None: default)
    monkeypatch.setattr(spend_split.cache, "set", lambda *args, **kwargs: None)

    with django_capture_on_commit_callbacks(execute=True):
        split_runs_recover()

    assert sent == [{"run_id": str(stranded.pk)}]


def test_beats_task_and_the_worker_start_up_both_recover(sent, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(tasks.connections, "close_all", lambda: None)  # it would close the test's connection

    by_beat = dead_run()
    with django_capture_on_commit_callbacks(execute=True):
        result = split_runs_recover_task.apply().get()
    assert result == {"interrupted": [str(by_beat.pk)]}

    SplitRun.objects.filter(status="queued").delete()
    at_start = dead_run()
    with django_capture_on_commit_callbacks(execute=True):
        worker_ready.send(sender=None)  # what a worker sends once it is up
    at_start.refresh_from_db()
    assert at_start.status == "interrupted"
    assert len(sent) == 2
