"""True-up settlements (PRODUCT.md §3): the amount is the frozen true-up of the months, a month is
settled once, a settled month cannot be unlocked, reversing frees the months; the three states of
the true-up add up to the total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from budgets.models import PeriodLock
from budgets.selectors import audit_log
from budgets.services.locks import period_unlock
from split.models import ClosedMonth, Settlement, SettlementMonth, SplitRow
from split.selectors import MoneySum, split_summary
from split.settlements import (
    settleable_months,
    settleable_quarters,
    settlement_create,
    settlement_reverse,
    true_up_states,
)
from tests.split.settlement_helpers import AUGUST, JULY, OCTOBER, Q3_2026, SEPTEMBER, ledger

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def books(pm, finance):
    return ledger(pm=pm, finance=finance)


def _frozen_true_up(months) -> Decimal:
    return SplitRow.objects.filter(closed=True, month__in=months).aggregate(total=MoneySum("true_up"))["total"]


def test_a_quarter_settlement_is_the_sum_of_its_frozen_true_up(books, finance):
    settlement = settlement_create(months=Q3_2026, reference="  JE-2026-0412 ", by=finance, note="Q3 true-up")

    settlement.refresh_from_db()
    assert settlement.amount == _frozen_true_up(Q3_2026) == D("499.99")  # 600 + 200 − 300 − 0.01
    assert settlement.reference == "JE-2026-0412"  # trimmed
    assert (settlement.first_month, settlement.last_month) == (JULY, SEPTEMBER)
    assert settlement.months == ["2026-07", "2026-08", "2026-09"]
    assert settlement.created_by == finance and settlement.status == "active"
    lines = {line.initiative_code: line.true_up for line in settlement.lines.all()}
    assert lines == {books["loyalty"].code: D("800.00"), books["erp"].code: D("-300.01")}
    assert sum(lines.values()) == settlement.amount
    assert sorted(SettlementMonth.objects.values_list("month", flat=True)) == Q3_2026


def test_the_lines_are_one_statement_whatever_the_initiatives(books, finance):
    with CaptureQueriesContext(connection) as queries:
        settlement_create(months=[JULY], reference="JE-1", by=finance)
    inserts = [query["sql"] for query in queries if "INSERT INTO" in query["sql"] and "settlementline" in query["sql"]]
    assert len(inserts) == 1 and "SELECT" in inserts[0]


def test_an_open_month_is_refused_by_name(books, finance):
    with pytest.raises(ValidationError) as caught:
        settlement_create(months=[SEPTEMBER, OCTOBER], reference="JE-1", by=finance)

    assert caught.value.message_dict == {
        "months": ["October 2026 is not locked: finance locks a month before settling it."]
    }
    assert not Settlement.objects.exists()


def test_a_settlement_covers_consecutive_months(books, finance):
    """July and September without August: refused, naming the gap (its first and last month say what it holds)."""
    with pytest.raises(ValidationError) as caught:
        settlement_create(months=[JULY, SEPTEMBER], reference="JE-1", by=finance)

    assert caught.value.message_dict == {
        "months": [
            "A settlement covers consecutive months: August 2026 is missing between July 2026 and "
            "September 2026. Settle the gap too, or the ranges separately."
        ]
    }
    assert not Settlement.objects.exists()


def test_a_month_is_settled_once(books, finance):
    settlement_create(months=[JULY], reference="ERP-123", by=finance)

    with pytest.raises(ValidationError) as caught:
        settlement_create(months=[JULY, AUGUST], reference="ERP-124", by=finance)
    assert caught.value.message_dict["months"] == ["July 2026 is already settled in ERP-123."]
    # The database's guard, had the check been passed by: a month is in one active settlement.
    other = Settlement.objects.create(
        reference="ERP-X", first_month=JULY, last_month=JULY, amount=0, created_by=finance, months=["2026-07"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementMonth.objects.create(settlement=other, closed_month=books["closed"][JULY], month=JULY)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("", "Enter the ERP reference of the settlement."),
        ("   ", "Enter the ERP reference of the settlement."),
        ("x" * 101, "An ERP reference has at most 100 characters."),
        ("ERP-123", "A settlement with the ERP reference ERP-123 already exists."),
    ],
)
def test_the_reference_is_required_and_unique_among_active_settlements(books, finance, reference, message):
    settlement_create(months=[JULY], reference="ERP-123", by=finance)

    with pytest.raises(ValidationError) as caught:
        settlement_create(months=[AUGUST], reference=reference, by=finance)
    assert caught.value.message_dict == {"reference": [message]}


def test_nothing_to_settle_is_refused(finance):
    with pytest.raises(ValidationError) as caught:
        settlement_create(months=[], reference="ERP-1", by=finance)
    assert caught.value.message_dict == {"months": ["Choose the months to settle."]}


def test_a_settled_month_cannot_be_unlocked(books, finance):
    settlement_create(months=Q3_2026, reference="ERP-123", by=finance)
    lock = PeriodLock.objects.get(month=AUGUST)

    # Refused by the split (its unfreeze names the settlement) or, at the least, by the PROTECT chain.
    with pytest.raises((ValidationError, ProtectedError)), transaction.atomic():
        period_unlock(lock=lock, reason="Late invoice", by=finance)
    assert PeriodLock.objects.filter(month=AUGUST).exists()
    assert ClosedMonth.objects.filter(month=AUGUST).exists()
    # The database's guard behind it: the closed month of a settled month cannot be deleted.
    with pytest.raises(ProtectedError):
        books["closed"][AUGUST].delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClosedMonth.objects.filter(month=AUGUST)._raw_delete(ClosedMonth.objects.db)
        connection.check_constraints()
    assert ClosedMonth.objects.filter(month=AUGUST).exists()


def test_reversing_frees_the_months_and_changes_nothing_else(books, finance):
    settlement = settlement_create(months=Q3_2026, reference="ERP-123", by=finance)
    lines_before = list(settlement.lines.values_list("initiative_code", "true_up"))

    with pytest.raises(ValidationError) as caught:
        settlement_reverse(settlement=settlement, by=finance, reason="  ")
    assert caught.value.message_dict == {"reason": ["Say why the settlement is being reversed."]}

    reversed_ = settlement_reverse(settlement=settlement, by=finance, reason="Booked to the wrong period")

    reversed_.refresh_from_db()
    assert reversed_.status == "reversed" and reversed_.reversed_by == finance and reversed_.reversed_at
    assert reversed_.reversal_reason == "Booked to the wrong period"
    assert reversed_.amount == D("499.99") and reversed_.months == ["2026-07", "2026-08", "2026-09"]
    assert list(reversed_.lines.values_list("initiative_code", "true_up")) == lines_before
    assert not SettlementMonth.objects.exists()
    assert settleable_months() == Q3_2026
    with pytest.raises(ValidationError, match="ERP-123 was already reversed on"):
        settlement_reverse(settlement=reversed_, by=finance, reason="Again")

    again = settlement_create(months=Q3_2026, reference="ERP-123", by=finance)  # the reference is free again
    assert again.amount == D("499.99")


def test_the_three_states_add_up_to_the_total(books, finance):
    everything = SplitRow.objects.aggregate(total=MoneySum("true_up"))["total"]

    states = true_up_states()
    assert states == {
        "settled": D("0.00"),
        "outstanding": D("499.99"),
        "accruing": D("30.00"),
        "total": D("529.99"),
    }
    assert states["total"] == everything

    settlement_create(months=[JULY, AUGUST], reference="ERP-123", by=finance)
    states = true_up_states()
    assert states == {"settled": D("500.00"), "outstanding": D("-0.01"), "accruing": D("30.00"), "total": D("529.99")}
    assert true_up_states({"initiative": books["erp"].code}) == {
        "settled": D("-300.00"),
        "outstanding": D("-0.01"),
        "accruing": D("0.00"),
        "total": D("-300.01"),
    }
    # The roll-ups carry the same states, per group, in the same query.
    for group in split_summary("lane", with_true_up_states=True):
        parts = group["true_up_settled"] + group["true_up_outstanding"] + group["true_up_accruing"]
        assert parts == group["true_up"]


def test_what_can_be_settled(books, finance):
    assert settleable_months() == Q3_2026
    assert settleable_quarters() == [(2026, 3, Q3_2026)]
    settlement_create(months=[AUGUST], reference="ERP-1", by=finance)
    assert settleable_months() == [JULY, SEPTEMBER]
    assert settleable_quarters() == []


def test_settlements_freezes_and_reversals_are_in_the_audit_log(books, finance):
    settlement = settlement_create(months=Q3_2026, reference="ERP-123", by=finance)
    settlement_reverse(settlement=settlement, by=finance, reason="Wrong period")

    entries = audit_log(models=["settlement"]).entries
    assert [(entry.action, entry.title, entry.user) for entry in entries] == [
        ("changed", "ERP-123 · 2026-07 – 2026-09", finance),
        ("created", "ERP-123 · 2026-07 – 2026-09", finance),
    ]
    assert entries[0].reason == "Reversed: Wrong period"
    changes = {change.name: (change.before, change.after) for change in entries[0].changes}
    assert changes["status"] == ("active", "reversed") and changes["reversal_reason"] == ("", "Wrong period")
    created = {change.name: change.after for change in entries[1].changes}
    assert created["amount"] == "499.99" and created["months"] == "2026-07, 2026-08, 2026-09"
    frozen = audit_log(models=["closed_month"]).entries
    assert {entry.title for entry in frozen} >= {"July 2026", "August 2026", "September 2026"}
    assert dt.date(2026, 7, 1) == JULY
