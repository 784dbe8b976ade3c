"""As of when the dashboard's figures are (PRODUCT.md §1), the share trend, and the cache of the split's figures.

What is read from the split changes only when a recompute finishes, so it is cached
under the id of the latest successful run (`split_cached`): a new run changes every
key, and the page never shows figures older than that run. The freshness and the
trend (marketing's share per run, from the compact history) are one query.
"""

from __future__ import annotations

import datetime as dt
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
from split.choices import RunStatus
from split.models import SplitRun
from split.selectors import MoneySum, ledger_version_subqueries, run_cached

# A split older than this is flagged on the page (the job runs nightly).
STALE_AFTER = dt.timedelta(hours=36)
# How many recompute runs the share trend shows.
TREND_RUNS = 30
# v2: at risk leaves out cancelled and rejected initiatives (figures cached under v1 counted them);
# v3: the roll-up carries the forecast columns.
CACHE_PREFIX = "dashboard:v3"


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
    run_id: str
    as_of: dt.datetime
    actual_marketing: Decimal
    actual_total: Decimal

    @property
    def marketing_share(self) -> Decimal | None:
        return marketing_share_of_actual(self.actual_marketing, self.actual_total)


# Runs that ended without a new table: the dashboard says so when one is newer than the last success.
UNSUCCESSFUL = (RunStatus.FAILED, RunStatus.INTERRUPTED)


def freshness_and_trend(
    filters: DashboardFilters, *, now: dt.datetime | None = None, runs: int = TREND_RUNS
) -> tuple[Freshness, list[TrendPoint]]:
    """As of when the figures are, and marketing's share per recompute run: one query.

    Reads the last `runs` successful runs and the latest finished one (to spot a
    failure after the last success), each with its compact-history sums for the
    period. The history keeps lanes and months only: the fiscal year, quarter and
    lane filters apply to the trend; status and side cannot.
    """
    succeeded = SplitRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at").values("pk")[:runs]
    latest_finished = (
        SplitRun.objects.filter(status__in=(RunStatus.SUCCEEDED, *UNSUCCESSFUL), finished_at__isnull=False)
        .order_by("-finished_at")
        .values("pk")[:1]
    )
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
        SplitRun.objects.filter(Q(pk__in=succeeded) | Q(pk__in=latest_finished))
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
    latest = successes[-1] if successes else None
    failed = next((run for run in reversed(found) if run.status in UNSUCCESSFUL), None)
    if failed and latest and failed.finished_at <= latest.finished_at:
        failed = None
    trend = [
        TrendPoint(
            run_id=str(run.pk),
            as_of=run.finished_at,
            actual_marketing=as_money(run.period_marketing),
            actual_total=as_money(run.period_total),
        )
        for run in successes
        if run.period_rows
    ]
    version = (found[-1].portfolio_version or 0) if found else None  # no history yet: nothing changed
    ledger = f"{found[-1].closed_months_version or 0}:{found[-1].settlements_version or 0}" if found else "0:0"
    freshness = Freshness(
        latest=latest,
        last_failed=failed,
        now=now or timezone.now(),
        portfolio_version=version,
        ledger_version=ledger,
    )
    return freshness, trend


def share_trend(filters: DashboardFilters, *, runs: int = TREND_RUNS) -> list[TrendPoint]:
    """Marketing's share of actual spend in the period, per recompute run (the last `runs`), oldest first."""
    return freshness_and_trend(filters, runs=runs)[1]
