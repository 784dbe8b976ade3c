"""The dashboard's money roll-up (PRODUCT.md §3): sums of the split rows the filters cover, by fiscal month and lane.

Read, never recomputed: the ten amounts of §3 and the three forecast columns, summed from the
latest run's compact history when it can answer, else from the split rows. "Spent of plan" and the
year-end forecast come from here. `dashboard.figures` re-exports what the page uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dashboard.filters import DashboardFilters, split_queryset
from initiatives.choices import Lane
from portfolio.money import CENT
from split.arithmetic import FORECAST_COLUMNS, SPLIT_AMOUNT_COLUMNS, marketing_share_of_actual
from split.models import SplitHistory, SplitRun
from split.selectors import MoneySum

ZERO = Decimal("0.00")
# What the roll-up sums: the ten amounts of §3 and the three forecast columns (never derived here).
ROLLUP_COLUMNS: tuple[str, ...] = (*SPLIT_AMOUNT_COLUMNS, *FORECAST_COLUMNS)


def as_money(value) -> Decimal:
    """A summed money value as a two-place Decimal (SQLite hands back floats)."""
    return Decimal(value if value is not None else 0).quantize(CENT)


# --- money: the roll-up by fiscal month and lane --------------------------------------


def _zero_amounts() -> dict[str, Decimal]:
    return dict.fromkeys(ROLLUP_COLUMNS, ZERO)


def _add(into: dict[str, Decimal], row: dict[str, Any]) -> None:
    for column in ROLLUP_COLUMNS:
        into[column] += row[column]


@dataclass(frozen=True)
class PlanToDate:
    """The plan and the actuals of the period's months up to the current one (`months`; none in a future period)."""

    months: list[dt.date]
    planned: Decimal
    actual: Decimal

    @property
    def spent_of_plan(self) -> Decimal | None:
        """Actual to date as a percentage of the plan to date (None when nothing is planned to date)."""
        return self.actual * 100 / self.planned if self.planned else None

    @property
    def variance(self) -> Decimal:
        """Plan to date − actual to date: negative, over the plan to date."""
        return self.planned - self.actual


@dataclass
class Rollup:
    """Sums of the split rows the filters cover: in total, per fiscal month and per lane."""

    totals: dict[str, Decimal]
    by_month: list[tuple[dt.date, dict[str, Decimal]]]
    by_lane: dict[str, dict[str, Decimal]]

    @property
    def marketing_share(self) -> Decimal | None:
        """Marketing's share of actual joint spend, in percent (None when nothing was spent)."""
        return marketing_share_of_actual(self.totals["actual_marketing"], self.totals["actual_total"])

    def to_date(self, last_month: dt.date | None) -> PlanToDate:
        """The plan and actuals of the months up to `last_month` (the current month; None: no month yet).

        "Spent of plan" compares these, not the actuals so far with the whole period's plan.
        """
        months = [(month, amounts) for month, amounts in self.by_month if last_month and month <= last_month]
        return PlanToDate(
            months=[month for month, _ in months],
            planned=sum((amounts["planned_total"] for _, amounts in months), ZERO),
            actual=sum((amounts["actual_total"] for _, amounts in months), ZERO),
        )

    @property
    def variance_at_completion(self) -> Decimal:
        """The period's plan − its forecast (§4's sign): negative, the forecast runs over the plan."""
        return self.totals["planned_total"] - self.totals["forecast_total"]

    def lane_variance_at_completion(self, lane: str) -> Decimal:
        return self.by_lane[lane]["planned_total"] - self.by_lane[lane]["forecast_total"]

    def lane_share(self, lane: str, column: str = "actual_total") -> Decimal | None:
        """A lane's part of the total of `column`, in percent."""
        total = self.totals[column]
        return self.by_lane[lane][column] * 100 / total if total else None

    @property
    def true_up(self) -> Decimal:
        """Positive: marketing owes IT this much; negative: IT owes marketing."""
        return self.totals["true_up"]


def split_rollup(filters: DashboardFilters, *, run: SplitRun | None = None) -> Rollup:
    """Sums of every money column (forecast included) by fiscal month and lane: one query.

    Given the latest successful `run` and no status or side filter, they are read from
    that run's compact history (lanes × months, written from the split table in the
    same transaction, so the same cents) instead of summing thousands of split rows.
    """
    if run is not None and not filters.status and not filters.side:
        history = SplitHistory.objects.filter(run=run, fiscal_year=filters.fiscal_year)
        if filters.quarter:
            history = history.filter(month__in=filters.months())
        if filters.lane:
            history = history.filter(lane=filters.lane)
        return _rollup(history.values("month", "lane", *ROLLUP_COLUMNS), months=filters.months())
    sums = {column: MoneySum(column) for column in ROLLUP_COLUMNS}
    return _rollup(split_queryset(filters).values("month", "lane").annotate(**sums), months=filters.months())


def _rollup(grouped: Iterable[dict[str, Any]], *, months: Iterable[dt.date] = ()) -> Rollup:
    by_month = {month: _zero_amounts() for month in months}
    by_lane = {lane: _zero_amounts() for lane in Lane.values}
    totals = _zero_amounts()
    for result in grouped:
        amounts = {column: as_money(result[column]) for column in ROLLUP_COLUMNS}
        month = result["month"]
        if isinstance(month, str):
            month = dt.date.fromisoformat(month)
        _add(by_month.setdefault(month, _zero_amounts()), amounts)
        _add(by_lane.setdefault(result["lane"], _zero_amounts()), amounts)
        _add(totals, amounts)
    return Rollup(totals=totals, by_month=sorted(by_month.items()), by_lane=by_lane)
