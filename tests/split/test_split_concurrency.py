"""Two recomputes at once on PostgreSQL: one runs, the other is skipped; readers never see a mix."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from split import services as spend_split
from split.models import SplitRow
from split.services import split_recompute
from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def snapshot() -> list[tuple]:
    return list(
        SplitRow.objects.order_by("initiative_id", "month").values_list("initiative_id", "month", "actual_total")
    )


def test_two_concurrent_runs_one_runs_and_one_is_skipped_and_readers_see_old_or_new(monkeypatch):
    initiative = InitiativeFactory(marketing_share_pct=Decimal("60.00"))
    BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 9), amount=Decimal("10.00"))
    split_recompute(trigger="command")
    old = snapshot()
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 2, 9), amount=Decimal("20.00"))

    # The first run pauses after it has rewritten the table, before it commits.
    paused, resume = threading.Event(), threading.Event()
    write_history = spend_split._append_history

    def pausing_history(run):
        write_history(run)
        paused.set()
        assert resume.wait(30)

    monkeypatch.setattr(spend_split, "_append_history", pausing_history)
    outcome = {}

    def first_run():
        try:
            outcome["first"] = split_recompute(trigger="schedule")
        finally:
            connection.close()

    worker = threading.Thread(target=first_run)
    worker.start()
    try:
        assert paused.wait(30), "the first run never reached its commit"
        monkeypatch.setattr(spend_split, "_append_history", write_history)

        second = split_recompute(trigger="command")
        seen_meanwhile = snapshot()
    finally:
        resume.set()
        worker.join(30)

    assert second.status == "skipped"
    assert outcome["first"].status == "succeeded"
    assert seen_meanwhile == old  # the uncommitted new table was invisible
    new = snapshot()
    assert len(new) == 2 and new != old
