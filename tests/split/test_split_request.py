"""`split_recompute_request`: the run is recorded first, the task is queued after commit."""

from __future__ import annotations

import datetime as dt

import pytest
from kombu.exceptions import OperationalError as BrokerError

from split.models import SplitRow, SplitRun
from split.services import SplitQueueUnavailable, split_recompute_request
from split.tasks import split_recompute_task
from tests.factories import BudgetLineFactory

pytestmark = pytest.mark.django_db


def test_queues_the_run_after_commit_and_the_task_runs_it(finance, django_capture_on_commit_callbacks):
    BudgetLineFactory(month=dt.date(2026, 1, 1))

    with django_capture_on_commit_callbacks() as callbacks:
        run = split_recompute_request(by=finance, trigger="ui")
        assert (run.status, run.trigger, run.requested_by) == ("queued", "ui", finance)
        assert SplitRow.objects.count() == 0  # nothing is sent before the run row is committed
    assert len(callbacks) == 1

    callbacks[0]()  # the commit: the task is sent (inline in the test settings)

    run.refresh_from_db()
    assert run.status == "succeeded"
    assert SplitRow.objects.count() == 1


def test_the_task_is_sent_with_the_run_id_and_an_expiry(finance, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(split_recompute_task, "apply_async", lambda **options: sent.append(options))

    with django_capture_on_commit_callbacks(execute=True):
        run = split_recompute_request(by=finance, trigger="api")

    [options] = sent
    assert options["kwargs"] == {"run_id": str(run.pk)}
    assert options["expires"] > 0


def test_an_unreachable_broker_fails_the_run_with_a_clear_error(
    finance, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**options):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(split_recompute_task, "apply_async", broker_down)

    with (
        pytest.raises(SplitQueueUnavailable, match="queue is unavailable"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        split_recompute_request(by=finance, trigger="ui")

    run = SplitRun.objects.get()
    assert run.status == "failed"
    assert run.error.startswith("Queue unavailable, try again.")
    assert run.finished_at is not None


def test_unknown_triggers_are_refused(finance):
    with pytest.raises(ValueError, match="unknown trigger"):
        split_recompute_request(by=finance, trigger="cron")
    assert not SplitRun.objects.exists()
