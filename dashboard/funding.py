"""Who funds what (issue 18, PRODUCT.md §3): plan and actuals per sponsor, and the true-up per fiscal quarter.

Read, never recomputed: sums of the split rows the dashboard's filters cover
(`dashboard.filters.split_queryset`). Both sponsor tables and the portfolio total
come from the rows summed per pair of sponsors (one query) and the initiatives
counted per pair (one query); the true-up by quarter is one more.

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
from initiatives.models import Initiative
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
PERSON_FIELDS: tuple[str, ...] = ("first_name", "last_name", "username")
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


@dataclass(frozen=True)
class PortfolioTotals:
    """The sums of all the rows the filters cover: what each sponsor table adds up to."""

    amounts: dict[str, Decimal]
    initiatives: int

    @property
    def marketing_share(self) -> Decimal | None:
        """Marketing's share of actual spend, in percent (None when nothing was spent)."""
        return marketing_share_of_actual(self.amounts["actual_marketing"], self.amounts["actual_total"])


def _person(first_name: str | None, last_name: str | None, username: str | None) -> str:
    return f"{first_name or ''} {last_name or ''}".strip() or username or "—"


def _sponsor_pairs(filters: DashboardFilters) -> tuple[list[dict], list[dict]]:
    """The rows the filters cover, per pair of sponsors (marketing, IT): their sums; and per pair, how many
    initiatives and the sponsors' names. Two queries, each a hash aggregate into a handful of groups.

    Grouping by the pair, not by initiative, needs no COUNT(DISTINCT) over the rows (a sort of them all):
    the initiatives are counted on the initiatives that have rows, a semi-join.
    """
    rows = split_queryset(filters)
    money = list(
        rows.values(
            marketing_sponsor_id=F("initiative__marketing_sponsor_id"), it_sponsor_id=F("initiative__it_sponsor_id")
        )
        .annotate(**_money_sums())
        .order_by()
    )
    people = list(
        Initiative.objects.filter(pk__in=rows.values("initiative_id"))
        .values(
            "marketing_sponsor_id",
            "it_sponsor_id",
            *(f"{sponsor}__{name}" for sponsor in SPONSOR_FIELDS.values() for name in PERSON_FIELDS),
        )
        .annotate(sponsored=Count("pk"))
        .order_by()
    )
    return money, people


def sponsor_figures(filters: DashboardFilters) -> tuple[PortfolioTotals, list[SponsorTable]]:
    """The rows the filters cover, summed per marketing sponsor, per IT sponsor and in all: two queries.

    Every split row belongs to one pair of sponsors: the pairs' sums, added up in Decimal, give each
    sponsor's figures and the portfolio total exactly. Returns the totals and the two tables (marketing
    sponsors, then IT sponsors), each sorted by actual spend, largest first.
    """
    money, people = _sponsor_pairs(filters)
    totals = _zero_amounts()
    by_sponsor: dict[str, dict[int, dict]] = {side: {} for side in SPONSOR_FIELDS}

    def sponsor(side: str, pk: int) -> dict:
        return by_sponsor[side].setdefault(pk, {"amounts": _zero_amounts(), "initiatives": 0, "name": ""})

    for pair in money:
        amounts = _amounts(pair)
        for column in FUNDING_COLUMNS:
            totals[column] += amounts[column]
        for side, field_name in SPONSOR_FIELDS.items():
            figures = sponsor(side, pair[f"{field_name}_id"])["amounts"]
            for column in FUNDING_COLUMNS:
                figures[column] += amounts[column]
    for pair in people:
        for side, field_name in SPONSOR_FIELDS.items():
            figures = sponsor(side, pair[f"{field_name}_id"])
            figures["initiatives"] += pair["sponsored"]
            figures["name"] = _person(*(pair[f"{field_name}__{name}"] for name in PERSON_FIELDS))
    tables = [
        _sponsor_table(
            side,
            [
                SponsorLine(
                    sponsor_id=pk, name=figures["name"], initiatives=figures["initiatives"], amounts=figures["amounts"]
                )
                for pk, figures in by_sponsor[side].items()
            ],
        )
        for side in SPONSOR_FIELDS
    ]
    initiatives = sum(pair["sponsored"] for pair in people)
    return PortfolioTotals(amounts=totals, initiatives=initiatives), tables


def _sponsor_table(side: str, lines: list[SponsorLine]) -> SponsorTable:
    lines = sorted(lines, key=lambda line: (-line.amounts["actual_total"], -line.amounts["planned_total"], line.name))
    totals = _zero_amounts()
    for line in lines:
        for column in FUNDING_COLUMNS:
            totals[column] += line.amounts[column]
    return SponsorTable(side=side, lines=lines, totals=totals, initiatives=sum(line.initiatives for line in lines))


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


def funding(*, filters: DashboardFilters, now: dt.datetime | None = None) -> Funding:
    """Everything the page shows: five queries when nothing is cached (freshness, the sponsor pairs' sums and
    counts, the true-up by quarter, whether anything was settled); one (freshness) once cached."""
    freshness, _ = freshness_and_trend(filters, now=now)
    totals, sponsors = split_cached(
        freshness,
        f"funding:sponsors:{freshness.portfolio_version}:{filters.cache_key}",
        lambda: sponsor_figures(filters),
    )
    true_up = split_cached(
        freshness,
        f"funding:true-up:{freshness.ledger_version}:{filters.cache_key}",
        lambda: true_up_by_quarter(filters),
    )
    return Funding(filters=filters, freshness=freshness, totals=totals, sponsors=sponsors, true_up=true_up)
