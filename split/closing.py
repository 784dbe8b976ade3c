"""Closed months are final (PRODUCT.md §3): freezing a locked month's split rows, unfreezing them.

Locking a month (`budgets.services.locks.period_lock_create`) sends `month_locked` inside its
transaction; `split.receivers` answers with `months_freeze`, which computes the month's rows
from the records as they are at that moment — the recompute's own statement
(`split.rebuild.rows_insert`) restricted to the month, so the arithmetic exists once — inserts
them flagged `closed` in place of the month's open rows, and records a `ClosedMonth` with the
month's totals. From then on the recompute carries those rows over untouched, and on
PostgreSQL a trigger refuses to change or delete them (split migration 0005).

Unlocking sends `month_unlocking` before the lock is deleted: `month_unfreeze` refuses a
month that belongs to a settlement, else deletes the `ClosedMonth` (its history keeps who,
when and why) and clears the rows' flag; the next recompute recomputes them.

Both take the recompute's lock (`split.locks.recompute_lock_in_transaction`), waiting, so a
freeze never interleaves with a rebuild; the lock's own service has taken the period-lock
advisory lock before. The recompute, which holds its lock first, never waits for the
period-lock one: when it closes locked months itself (`unfrozen_locks_freeze`) it only
tries it, and leaves them to the next run while a lock or unlock is in progress.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from budgets.models import PeriodLock
from budgets.months import month_label
from budgets.services.locks import period_locks_hold_if_free
from portfolio import fiscal
from split import locks as recompute_locks
from split import rebuild
from split.arithmetic import cents_to_amount
from split.models import ClosedMonth, SettlementMonth
from split.selectors import split_rows_changed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The totals a ClosedMonth keeps of its frozen rows (the lock page shows them).
FROZEN_TOTALS = (
    "planned_total",
    "planned_marketing",
    "actual_total",
    "actual_marketing",
    "paid_marketing",
    "paid_it",
    "true_up",
)
RECOMPUTE_FREEZE_REASON = "Frozen by the recompute: the month was locked before its split was closed."
_NO_ROWS = {"row_count": 0} | dict.fromkeys(FROZEN_TOTALS, Decimal("0.00"))


@transaction.atomic
def months_freeze(*, locks: Sequence[PeriodLock], by: AbstractBaseUser | None, reason: str = "") -> list[ClosedMonth]:
    """Compute and freeze the locked months' split rows in the caller's transaction; returns the new ClosedMonths.

    One set-based statement computes every month's rows from the budget lines, expenses,
    initiatives and agreements as they are now; they replace the months' open rows, flagged
    `closed`. A month already closed is left as it is (not in the result).
    """
    recompute_locks.recompute_lock_in_transaction()
    already = set(ClosedMonth.objects.filter(month__in=[lock.month for lock in locks]).values_list("month", flat=True))
    to_freeze = sorted((lock for lock in locks if lock.month not in already), key=lambda lock: lock.month)
    if not to_freeze:
        return []
    scope = rebuild.MonthScope.these(lock.month for lock in to_freeze)
    rebuild.rows_delete(scope)
    # A closed month is over: its books are final, so its forecast is its actual (as if as of the
    # month after the last one frozen), whenever finance closes it, and never moves afterwards.
    rebuild.rows_insert(scope, closed=True, as_of_month=fiscal.add_months(scope.months[-1], 1))
    totals = _month_totals(scope.months)
    transaction.on_commit(split_rows_changed)  # cached figures of the run are read again
    frozen = []
    for lock in to_freeze:
        closed_month = ClosedMonth(month=lock.month, lock=lock, frozen_by=by, **totals.get(lock.month, _NO_ROWS))
        closed_month._history_user = by
        closed_month._change_reason = (reason or f"Locked: {lock.reason}")[:100]
        closed_month.save()
        frozen.append(closed_month)
    return frozen


@transaction.atomic
def month_unfreeze(*, lock: PeriodLock, by: AbstractBaseUser | None, reason: str) -> None:
    """Unfreeze the locked month's split rows (its lock is about to be deleted); the next recompute recomputes them.

    Refused (ValidationError) while the month belongs to a settlement: its true-up was paid
    from the frozen rows. The ClosedMonth's history records the unfreeze as "Unlocked: <reason>".
    """
    recompute_locks.recompute_lock_in_transaction()
    # FOR UPDATE: a settlement being created for this month (it references the ClosedMonth) is waited for.
    closed_month = ClosedMonth.objects.select_for_update().filter(month=lock.month).first()
    settled = SettlementMonth.objects.filter(month=lock.month).select_related("settlement").first()
    if settled is not None:
        raise ValidationError(
            f"{month_label(lock.month)} is settled in {settled.settlement.reference}: "
            "reverse the settlement before unlocking it.",
            code="month_settled",
        )
    if closed_month is not None:
        closed_month._history_user = by
        closed_month._change_reason = f"Unlocked: {reason}"[:100]
        closed_month.delete()  # first: the PostgreSQL guard lets the rows change once their month is not closed
    with connection.cursor() as cursor:
        cursor.execute("UPDATE budgets_splitrow SET closed = %s WHERE month = %s AND closed", [False, lock.month])
    transaction.on_commit(split_rows_changed)


def unfrozen_locks_freeze() -> list[ClosedMonth]:
    """Freeze every locked month that has no ClosedMonth yet (locked before months were closed, or behind the
    service's back); the recompute calls it in its transaction. Returns the months frozen (usually none).

    The recompute holds its own lock, which a lock or unlock in progress waits for: so it never
    waits for one in turn (that could deadlock on the lock's row). If one is in progress, the
    months are left for the next run; their rows are recomputed as open rows meanwhile.
    """
    if not PeriodLock.objects.filter(closed_month__isnull=True).exists():
        return []
    if not period_locks_hold_if_free():
        logger.warning("split: a month is being locked or unlocked; locked months without a closed split wait")
        return []
    unfrozen = list(PeriodLock.objects.filter(closed_month__isnull=True).order_by("month"))
    return months_freeze(locks=unfrozen, by=None, reason=RECOMPUTE_FREEZE_REASON) if unfrozen else []


def _month_totals(months: Sequence[dt.date]) -> dict[dt.date, dict]:
    """Row count and FROZEN_TOTALS per month of the split table, in one grouped query.

    Exact on both engines: numeric sums on PostgreSQL, integer cents on SQLite (whose sums are floats).
    """
    params: dict = {}
    in_cents = connection.vendor != "postgresql"
    summed = "sum(CAST(round({0} * 100) AS INTEGER))" if in_cents else "sum({0})"
    sums = ", ".join(summed.format(column) for column in FROZEN_TOTALS)
    where = rebuild.MonthScope.these(months).condition("month", params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT month, count(*), {sums} FROM budgets_splitrow WHERE {where} GROUP BY month", params)  # noqa: S608  # nosec B608
        rows = cursor.fetchall()
    totals = {}
    for month, count, *amounts in rows:
        month = dt.date.fromisoformat(month) if isinstance(month, str) else month
        totals[month] = {"row_count": count} | {
            column: cents_to_amount(amount) if in_cents else amount
            for column, amount in zip(FROZEN_TOTALS, amounts, strict=True)
        }
    return totals
