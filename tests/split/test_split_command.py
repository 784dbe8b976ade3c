"""`manage.py recompute_split`: the same service, synchronously, and a report of what it did."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from split import services as spend_split
from split.models import SplitRow, SplitRun
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


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

    monkeypatch.setattr(spend_split, "_rebuild_split_table", broken)

    with pytest.raises(CommandError, match="Recompute failed: disk full") as failed:
        call_command("recompute_split")
    assert failed.value.returncode == 1
    assert SplitRun.objects.get().status == "failed"


def test_skipped_when_another_run_holds_the_lock(data, monkeypatch):
    monkeypatch.setattr(spend_split, "_single_flight", lambda held: False)

    with pytest.raises(CommandError, match="another recompute was running") as skipped:
        call_command("recompute_split")
    assert skipped.value.returncode == 2
    assert SplitRun.objects.get().status == "skipped"
