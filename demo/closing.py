"""The demo's closed books: locked months up to two months ago, frozen, and the older quarters settled (PRODUCT.md §3).

Finance closed every seeded month up to two months before the current one (last month's close
is still running) on a working morning of the month after, and settled each fiscal quarter's
true-up in the ERP a couple of weeks after the quarter's last close, except the latest closed
quarter, still waiting. So the demo's true-up reads as all three states: settled (older
quarters), outstanding (the latest closed quarter and the closed months after it) and accruing
(the open months).

The choice of months, times and references is pure (`closed_months`, `lock_times`,
`quarters_to_settle`, `settlement_reference`; which quarters are whole and unsettled is
`split.settlements.settleable_quarters`, the settlement form's); `demo_books_close` writes it
through the services finance uses: the locks in bulk, one `months_freeze` for all of them (the locks forbid
any later write, so the budget lines and expenses go in first), one `settlement_create` per
quarter. Those services stamp the clock; the seed then dates what they wrote as the history
it is, like every other record of the demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Model
from django.utils import timezone

from budgets.models import PeriodLock
from budgets.months import month_label
from demo.timelines import office_time
from portfolio.fiscal import add_months, month_start
from split.closing import months_freeze
from split.models import ClosedMonth, Settlement
from split.settlements import settleable_quarters, settlement_create

OPEN_MONTHS = 2  # by default the current month and the one before it are open: last month's close is not done yet
CLOSE_WORKING_DAYS = (6, 12)  # the close of a month completes on one of these working days of the next
SETTLE_WORKING_DAYS = (5, 15)  # working days after a quarter's last close until its ERP settlement


def closed_months(
    months: Sequence[dt.date], *, today: dt.date, locked: frozenset[dt.date], open_months: int = OPEN_MONTHS
) -> list[dt.date]:
    """The seeded months finance has closed: up to `open_months` (two) before the current one, not locked already."""
    last_closed = add_months(month_start(today), -open_months)
    return [month for month in months if month <= last_closed and month not in locked]


def _working_day(first: dt.date, number: int) -> dt.date:
    """The `number`-th working day (Monday to Friday) from `first` on."""
    day, counted = first, 0
    while True:
        if day.weekday() < 5:
            counted += 1
            if counted == number:
                return day
        day += dt.timedelta(days=1)


def lock_times(rng: random.Random, months: Sequence[dt.date], *, now: dt.datetime) -> dict[dt.date, dt.datetime]:
    """When finance locked each month: a working morning early in the month after, never after `now`."""
    tz = timezone.get_current_timezone()
    return {
        month: min(office_time(rng, _working_day(add_months(month, 1), rng.randint(*CLOSE_WORKING_DAYS)), tz), now)
        for month in months
    }


def quarters_to_settle(quarters: Sequence[tuple[int, int, list[dt.date]]]) -> list[tuple[int, int, list[dt.date]]]:
    """Of the whole closed, unsettled fiscal quarters (oldest first), all but the latest.

    The latest closed quarter is the one finance has not settled yet: the demo's outstanding true-up.
    """
    return list(quarters[:-1])


def settlement_reference(year: int, quarter: int) -> str:
    """The ERP document of a quarter's true-up: `ERP-TU-FY2026-Q1`."""
    return f"ERP-TU-FY{year}-Q{quarter}"


@dataclass
class ClosedBooks:
    """What `demo_books_close` wrote."""

    locked: list[dt.date]
    settlements: list[Settlement]


def demo_books_close(
    rng: random.Random,
    *,
    months: Sequence[dt.date],
    locked: frozenset[dt.date],
    finance: User,
    now: dt.datetime,
    open_months: int = OPEN_MONTHS,
) -> ClosedBooks:
    """Lock and freeze the closed months, settle the older quarters; call it after every record is written."""
    today = timezone.localdate(now)
    to_lock = closed_months(months, today=today, locked=locked, open_months=open_months)
    locked_at = lock_times(rng, to_lock, now=now)
    locks = PeriodLock.objects.bulk_create(
        PeriodLock(month=month, reason=f"{month_label(month)} close completed", locked_by=finance) for month in to_lock
    )
    # bulk_create stamps locked_at with the clock (auto_now_add); the close's own time goes in after.
    for lock in locks:
        lock.locked_at = locked_at[lock.month]
    PeriodLock.objects.bulk_update(locks, ["locked_at"])
    PeriodLock.history.model.objects.bulk_create(
        PeriodLock.history.model(
            id=lock.pk,
            month=lock.month,
            reason=lock.reason,
            locked_by_id=finance.pk,
            locked_at=lock.locked_at,
            history_date=lock.locked_at,
            history_change_reason=lock.reason[:100],
            history_type="+",
            history_user_id=finance.pk,
        )
        for lock in locks
    )
    if locks:
        frozen = months_freeze(locks=locks, by=finance)
        _dated(ClosedMonth, "frozen_at", {closed.pk: locked_at[closed.month] for closed in frozen})

    settlements, settled_at = [], {}
    tz = timezone.get_current_timezone()
    for year, quarter, quarter_months in quarters_to_settle(settleable_quarters()):
        closed_on = timezone.localdate(locked_at.get(quarter_months[-1], now), tz)
        booked_on = _working_day(closed_on, rng.randint(*SETTLE_WORKING_DAYS))
        settlement = settlement_create(
            months=quarter_months,
            reference=settlement_reference(year, quarter),
            by=finance,
            note=f"True-up of {month_label(quarter_months[0])} – {month_label(quarter_months[-1])}, booked in the ERP.",
        )
        settled_at[settlement.pk] = min(office_time(rng, booked_on, tz), now)
        settlements.append(settlement)
    _dated(Settlement, "created_at", settled_at)
    return ClosedBooks(locked=to_lock, settlements=settlements)


def _dated(model: type[Model], field: str, times: dict[int, dt.datetime]) -> None:
    """Set `field` (an auto_now_add time) of the records `times` names (by pk), and their history's dates.

    Two statements per model and run, whatever the number of months or settlements.
    """
    records = list(model.objects.filter(pk__in=times))
    for record in records:
        setattr(record, field, times[record.pk])
    model.objects.bulk_update(records, [field])
    entries = list(model.history.filter(id__in=times))
    for entry in entries:
        entry.history_date = times[entry.id]
        setattr(entry, field, times[entry.id])
    model.history.model.objects.bulk_update(entries, ["history_date", field])
