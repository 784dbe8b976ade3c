"""Recomputes at once on PostgreSQL, for real (threads, each with its own connection).

Single flight without dropping anything: a second run waits for the first and then
runs, so it includes what was committed meanwhile; requests made during a run leave
exactly one follow-up, which starts when the run ends. Readers never see a mix.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from split import locks, rebuild
from split.models import SplitRow, SplitRun
from split.services import split_recompute, split_recompute_request
from split.tasks import split_recompute_task
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TIMEOUT = 30


def snapshot() -> list[tuple]:
    return list(
        SplitRow.objects.order_by("initiative_id", "month").values_list("initiative_id", "month", "actual_total")
    )


class PausedRun:
    """A recompute in a thread of its own, paused after it rewrote the table and before it commits."""

    def __init__(self, monkeypatch, target) -> None:
        self.paused, self.resume = threading.Event(), threading.Event()
        self.outcome: dict = {}
        write_history = rebuild.append_history

        def pausing_history(run):
            write_history(run)
            if threading.current_thread() is self.thread:  # only the first run pauses
                self.paused.set()
                assert self.resume.wait(TIMEOUT)

        monkeypatch.setattr(rebuild, "append_history", pausing_history)

        def run() -> None:
            try:
                self.outcome["result"] = target()
            except BaseException as exc:  # reported by the test
                self.outcome["error"] = exc
            finally:
                connection.close()

        self.thread = threading.Thread(target=run)

    def __enter__(self) -> PausedRun:
        self.thread.start()
        assert self.paused.wait(TIMEOUT), f"the first run never reached its commit: {self.outcome}"
        return self

    def __exit__(self, *exc_info) -> None:
        self.resume.set()
        self.thread.join(TIMEOUT)


def in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # reported by the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def waiting_noticed(monkeypatch) -> threading.Event:
    """Set once a run starts waiting for the lock (the first pause), so the test needs no sleep."""
    noticed = threading.Event()
    pause = locks._pause

    def noting_pause() -> None:
        noticed.set()
        pause()

    monkeypatch.setattr(locks, "_pause", noting_pause)
    return noticed


@pytest.fixture
def initiative():
    initiative = InitiativeFactory(marketing_share_pct=Decimal("60.00"))
    BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 9), amount=Decimal("10.00"))
    split_recompute(trigger="command")
    return initiative


def test_a_second_command_waits_for_the_first_and_includes_what_was_saved_meanwhile(
    monkeypatch, initiative, waiting_noticed
):
    old = snapshot()
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 2, 9), amount=Decimal("20.00"))

    with PausedRun(monkeypatch, lambda: call_command("recompute_split", stdout=StringIO())) as first:
        second_thread, second = in_thread(lambda: call_command("recompute_split", stdout=StringIO()))
        assert waiting_noticed.wait(TIMEOUT), "the second command never started waiting"
        # Saved while the first is running: the first does not see it, the second must.
        ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 9), amount=Decimal("30.00"))
        seen_meanwhile = snapshot()
    second_thread.join(TIMEOUT)

    assert "error" not in first.outcome and "error" not in second, (first.outcome, second)
    assert seen_meanwhile == old  # the uncommitted new table was invisible
    runs = list(SplitRun.objects.filter(trigger="command").order_by("started_at"))
    assert [run.status for run in runs] == ["succeeded"] * 3  # the fixture's, the first, the second
    _, first_run, second_run = runs
    assert second_run.started_at >= first_run.finished_at  # it started when the first ended
    assert (first_run.row_count, second_run.row_count) == (2, 3)
    assert [row[2] for row in snapshot()] == [Decimal("10.00"), Decimal("20.00"), Decimal("30.00")]


def test_requests_during_a_run_leave_exactly_one_follow_up_that_starts_when_it_ends(
    monkeypatch, initiative, finance, waiting_noticed
):
    sent = []
    monkeypatch.setattr(split_recompute_task, "apply_async", lambda **options: sent.append(options["kwargs"]))

    with PausedRun(monkeypatch, lambda: split_recompute(trigger="schedule")) as running:
        BudgetLineFactory(initiative=initiative, month=dt.date(2026, 4, 1), amount=Decimal("400.00"))
        requests = [split_recompute_request(by=finance, trigger=trigger) for trigger in ("ui", "api", "ui")]
        # The worker takes the follow-up's message while the run is still going: it waits.
        follow_up_thread, follow_up = in_thread(lambda: split_recompute_task(**sent[0]))
        assert waiting_noticed.wait(TIMEOUT), "the follow-up never started waiting"
        assert SplitRun.objects.get(pk=requests[0].pk).status == "queued"  # waiting, still joinable
        requests.append(split_recompute_request(by=finance, trigger="api"))
    follow_up_thread.join(TIMEOUT)

    assert "error" not in running.outcome and "error" not in follow_up, (running.outcome, follow_up)
    assert len({run.pk for run in requests}) == 1  # one follow-up for four requests
    assert sent == [{"run_id": str(requests[0].pk)}]  # sent once
    first = running.outcome["result"]
    follow = SplitRun.objects.get(pk=requests[0].pk)
    assert (first.status, follow.status) == ("succeeded", "succeeded")
    assert follow.started_at >= first.finished_at
    assert (first.row_count, follow.row_count) == (1, 2)  # the line saved before the requests is in the follow-up
    assert SplitRun.objects.count() == 3  # the fixture's run, the running one, the one follow-up
