"""Period locks: the one place that decides whether a month may still change (PRODUCT.md §2).

Every path that writes something dated in a month — the budget grid, the
expense forms, the Django admin, the importers, the API and the FX
recomputation — calls `period_lock_check` before it writes. Locking a month
and checking it are serialised on PostgreSQL with a transaction-level advisory
lock (writers share it, locking takes it exclusively), so no write can slip
into a month between the check and the lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from budgets.models import PeriodLock
from budgets.months import month_label
from budgets.signals import month_locked, month_unlocking
from portfolio.fiscal import month_start

# Any constant works; it only has to be the same for every caller.
_ADVISORY_LOCK_KEY = 42_170_001


class PeriodLockedError(ValidationError):
    """A write touches a locked month. The message names the month(s): "March 2026 is locked"."""

    def __init__(self, months: Iterable[dt.date]):
        self.months = sorted(set(months))
        super().__init__(period_locked_message(self.months), code="period_locked")


def period_locked_message(months: Iterable[dt.date]) -> str:
    """`March 2026 is locked.` / `March 2026 and April 2026 are locked.` plus what to do."""
    labels = [month_label(month) for month in sorted(set(months))]
    if len(labels) == 1:
        return f"{labels[0]} is locked: finance must unlock it before anything dated in it can change."
    named = f"{', '.join(labels[:-1])} and {labels[-1]}"
    return f"{named} are locked: finance must unlock them before anything dated in them can change."


def _advisory_lock(*, exclusive: bool) -> None:
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return  # SQLite serialises writers anyway (transaction_mode IMMEDIATE)
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [_ADVISORY_LOCK_KEY])


def period_locks_hold_if_free() -> bool:
    """Hold the locks still (no lock or unlock) until this transaction ends, if none is in progress; never waits.

    For a holder of another lock that a lock or unlock waits for (the split recompute, which
    freezes locked months): waiting here could deadlock, so it is told False and does that
    work another time. True on SQLite, whose writers are serialised by the database.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s)", [_ADVISORY_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def locked_months(months: Iterable[dt.date] | None = None) -> set[dt.date]:
    """The locked months among `months` (all locked months when None), in one query."""
    queryset = PeriodLock.objects.all()
    if months is not None:
        wanted = {month_start(month) for month in months}
        if not wanted:
            return set()
        queryset = queryset.filter(month__in=wanted)
    return set(queryset.values_list("month", flat=True))


def period_lock_check(*, months: Iterable[dt.date]) -> None:
    """Raise PeriodLockedError if any of `months` (any day in them) is locked.

    Call it inside the transaction that writes: on PostgreSQL it also holds a
    shared advisory lock until commit, so a concurrent `period_lock_create`
    waits for the write to finish (and the write sees the lock if it came first).
    """
    wanted = {month_start(month) for month in months}
    if not wanted:
        return
    _advisory_lock(exclusive=False)
    blocked = locked_months(wanted)
    if blocked:
        raise PeriodLockedError(blocked)


def locked_months_for_initiatives(months: Iterable[dt.date] | None = None, *, hold: bool = False) -> set[dt.date]:
    """The checker `portfolio.periods` asks on behalf of `initiatives` (a share change's effective month).

    `hold=True` (inside the writing transaction): through `period_lock_check`, so the shared advisory
    lock is held until commit and a month cannot be locked between this answer and the write.
    """
    if not hold or months is None:
        return locked_months(months)
    try:
        period_lock_check(months=months)
    except PeriodLockedError as error:
        return set(error.months)
    return set()


@transaction.atomic
def period_lock_create(*, month: dt.date, reason: str, by) -> PeriodLock:
    """Lock `month` (any day in it) with a reason. Refused if it is already locked."""
    month = month_start(month)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the month is being locked (e.g. 'March close completed')."})
    _advisory_lock(exclusive=True)
    if PeriodLock.objects.filter(month=month).exists():
        raise ValidationError({"month": f"{month_label(month)} is already locked."})
    lock = PeriodLock(month=month, reason=reason, locked_by=by)
    lock._history_user = by
    lock._change_reason = reason[:100]
    lock.save()
    month_locked.send(sender=PeriodLock, lock=lock, by=by)  # the split freezes the month's rows
    return lock


@transaction.atomic
def period_unlock(*, lock: PeriodLock, reason: str, by) -> None:
    """Unlock a month; the reason is kept in the lock's history with who and when."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the month is being reopened."})
    _advisory_lock(exclusive=True)
    current = PeriodLock.objects.select_for_update().filter(pk=lock.pk).first()
    if current is None:
        return  # already unlocked by someone else: the result is the same
    month_unlocking.send(sender=PeriodLock, lock=current, by=by, reason=reason)  # refused if settled
    current._history_user = by
    current._change_reason = f"Unlocked: {reason}"[:100]
    current.delete()
