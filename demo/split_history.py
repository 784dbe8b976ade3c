"""The demo's year of recompute history: one past run a month, so the share trend has a year to show.

A fresh install has one recompute (`make run` recomputes right after seeding), so the
dashboard's share trend would show a single dot. The seed records, for each of the twelve
months before the current one, the nightly run of that month's last day as the app would
have kept it: a succeeded `SplitRun` with the trigger `seed` (`split.choices.HISTORY_ONLY_TRIGGER`)
and its compact `SplitHistory` (lanes × months, PRODUCT.md §3). Each past run knows the plan
and the actuals of the months up to its own, from the seeded records themselves, with
marketing's part drifting a little from run to run (shares were renegotiated, costs recoded),
closing in on today's.

These runs wrote no split table: they are dated before the seed, and `HISTORY_ONLY_TRIGGER`
keeps them from ever being taken for the current table (the dashboard's as-of, the reports,
/healthz): until the first real recompute the dashboard still says it has never been computed.
A month that already has a succeeded run gets no seeded one. Two grouped queries read the
plan and the actuals (a million expenses take about a second); the rows are lanes × months × 12.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from budgets.models import BudgetLine, Expense
from portfolio.fiscal import add_months, fiscal_year, month_start
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.models import SplitHistory, SplitRun

HISTORY_MONTHS = 12
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=18, decimal_places=2)
# How far marketing's part of actual spend strays from today's in the oldest seeded run (a fraction).
MAX_DRIFT = 0.06


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def _month_sums() -> dict[tuple[dt.date, str], dict[str, Decimal]]:
    """Per (month, lane): planned, planned by marketing, actual, actual marketing's part, paid by marketing."""
    share = F("initiative__marketing_share_pct") / Value(Decimal(100))
    sums: dict[tuple[dt.date, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    planned = (
        BudgetLine.objects.order_by()
        .values("month", lane=F("initiative__lane"))
        .annotate(total=Sum("amount"), marketing=Sum(F("amount") * share, output_field=MONEY))
    )
    for row in planned:
        amounts = sums[(row["month"], row["lane"])]
        amounts["planned_total"] += _cents(row["total"])
        amounts["planned_marketing"] += _cents(row["marketing"])
    actual = (
        Expense.objects.order_by()
        .annotate(month=TruncMonth("incurred_on"))
        .values("month", lane=F("initiative__lane"))
        .annotate(
            total=Sum("amount_reporting"),
            marketing=Sum(F("amount_reporting") * share, output_field=MONEY),
            paid_marketing=Sum(
                Case(When(paid_by="marketing", then=F("amount_reporting")), default=Value(ZERO), output_field=MONEY)
            ),
        )
    )
    for row in actual:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        amounts = sums[(month, row["lane"])]
        amounts["actual_total"] += _cents(row["total"])
        amounts["actual_marketing"] += _cents(row["marketing"])
        amounts["paid_marketing"] += _cents(row["paid_marketing"])
    return sums


def _history_row(run: SplitRun, run_month: dt.date, month: dt.date, lane: str, amounts, drift: float) -> SplitHistory:
    """One lane-month as a run of `run_month` saw it: actuals only up to its month, marketing's part drifted."""
    planned_total, planned_marketing = amounts["planned_total"], amounts["planned_marketing"]
    seen = month <= run_month
    actual_total = amounts["actual_total"] if seen else ZERO
    paid_marketing = amounts["paid_marketing"] if seen else ZERO
    actual_marketing = _cents(amounts["actual_marketing"] * Decimal(str(1 + drift))) if seen else ZERO
    if actual_total >= 0:
        actual_marketing = min(max(actual_marketing, ZERO), actual_total)
    forecast_total = actual_total if month < run_month else max(planned_total, actual_total)
    if actual_total:
        forecast_marketing = _cents(forecast_total * actual_marketing / actual_total)
    elif planned_total:
        forecast_marketing = _cents(forecast_total * planned_marketing / planned_total)
    else:
        forecast_marketing = ZERO
    return SplitHistory(
        run=run,
        lane=lane,
        month=month,
        fiscal_year=fiscal_year(month),
        planned_total=planned_total,
        planned_marketing=planned_marketing,
        planned_it=planned_total - planned_marketing,
        actual_total=actual_total,
        actual_marketing=actual_marketing,
        actual_it=actual_total - actual_marketing,
        paid_marketing=paid_marketing,
        paid_it=actual_total - paid_marketing,
        true_up=actual_marketing - paid_marketing,
        variance=planned_total - actual_total,
        forecast_total=forecast_total,
        forecast_marketing=forecast_marketing,
        forecast_it=forecast_total - forecast_marketing,
    )


def past_run_months(*, now: dt.datetime, months: int = HISTORY_MONTHS) -> list[dt.date]:
    """The months before the current one that get a seeded run, oldest first (none that has a succeeded run)."""
    current = month_start(timezone.localdate(now))
    wanted = [add_months(current, offset) for offset in range(-months, 0)]
    since = timezone.make_aware(dt.datetime.combine(wanted[0], dt.time.min))
    finished = SplitRun.objects.filter(status=RunStatus.SUCCEEDED, finished_at__gte=since).values_list(
        "finished_at", flat=True
    )
    taken = {month_start(timezone.localtime(when).date()) for when in finished}
    return [month for month in wanted if month not in taken]


def _finished_at(rng: random.Random, month: dt.date) -> dt.datetime:
    """The nightly run of the month's last day: the recompute hour, a few minutes past."""
    last_day = add_months(month, 1) - dt.timedelta(days=1)
    hour = settings.SPLIT_RECOMPUTE_HOUR
    return timezone.make_aware(dt.datetime.combine(last_day, dt.time(hour, rng.randrange(1, 20), rng.randrange(60))))


def demo_split_history_seed(rng: random.Random, *, now: dt.datetime, months: int = HISTORY_MONTHS) -> int:
    """Record a past nightly run for each of the `months` months before now's (see the module); return how many."""
    run_months = past_run_months(now=now, months=months)
    if not run_months:
        return 0
    sums = _month_sums()
    if not sums:
        return 0
    start_drift = rng.uniform(-MAX_DRIFT, MAX_DRIFT)
    runs, rows = [], []
    for index, run_month in enumerate(run_months):
        finished = min(_finished_at(rng, run_month), now - dt.timedelta(minutes=1))
        duration_ms = rng.randrange(2_000, 9_000)
        run = SplitRun(
            status=RunStatus.SUCCEEDED,
            trigger=HISTORY_ONLY_TRIGGER,
            started_at=finished - dt.timedelta(milliseconds=duration_ms),
            finished_at=finished,
            progress=100,
            duration_ms=duration_ms,
        )
        runs.append(run)
        # The oldest run strays most; each later one closes in on today's figures, with a little noise.
        left = (len(run_months) - index) / len(run_months)
        drift = start_drift * left + rng.uniform(-0.005, 0.005)
        for (month, lane), amounts in sorted(sums.items()):
            if month > run_month and not amounts["planned_total"]:
                continue  # a month with actuals only, not reached yet: no row
            rows.append(_history_row(run, run_month, month, lane, amounts, drift))
    SplitRun.objects.bulk_create(runs)
    # queued_at is stamped with the clock on insert; the runs were queued just before they started.
    for run in runs:
        run.queued_at = run.started_at
    SplitRun.objects.bulk_update(runs, ["queued_at"])
    SplitHistory.objects.bulk_create(rows, batch_size=1000)
    return len(runs)
