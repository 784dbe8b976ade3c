"""Who funds what (issue 18, PRODUCT.md §3): plan and actuals per sponsor, and the true-up per fiscal quarter.

Read, never recomputed: sums of the split rows the dashboard's filters cover
(`dashboard.filters.split_queryset`), one aggregate query per table.

Every initiative has one marketing sponsor and one IT sponsor. Each split row counts
once under its initiative's marketing sponsor (the "Marketing sponsors" table) and
once under its IT sponsor (the "IT sponsors" table): each table adds up to the
portfolio total of the filters, and no table counts a cent twice. The sponsors are
the initiatives' current ones (the split rows do not copy them): a closed month's
figures never move, but they follow its initiative to a new sponsor.

The true-up per quarter is `split.settlements.true_up_states_by_quarter` (the one
rule of settled / outstanding / accruing, grouped by quarter).

Cached like the dashboard (`dashboard.freshness.split_cached`, under the latest run):
the sponsor tables also under the latest change to the initiatives (a new sponsor),
the true-up also under the latest change to closed months and settlements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F

from dashboard.filters import DashboardFilters, split_queryset
from dashboard.freshness import Freshness, freshness_and_trend, split_cached
from dashboard.rollup import ZERO, as_money
from portfolio import fiscal
from split.arithmetic import marketing_share_of_actual
from split.selectors import MoneySum
from split.settlements import settlements_exist, true_up_states_by_quarter

# What the sponsor tables sum: plan and actuals, by side and in total (marketing + IT = total in every row).
FUNDING_COLUMNS: tuple[str, ...] = (
    "planned_marketing",
    "planned_it",
    "planned_total",
    "actual_marketing",
    "actual_it",
    "actual_total",
)
# The sponsor tables: the side of the sponsor → the initiative's field that names them.
SPONSOR_FIELDS: dict[str, str] = {"marketing": "marketing_sponsor", "it": "it_sponsor"}
SPONSOR_TITLES: dict[str, str] = {"marketing": "Marketing sponsors", "it": "IT sponsors"}
TRUE_UP_STATE_NAMES: tuple[str, ...] = ("settled", "outstanding", "accruing")


def _zero_amounts() -> dict[str, Decimal]:
    return dict.fromkeys(FUNDING_COLUMNS, ZERO)


def _money_sums() -> dict[str, MoneySum]:
    # Named `sum_*`: an annotation may not take the name of a split-row field.
    return {f"sum_{column}": MoneySum(column) for column in FUNDING_COLUMNS}


def _amounts(row: dict) -> dict[str, Decimal]:
    return {column: as_money(row[f"sum_{column}"]) for column in FUNDING_COLUMNS}


# --- by sponsor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SponsorLine:
    """One sponsor: how many initiatives of the filtered rows they sponsor on this side, and their sums."""

    sponsor_id: int
    name: str
    initiatives: int
    amounts: dict[str, Decimal]


@dataclass(frozen=True)
class SponsorTable:
    """The sponsors of one side, by actual spend (largest first), and their totals (the portfolio's)."""

    side: str  # marketing | it: the side of the sponsors, not of the money
    lines: list[SponsorLine]
    totals: dict[str, Decimal]
    initiatives: int  # each initiative has one sponsor per side: the initiatives of the rows

    @property
    def title(self) -> str:
        return SPONSOR_TITLES[self.side]


def _person(first_name: str, last_name: str, username: str) -> str:
    return f"{first_name} {last_name}".strip() or username


def sponsor_table(filters: DashboardFilters, side: str) -> SponsorTable:
    """The split rows the filters cover, summed per sponsor of `side` (marketing or it): one query."""
    sponsor = SPONSOR_FIELDS[side]
    grouped = (
        split_queryset(filters)
        .values(
            sponsor_id=F(f"initiative__{sponsor}_id"),
            sponsor_first_name=F(f"initiative__{sponsor}__first_name"),
            sponsor_last_name=F(f"initiative__{sponsor}__last_name"),
            sponsor_username=F(f"initiative__{sponsor}__username"),
        )
        .annotate(sponsored=Count("initiative_id", distinct=True), **_money_sums())
        .order_by()
    )
    lines = [
        SponsorLine(
            sponsor_id=row["sponsor_id"],
            name=_person(row["sponsor_first_name"], row["sponsor_last_name"], row["sponsor_username"]),
            initiatives=row["sponsored"],
            amounts=_amounts(row),
        )
        for row in grouped
    ]
    lines.sort(key=lambda line: (-line.amounts["actual_total"], -line.amounts["planned_total"], line.name))
    totals = _zero_amounts()
    for line in lines:
        for column in FUNDING_COLUMNS:
            totals[column] += line.amounts[column]
    return SponsorTable(side=side, lines=lines, totals=totals, initiatives=sum(line.initiatives for line in lines))


@dataclass(frozen=True)
class PortfolioTotals:
    """The sums of all the rows the filters cover: what each sponsor table adds up to."""

    amounts: dict[str, Decimal]
    initiatives: int

    @property
    def marketing_share(self) -> Decimal | None:
        """Marketing's share of actual spend, in percent (None when nothing was spent)."""
        return marketing_share_of_actual(self.amounts["actual_marketing"], self.amounts["actual_total"])


def portfolio_totals(filters: DashboardFilters) -> PortfolioTotals:
    """The rows the filters cover, summed: one aggregate query."""
    sums = split_queryset(filters).aggregate(initiatives=Count("initiative_id", distinct=True), **_money_sums())
    return PortfolioTotals(amounts=_amounts(sums), initiatives=sums["initiatives"])


# --- the true-up by fiscal quarter --------------------------------------------------------------


@dataclass(frozen=True)
class QuarterTrueUp:
    """One fiscal quarter's true-up: settled, outstanding, accruing and their total (positive: marketing owes IT)."""

    fiscal_year: int
    quarter: int
    months: list[dt.date]
    states: dict[str, Decimal]

    @property
    def label(self) -> str:
        return f"{fiscal.fiscal_year_label(self.fiscal_year)} Q{self.quarter}"


@dataclass(frozen=True)
class TrueUpByQuarter:
    """The quarters of the filters (the four of the year, or the chosen one) and their sum.

    `by_state` is False until finance has settled anything: the page then shows each quarter's total only.
    """

    quarters: list[QuarterTrueUp]
    year: dict[str, Decimal]
    by_state: bool


def _no_true_up() -> dict[str, Decimal]:
    return dict.fromkeys((*TRUE_UP_STATE_NAMES, "total"), ZERO)


def true_up_by_quarter(filters: DashboardFilters) -> TrueUpByQuarter:
    """The true-up of the rows the filters cover, per fiscal quarter: two queries (the sums, any settlement)."""
    found = true_up_states_by_quarter(split_queryset(filters))
    quarters = [
        QuarterTrueUp(
            fiscal_year=filters.fiscal_year,
            quarter=quarter,
            months=fiscal.fiscal_quarter_months(filters.fiscal_year, quarter),
            states=found.get((filters.fiscal_year, quarter), _no_true_up()),
        )
        for quarter in ([filters.quarter] if filters.quarter else range(1, 5))
    ]
    year = _no_true_up()
    for quarter in quarters:
        for name, amount in quarter.states.items():
            year[name] += amount
    return TrueUpByQuarter(quarters=quarters, year=year, by_state=settlements_exist())


# --- the whole page -----------------------------------------------------------------------------


@dataclass
class Funding:
    filters: DashboardFilters
    freshness: Freshness
    totals: PortfolioTotals
    sponsors: list[SponsorTable] = field(default_factory=list)  # marketing sponsors, then IT sponsors
    true_up: TrueUpByQuarter | None = None


def _sponsor_figures(filters: DashboardFilters) -> tuple[PortfolioTotals, list[SponsorTable]]:
    return portfolio_totals(filters), [sponsor_table(filters, side) for side in SPONSOR_FIELDS]


def funding(*, filters: DashboardFilters, now: dt.datetime | None = None) -> Funding:
    """Everything the page shows: six queries when nothing is cached (freshness, totals, two sponsor
    tables, the true-up by quarter, whether anything was settled); one (freshness) once cached."""
    freshness, _ = freshness_and_trend(filters, now=now)
    totals, sponsors = split_cached(
        freshness,
        f"funding:sponsors:{freshness.portfolio_version}:{filters.cache_key}",
        lambda: _sponsor_figures(filters),
    )
    true_up = split_cached(
        freshness,
        f"funding:true-up:{freshness.ledger_version}:{filters.cache_key}",
        lambda: true_up_by_quarter(filters),
    )
    return Funding(filters=filters, freshness=freshness, totals=totals, sponsors=sponsors, true_up=true_up)
