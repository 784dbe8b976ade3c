"""The recompute task: ids in, service called; retries with backoff on database errors only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import InterfaceError, OperationalError

from portfolio import jobs
from split import tasks
from split.models import SplitRow, SplitRun
from split.services import split_run_queue
from split.tasks import split_recompute_task
from tests.factories import BudgetLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager_retries():
    """In eager mode Celery re-applies a retried task inline, unless errors propagate at once."""
    from portfolio.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = propagates


@pytest.fixture
def some_budget():
    return BudgetLineFactory(month=dt.date(2026, 1, 1), amount=Decimal("100.00"))


def failing_first(monkeypatch, *errors):
    """Make the service raise `errors` on its first calls, then work; returns the call log."""
    calls = []
    real = tasks.split_recompute

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return real(**kwargs)

    monkeypatch.setattr(tasks, "split_recompute", flaky)
    return calls


def test_the_nightly_task_records_a_scheduled_run_and_fills_the_table(some_budget):
    result = split_recompute_task.apply().get()

    run = SplitRun.objects.get()
    assert result == {"run_id": str(run.pk), "status": "succeeded", "row_count": 1}
    assert run.trigger == "schedule"
    assert SplitRow.objects.count() == 1


def test_database_errors_are_retried_with_the_same_run(some_budget, monkeypatch):
    calls = failing_first(monkeypatch, OperationalError("server closed the connection"), InterfaceError("gone"))

    result = split_recompute_task.apply().get()

    assert len(calls) == 3
    assert len({call["run_id"] for call in calls}) == 1  # one run across the retries, not three
    run = SplitRun.objects.get()
    assert (result["status"], run.status, run.error) == ("succeeded", "succeeded", "")


def test_retries_back_off_exponentially(some_budget, monkeypatch):
    countdowns = []
    monkeypatch.setattr(jobs, "get_exponential_backoff_interval", lambda **kw: countdowns.append(kw) or 7)
    failing_first(monkeypatch, OperationalError("down"), OperationalError("down"))

    split_recompute_task.apply().get()

    assert [kw["retries"] for kw in countdowns] == [0, 1]
    assert all(kw["full_jitter"] and kw["maximum"] == split_recompute_task.backoff_max_seconds for kw in countdowns)


def test_a_run_waiting_for_a_retry_says_so(some_budget, monkeypatch):
    run, _ = split_run_queue(trigger="ui")
    monkeypatch.setattr(tasks, "split_recompute", lambda **kw: (_ for _ in ()).throw(OperationalError("down")))
    monkeypatch.setattr(split_recompute_task, "retry", lambda **kw: RuntimeError("retry scheduled"))

    with pytest.raises(RuntimeError, match="retry scheduled"):
        split_recompute_task.apply(kwargs={"run_id": str(run.pk)}).get()

    run.refresh_from_db()
    assert run.status == "queued"
    assert run.error.startswith("Database unavailable (down); retry 1 of 5 in ")


def test_the_retry_goes_ahead_when_the_database_is_too_down_to_record_it(some_budget, monkeypatch):
    """Recording `queued` needs the database too: when that fails as well, the task still retries."""
    from django.db import transaction

    run, _ = split_run_queue(trigger="ui")
    monkeypatch.setattr(tasks, "split_recompute", lambda **kw: (_ for _ in ()).throw(OperationalError("down")))
    monkeypatch.setattr(split_recompute_task, "retry", lambda **kw: RuntimeError("retry scheduled"))

    def no_connection(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(transaction, "atomic", no_connection)  # what opening a transaction does with it down

    with pytest.raises(RuntimeError, match="retry scheduled"):
        split_recompute_task.apply(kwargs={"run_id": str(run.pk)}).get()


def test_no_retry_when_a_request_queued_another_run_meanwhile(some_budget, monkeypatch):
    """At most one queued run: the queued one recomputes, this one says so and is not retried."""
    run, _ = split_run_queue(trigger="schedule")
    retried = []
    monkeypatch.setattr(split_recompute_task, "retry", lambda **kw: retried.append(kw))

    def down_while_a_request_arrives(**kwargs):
        SplitRun.objects.filter(pk=run.pk).update(status="running")  # the worker took it …
        split_run_queue(trigger="ui")  # … and finance asked for another meanwhile
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(tasks, "split_recompute", down_while_a_request_arrives)

    result = split_recompute_task.apply(kwargs={"run_id": str(run.pk)}).get()

    run.refresh_from_db()
    assert result == {"run_id": str(run.pk), "status": "failed"}
    assert retried == []
    assert run.status == "failed" and run.error.endswith("The next run recomputes instead.")
    assert SplitRun.objects.filter(status="queued").count() == 1


def test_gives_up_after_the_last_retry_and_the_run_shows_the_failure(some_budget, monkeypatch):
    from split import rebuild

    attempts = []

    def database_down():
        attempts.append(1)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(rebuild, "rebuild_split_table", database_down)
    run, _ = split_run_queue(trigger="ui")

    with pytest.raises(OperationalError):
        split_recompute_task.apply(kwargs={"run_id": str(run.pk)}).get()

    assert len(attempts) == split_recompute_task.max_retries + 1
    run.refresh_from_db()
    assert run.status == "failed"
    assert "OperationalError: could not connect to server" in run.error


def test_other_errors_are_not_retried_and_the_run_is_failed(some_budget, monkeypatch):
    from split import rebuild

    def broken(*args, **kwargs):
        raise ValueError("bad data")

    monkeypatch.setattr(rebuild, "rebuild_split_table", broken)
    run, _ = split_run_queue(trigger="api")

    with pytest.raises(ValueError, match="bad data"):
        split_recompute_task.apply(kwargs={"run_id": str(run.pk)}).get()

    run.refresh_from_db()
    assert run.status == "failed"
    assert "ValueError: bad data" in run.error


def test_a_run_that_no_longer_exists_is_ignored():
    result = split_recompute_task.apply(kwargs={"run_id": "00000000-0000-0000-0000-000000000000"}).get()
    assert result["status"] == "missing"
