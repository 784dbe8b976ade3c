"""Closed months for the settlement tests: locked, with their split rows frozen.

Locking a month (`period_lock_create`) freezes its split: the split engine listens for it
(`split.receivers` → `split.closing`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from budgets.models import Expense
from budgets.services.locks import period_lock_create
from portfolio.fiscal import fiscal_quarter, fiscal_year, month_start
from split.arithmetic import split_amounts
from split.models import ClosedMonth, SplitRow
from tests.factories import ExpenseFactory, InitiativeFactory

JULY, AUGUST, SEPTEMBER, OCTOBER = (dt.date(2026, month, 1) for month in (7, 8, 9, 10))
Q3_2026 = [JULY, AUGUST, SEPTEMBER]


def split_rows_from_expenses() -> None:
    """The split rows of the expenses, by §3's one arithmetic (`split.arithmetic.split_amounts`).

    Written here rather than by a recompute, so these tests do not depend on the recompute's SQL:
    the split engine's own tests prove that it writes the same rows.
    """
    sums: dict[tuple, dict[str, Decimal]] = {}
    for expense in Expense.objects.select_related("initiative"):
        key = (expense.initiative, month_start(expense.incurred_on))
        row = sums.setdefault(key, {"actual_total": Decimal(0), "paid_marketing": Decimal(0), "paid_it": Decimal(0)})
        row["actual_total"] += expense.amount_reporting
        row["paid_" + expense.paid_by] += expense.amount_reporting
    SplitRow.objects.filter(closed=False).delete()
    SplitRow.objects.bulk_create(
        SplitRow(
            initiative=initiative,
            month=month,
            fiscal_year=fiscal_year(month),
            fiscal_quarter=fiscal_quarter(month),
            initiative_code=initiative.code,
            initiative_title=initiative.title,
            lane=initiative.lane,
            status=initiative.status,
            marketing_share_pct=initiative.marketing_share_pct,
            **split_amounts(marketing_share_pct=initiative.marketing_share_pct, **amounts).as_dict(),
        )
        for (initiative, month), amounts in sums.items()
    )


def close_month(month: dt.date, *, by) -> ClosedMonth:
    """Lock `month` through the lock service, which closes its split (split.closing, in the lock's transaction)."""
    period_lock_create(month=month, reason="Month-end close", by=by)
    closed = ClosedMonth.objects.get(month=month)  # the freeze happened: no fallback hides a broken receiver
    assert not SplitRow.objects.filter(month=month, closed=False).exists()
    return closed


def ledger(*, pm, finance) -> dict:
    """Two initiatives with true-ups in July–October 2026; July–September closed, October open.

    Loyalty (60 % marketing) spends 1,000.00 in July and 333.33 in August, paid by IT: true-up
    600.00 and 200.00. ERP (25 %) spends 400.00 in July and 0.01 in September, paid by marketing:
    true-up −300.00 and −0.01. October: loyalty spends 50.00 paid by IT: 30.00, accruing.
    """
    loyalty = InitiativeFactory(owner=pm, status="in_progress", marketing_share_pct=Decimal("60"))
    erp = InitiativeFactory(owner=pm, status="in_progress", lane="core_stack", marketing_share_pct=Decimal("25"))
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 7, 10), amount=Decimal("1000.00"), paid_by="it")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 8, 10), amount=Decimal("333.33"), paid_by="it")
    ExpenseFactory(initiative=erp, incurred_on=dt.date(2026, 7, 3), amount=Decimal("400.00"), paid_by="marketing")
    ExpenseFactory(initiative=erp, incurred_on=dt.date(2026, 9, 3), amount=Decimal("0.01"), paid_by="marketing")
    ExpenseFactory(initiative=loyalty, incurred_on=dt.date(2026, 10, 3), amount=Decimal("50.00"), paid_by="it")
    split_rows_from_expenses()
    closed = {month: close_month(month, by=finance) for month in Q3_2026}
    return {"loyalty": loyalty, "erp": erp, "closed": closed}
