"""`split_recompute_request`: the run is recorded first, the task is queued after commit; requests coalesce."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.test import APIClient

from split import services as spend_split
from split.models import SplitRow, SplitRun
from split.services import SplitQueueUnavailable, split_recompute_request
from split.tasks import split_recompute_task
from tests.factories import BudgetLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_budget_line():
    return BudgetLineFactory(month=dt.date(2026, 1, 1))


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


# --- coalescing: a request while a run waits to start joins it -------------------------------


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """The task messages sent (captured, not executed): the runs stay as the requests left them."""
    messages: list[dict] = []
    monkeypatch.setattr(split_recompute_task, "apply_async", lambda **options: messages.append(options["kwargs"]))
    return messages


def test_requests_from_the_ui_and_the_api_while_a_run_is_running_leave_exactly_one_follow_up(
    client, finance, sent, django_capture_on_commit_callbacks
):
    running = SplitRun.objects.create(status="running", trigger="schedule", started_at=timezone.now())
    client.force_login(finance)
    api = APIClient()
    api.force_authenticate(finance)

    with django_capture_on_commit_callbacks(execute=True):
        by_button = client.post(reverse("split:recompute"))
        by_api = api.post("/api/recompute/")
        by_button_again = client.post(reverse("split:recompute"))

    follow_up = SplitRun.objects.get(status="queued")
    assert by_api.status_code == 202 and by_api.json()["id"] == str(follow_up.pk)
    assert by_button["Location"] == by_button_again["Location"] == f"{reverse('split:runs')}?run={follow_up.pk}"
    assert sent == [{"run_id": str(follow_up.pk)}]  # one task message for three requests
    assert SplitRun.objects.count() == 2  # the running one and its one follow-up
    assert SplitRun.objects.get(pk=running.pk).status == "running"


def test_once_the_follow_up_has_started_a_new_request_queues_the_next_one(
    finance, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = split_recompute_request(by=finance, trigger="api")
    SplitRun.objects.filter(pk=first.pk).update(status="running", started_at=timezone.now())  # a worker took it

    with django_capture_on_commit_callbacks(execute=True):
        second = split_recompute_request(by=finance, trigger="api")

    assert second.pk != first.pk and second.status == "queued"
    assert len(sent) == 2


def test_the_nightly_run_joins_a_run_waiting_to_start_and_executes_it(finance, sent, some_budget_line):
    waiting = split_recompute_request(by=finance, trigger="ui")

    result = split_recompute_task.apply().get()

    assert result["run_id"] == str(waiting.pk)
    assert SplitRun.objects.get().status == "succeeded"  # one run, done by the nightly task
    assert SplitRow.objects.count() == 1


def test_the_database_allows_one_queued_run_only():
    SplitRun.objects.create(status="queued", trigger="ui")

    with pytest.raises(IntegrityError), transaction.atomic():
        SplitRun.objects.create(status="queued", trigger="api")


def test_two_requests_at_the_same_instant_join_one_run(finance, sent, monkeypatch, django_capture_on_commit_callbacks):
    """The second request did not see the first's run yet: the constraint refuses its insert and it joins."""
    with django_capture_on_commit_callbacks(execute=True):
        first = split_recompute_request(by=finance, trigger="ui")
    monkeypatch.setattr(spend_split, "_waiting_run", lambda: None)  # as if read before the first committed

    with django_capture_on_commit_callbacks(execute=True):
        second = split_recompute_request(by=finance, trigger="api")

    assert second.pk == first.pk
    assert len(sent) == 1


def test_a_queued_run_whose_message_expired_is_closed_and_a_new_request_queues_afresh(finance, sent):
    stale = split_recompute_request(by=finance, trigger="ui")
    hour_ago = timezone.now() - dt.timedelta(seconds=spend_split.QUEUED_RUN_EXPIRES_SECONDS + 1)
    SplitRun.objects.filter(pk=stale.pk).update(queued_at=hour_ago)

    fresh = split_recompute_request(by=finance, trigger="ui")

    stale.refresh_from_db()
    assert fresh.pk != stale.pk and fresh.status == "queued"
    assert (stale.status, stale.error) == ("failed", spend_split.EXPIRED_REASON)
