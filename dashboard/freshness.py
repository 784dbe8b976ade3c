"""As of when the dashboard's figures are (PRODUCT.md §1), the share trend, and the cache of the split's figures.

What is read from the split changes only when a recompute finishes, so it is cached
under the id of the latest successful run (`split_cached`): a new run changes every
key, and the page never shows figures older than that run. The freshness and the
trend (marketing's share per fiscal month, from the compact history of the last run of
each month) are one query.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    F,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from dashboard.figures import MONEY, ZERO, as_money
from dashboard.filters import DashboardFilters
from initiatives.models import Initiative
from portfolio import fiscal
from split.arithmetic import marketing_share_of_actual
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.models import SplitRun
from split.selectors import MoneySum, ledger_version_subqueries, run_cached, table_runs

# A split older than this is flagged on the page (the job runs nightly).
STALE_AFTER = dt.timedelta(hours=36)
# How many fiscal months the share trend shows (this one and the twelve before it).
TREND_MONTHS = 13
# v2: at risk leaves out cancelled and rejected initiatives (figures cached under v1 counted them);
# v3: the roll-up carries the forecast columns; v4: at risk carries the variance (planned − actual) and,
# with a quarter, the quarter to date.
CACHE_PREFIX = "dashboard:v4"


# --- freshness -----------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """As of when the figures are, and whether to warn that they may be out of date."""

    latest: SplitRun | None  # the latest successful run: its table is what the page shows
    last_failed: SplitRun | None  # a failed run newer than `latest`, if any
    now: dt.datetime
    # The latest change recorded in the initiatives' history (every save and platform
    # change is recorded): the live figures are cached under it.
    portfolio_version: int | None = None
    # The latest change to closed months and settlements (`split.selectors.ledger_version`'s form): the
    # true-up's states (settled, outstanding, accruing) are cached under it as well as under the run.
    ledger_version: str = "0:0"

    @property
    def as_of(self) -> dt.datetime | None:
        return self.latest.finished_at if self.latest else None

    @property
    def never_run(self) -> bool:
        return self.latest is None

    @property
    def stale(self) -> bool:
        return self.latest is not None and self.now - self.latest.finished_at > STALE_AFTER

    @property
    def failed(self) -> bool:
        return self.last_failed is not None

    @property
    def needs_warning(self) -> bool:
        return self.never_run or self.stale or self.failed


def dashboard_freshness(*, now: dt.datetime | None = None) -> Freshness:
    """The latest successful run (as `split_selectors.latest_successful_run()`) and a failed run after it."""
    return freshness_and_trend(DashboardFilters(fiscal_year=fiscal.fiscal_year(timezone.localdate())), now=now)[0]


def split_cached[T](freshness: Freshness, name: str, compute: Callable[[], T]) -> T:
    """`compute()`'s result, cached under the latest successful run's id (`split_selectors.run_cached`)."""
    return run_cached(freshness.latest, f"{CACHE_PREFIX}:{name}", compute)


# --- the share trend (compact history) ------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """Marketing's share in one fiscal month: the figures of the last successful run that finished in it."""

    run_id: str
    as_of: dt.datetime
    actual_marketing: Decimal
    actual_total: Decimal
    month: dt.date | None = None  # the month (local time) the run finished in

    @property
    def marketing_share(self) -> Decimal | None:
        return marketing_share_of_actual(self.actual_marketing, self.actual_total)


# Runs that ended without a new table: the dashboard says so when one is newer than the last success.
UNSUCCESSFUL = (RunStatus.FAILED, RunStatus.INTERRUPTED)


def trend_months(now: dt.datetime, months: int = TREND_MONTHS) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """The trend's months, oldest first: (month, its first instant, the next month's first) in local time."""
    current = fiscal.month_start(timezone.localdate(now))
    firsts = [fiscal.add_months(current, offset) for offset in range(1 - months, 2)]

    def instant(day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    return [(month, instant(month), instant(after)) for month, after in itertools.pairwise(firsts)]


def freshness_and_trend(
    filters: DashboardFilters, *, now: dt.datetime | None = None, months: int = TREND_MONTHS
) -> tuple[Freshness, list[TrendPoint]]:
    """As of when the figures are, and marketing's share per fiscal month: one query.

    Reads the latest run that wrote a table (`split.selectors.table_runs`), the latest
    finished one (to spot a failure after it), and, for each of the last `months`
    months, the last successful run that finished in it (history-only runs, the demo's
    past year, included: they are points of the trend, never the current table). Each
    comes with its compact-history sums for the period. The history keeps lanes and
    months only: the fiscal year, quarter and lane filters apply to the trend; status
    and side cannot.
    """
    now = now or timezone.now()
    latest_table = table_runs().order_by("-finished_at").values("pk")[:1]
    latest_finished = (
        SplitRun.objects.filter(status__in=(RunStatus.SUCCEEDED, *UNSUCCESSFUL), finished_at__isnull=False)
        .exclude(trigger=HISTORY_ONLY_TRIGGER)
        .order_by("-finished_at")
        .values("pk")[:1]
    )
    wanted = Q(pk__in=latest_table) | Q(pk__in=latest_finished)
    for _month, start, end in trend_months(now, months):
        last_of_month = SplitRun.objects.filter(
            status=RunStatus.SUCCEEDED, finished_at__gte=start, finished_at__lt=end
        ).order_by("-finished_at", "-queued_at")
        wanted |= Q(pk__in=last_of_month.values("pk")[:1])
    in_period = Q(history_rows__fiscal_year=filters.fiscal_year)
    if filters.quarter:
        in_period &= Q(history_rows__month__in=filters.months())
    if filters.lane:
        in_period &= Q(history_rows__lane=filters.lane)

    def period_sum(column: str) -> MoneySum:
        return MoneySum(
            Case(When(in_period, then=F(f"history_rows__{column}")), default=Value(ZERO), output_field=MONEY)
        )

    last_change = Initiative.history.model.objects.order_by("-history_id").values("history_id")[:1]
    found = list(
        SplitRun.objects.filter(wanted)
        .annotate(
            portfolio_version=Subquery(last_change),
            **ledger_version_subqueries(),
            period_rows=Count("history_rows", filter=in_period),
            period_marketing=period_sum("actual_marketing"),
            period_total=period_sum("actual_total"),
        )
        .order_by("finished_at", "queued_at")
    )
    successes = [run for run in found if run.status == RunStatus.SUCCEEDED]
    tables = [run for run in successes if run.trigger != HISTORY_ONLY_TRIGGER]
    latest = tables[-1] if tables else None
    failed = next((run for run in reversed(found) if run.status in UNSUCCESSFUL), None)
    if failed and latest and failed.finished_at <= latest.finished_at:
        failed = None
    last_of_month: dict[dt.date, SplitRun] = {}
    first_month = trend_months(now, months)[0][0]
    for run in successes:  # oldest first: the last of each month wins
        month = fiscal.month_start(timezone.localtime(run.finished_at).date())
        if month >= first_month:
            last_of_month[month] = run
    trend = [
        TrendPoint(
            run_id=str(run.pk),
            as_of=run.finished_at,
            actual_marketing=as_money(run.period_marketing),
            actual_total=as_money(run.period_total),
            month=month,
        )
        for month, run in sorted(last_of_month.items())
        if run.period_rows and run.period_total  # no actual spend in the period yet: no share to plot
    ]
    version = (found[-1].portfolio_version or 0) if found else None  # no history yet: nothing changed
    ledger = f"{found[-1].closed_months_version or 0}:{found[-1].settlements_version or 0}" if found else "0:0"
    freshness = Freshness(
        latest=latest,
        last_failed=failed,
        now=now,
        portfolio_version=version,
        ledger_version=ledger,
    )
    return freshness, trend


def share_trend(filters: DashboardFilters, *, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """Marketing's share of actual spend in the period, per fiscal month (the last `months`), oldest first."""
    return freshness_and_trend(filters, months=months)[1]
