"""`manage.py recompute_split`: the same service, synchronously, and a report of what it did."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from split import locks, rebuild
from split.models import SplitRow, SplitRun
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory
from tests.split import split_lock

pytestmark = pytest.mark.django_db
lock_held_elsewhere = split_lock.lock_held_elsewhere
released_while_waiting = split_lock.released_while_waiting


@pytest.fixture
def data():
    initiative = InitiativeFactory(marketing_share_pct=Decimal("60.00"))
    BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1), amount=Decimal("1333.33"))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 2), amount=Decimal("670.00"), paid_by="it")


def test_prints_rows_totals_and_duration(data):
    out = StringIO()

    call_command("recompute_split", stdout=out)

    text = out.getvalue()
    run = SplitRun.objects.get()
    assert (run.status, run.trigger) == ("succeeded", "command")
    assert SplitRow.objects.count() == 1
    assert "Recomputed the spend split: 1 row in " in text
    assert "1,333.33" in text and "800.00" in text and "533.33" in text  # planned: total, marketing, IT
    assert "True-up (marketing owes IT when positive): 402.00 USD" in text
    assert "Marketing's share of joint spend: 60.00 %" in text


def test_json_output(data):
    out = StringIO()

    call_command("recompute_split", "--json", stdout=out)

    payload = json.loads(out.getvalue())
    assert payload["status"] == "succeeded" and payload["rows"] == 1
    assert payload["totals"]["actual_marketing"] == "402.00"
    assert payload["duration_ms"] >= 0 and payload["wall_ms"] >= 0


def test_a_failure_exits_non_zero_with_the_reason(data, monkeypatch):
    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild, "rebuild_split_table", broken)

    with pytest.raises(CommandError, match="Recompute failed: disk full") as failed:
        call_command("recompute_split")
    assert failed.value.returncode == 1
    assert SplitRun.objects.get().status == "failed"


def test_waits_for_a_running_recompute_then_runs(data, released_while_waiting):
    """Two `recompute_split` at once: the second waits for the first instead of being skipped."""
    out, err = StringIO(), StringIO()

    call_command("recompute_split", stdout=out, stderr=err)

    assert released_while_waiting == [1]  # it waited until the other let go of the lock
    assert "Another recompute is running; waiting for it to finish. Use --skip-if-running to skip instead." in (
        err.getvalue()
    )
    assert "Recomputed the spend split: 1 row in " in out.getvalue()
    assert SplitRun.objects.get().status == "succeeded"


def test_skip_if_running_skips_when_another_run_holds_the_lock(data, lock_held_elsewhere):
    with pytest.raises(CommandError, match="another recompute was running") as skipped:
        call_command("recompute_split", "--skip-if-running")
    assert skipped.value.returncode == 2
    assert SplitRun.objects.get().status == "skipped"


def test_skip_if_running_runs_when_nothing_else_does(data):
    call_command("recompute_split", "--skip-if-running", stdout=StringIO())
    assert SplitRun.objects.get().status == "succeeded"


def test_gives_up_after_waiting_too_long_with_exit_status_1(data, lock_held_elsewhere, monkeypatch):
    monkeypatch.setattr(locks, "LOCK_WAIT_SECONDS", 0)

    with pytest.raises(CommandError, match="gave up after waiting 0 minutes") as failed:
        call_command("recompute_split", stderr=StringIO())
    assert failed.value.returncode == 1
    assert not SplitRun.objects.exists()  # a command's run is recorded once it holds the lock
