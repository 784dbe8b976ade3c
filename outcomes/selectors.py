"""What the dashboard and the outcomes report read of outcome KPIs (PRODUCT.md §3b): the one place that counts.

A KPI is on track on day `d` when it has been measured and `d <= on_track_until` (`outcomes.attainment`
computes that date when a measurement or the KPI changes, the services store it): here it is only ever
compared, in SQL as `on_track_q(day)` / `off_track_q(day)` and in Python as `on_track_by(…)` (outcomes.models),
never derived.

- `outcome_day`: the day KPIs are judged on — today, whatever the period (a KPI keeps only its latest value).
- `kpi_counts`: KPIs on track, off track and not measured yet, per owning side and lane, of a set of
  initiatives (one GROUP BY over the KPIs joined to the initiatives). The dashboard's panel calls it with the
  initiatives its filters select; the report's summary with the initiatives of each fiscal year it lists, so
  the dashboard's counts equal those of the report's rows by construction.
- `initiative_outcomes`: per initiative, its measured and off-track KPIs and their mean attainment (for the
  dashboard's off-track lists and spend per attained point).
- `outcomes_report_rows`: the outcomes report, one row per KPI and fiscal year its initiative runs in (the
  initiatives and years of the split rows that match the report's filters, as the forecast report's), with the
  initiative's actual spend in that year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, QuerySet
from django.utils import timezone

from initiatives.choices import Lane
from initiatives.models import Initiative
from split.models import SplitRow
from split.selectors import MoneySum, SplitFilters

from .choices import Side
from .models import VALUE_PLACES, OutcomeKpi, measured_q, off_track_q, on_track_by, on_track_q

STATES = ("on_track", "off_track", "not_measured")

OUTCOMES_REPORT_COLUMNS: tuple[str, ...] = (
    "fiscal_year",
    "initiative_code",
    "initiative_title",
    "lane",
    "kpi",
    "owner_side",
    "unit",
    "direction",
    "baseline",
    "target",
    "target_date",
    "latest_value",
    "measured_on",
    "attainment_pct",
    "on_track",
    "actual_total",
)


# --- the rule, as it is read -----------------------------------------------------------------------


def outcome_day(fiscal_year: int, quarter: int | None = None, *, today: dt.date | None = None) -> dt.date:
    """The day KPIs are judged on: today, whatever the period. A KPI keeps its latest measurement, not its
    history of states, so a past period is not judged on its last day with what was measured after it: the
    period chooses the initiatives, their KPIs are shown as they stand (`fiscal_year` and `quarter` are kept
    in the signature so that both callers say which period they show)."""
    return today or timezone.localdate()


# --- counts ---------------------------------------------------------------------------------------


def _zero() -> dict[str, int]:
    return dict.fromkeys(STATES, 0)


@dataclass
class OutcomeCounts:
    """KPIs on track / off track / not measured, per (owning side, lane)."""

    day: dt.date | None = None
    cells: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, side: str, lane: str, state: str, count: int = 1) -> None:
        self.cells.setdefault((side, lane), _zero())[state] += count

    def _sum(self, keep) -> dict[str, int]:
        total = _zero()
        for key, counts in self.cells.items():
            if keep(key):
                for state in STATES:
                    total[state] += counts[state]
        total["kpis"] = sum(total[state] for state in STATES)
        return total

    def by_side(self) -> dict[str, dict[str, int]]:
        return {side: self._sum(lambda key, side=side: key[0] == side) for side in Side.values}

    def by_lane(self) -> dict[str, dict[str, int]]:
        return {lane: self._sum(lambda key, lane=lane: key[1] == lane) for lane in Lane.values}

    @property
    def total(self) -> dict[str, int]:
        return self._sum(lambda key: True)

    def __add__(self, other: OutcomeCounts) -> OutcomeCounts:
        result = OutcomeCounts(day=self.day if self.day == other.day else None)
        for source in (self, other):
            for (side, lane), counts in source.cells.items():
                for state in STATES:
                    result.add(side, lane, state, counts[state])
        return result

    def as_dict(self) -> dict[tuple[str, str], dict[str, int]]:
        """Only the non-empty cells, for comparing two counts."""
        return {key: value for key, value in self.cells.items() if any(value.values())}


def kpi_counts(initiative_ids: QuerySet, day: dt.date) -> OutcomeCounts:
    """The KPIs of the initiatives `initiative_ids` (a `values("…id")` queryset) on track, off track and not
    measured on `day`, per owning side and the initiative's lane: one GROUP BY query."""
    rows = (
        OutcomeKpi.objects.filter(initiative_id__in=initiative_ids)
        .order_by()
        .values("owner_side", "initiative__lane")
        .annotate(
            on_track=Count("pk", filter=on_track_q(day)),
            off_track=Count("pk", filter=off_track_q(day)),
            not_measured=Count("pk", filter=~measured_q()),
        )
    )
    counts = OutcomeCounts(day=day)
    for row in rows:
        for state in STATES:
            counts.add(row["owner_side"], row["initiative__lane"], state, row[state])
    return counts


def initiative_outcomes(initiative_ids: QuerySet, day: dt.date) -> QuerySet:
    """Per initiative of `initiative_ids` that has a measured KPI: `initiative_id`, `measured`, `off_track`
    (KPIs off track on `day`) and `mean_attainment` (the mean attainment of its measured KPIs, in points)."""
    return (
        OutcomeKpi.objects.filter(measured_q(), initiative_id__in=initiative_ids)
        .order_by()
        .values("initiative_id")
        .annotate(
            measured=Count("pk"),
            off_track=Count("pk", filter=off_track_q(day)),
            mean_attainment=Avg("attainment_pct"),
        )
    )


# --- the outcomes report ----------------------------------------------------------------------------


def _report_years(filters: SplitFilters) -> QuerySet:
    """(fiscal_year, initiative_id, actual_total) of the split rows matching the report's filters."""
    return (
        filters.apply(SplitRow.objects.all())
        .order_by()
        .values("fiscal_year", "initiative_id")
        .annotate(actual=MoneySum("actual_total"))
    )


def report_days(filters: SplitFilters, years, *, today: dt.date | None = None) -> dict[int, dt.date]:
    """The day each fiscal year's rows are judged on (`outcome_day`, with the report's quarter)."""
    return {year: outcome_day(year, filters.quarter, today=today) for year in years}


def report_fiscal_years(filters: SplitFilters) -> list[int]:
    return sorted(set(filters.apply(SplitRow.objects.all()).order_by().values_list("fiscal_year", flat=True)))


def report_counts(filters: SplitFilters, *, today: dt.date | None = None) -> OutcomeCounts:
    """The counts of the report's rows (`kpi_counts` per fiscal year it lists, added up): one query a year."""
    total = OutcomeCounts()
    for year, day in report_days(filters, report_fiscal_years(filters), today=today).items():
        ids = filters.apply(SplitRow.objects.filter(fiscal_year=year)).order_by().values("initiative_id")
        total = total + kpi_counts(ids, day)
    return total


def outcomes_report_rows(filters: SplitFilters, *, today: dt.date | None = None) -> Iterator[tuple[Any, ...]]:
    """The report's rows in OUTCOMES_REPORT_COLUMNS order, by fiscal year, initiative code and KPI.

    `on_track` is True/False on the day of the row's fiscal year (`outcome_day`), None when not measured;
    `actual_total` the initiative's actual spend in that fiscal year (or quarter) from the split rows.
    One query, read in chunks.
    """
    today = today or timezone.localdate()
    years_sql, years_params = _report_years(filters).query.sql_with_params()
    kpi, initiative = OutcomeKpi._meta.db_table, Initiative._meta.db_table
    sql = f"""
        SELECT y.fiscal_year, i.code, i.title, i.lane, k.name, k.owner_side, k.unit, k.direction, k.baseline,
               k.target, k.target_date, k.latest_value, k.latest_measured_on, k.attainment_pct, k.on_track_until,
               y.actual
        FROM ({years_sql}) y
        JOIN {kpi} k ON k.initiative_id = y.initiative_id
        JOIN {initiative} i ON i.id = y.initiative_id
        ORDER BY y.fiscal_year, i.code, k.id
    """  # noqa: S608 - model tables and Django's compiled query; values are parameters  # nosec B608
    days: dict[int, dt.date] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, years_params)
        while chunk := cursor.fetchmany(2000):
            for row in chunk:
                year = row[0]
                if year not in days:
                    days[year] = outcome_day(year, filters.quarter, today=today)
                baseline, target, latest = (_decimal(value, VALUE_PLACES) for value in (row[8], row[9], row[11]))
                attained = _decimal(row[13], 2)
                target_date, measured_on, until = (_date(value) for value in (row[10], row[12], row[14]))
                yield (
                    *row[:8],
                    baseline,
                    target,
                    target_date,
                    latest,
                    measured_on,
                    attained,
                    on_track_by(until, days[year]),
                    _decimal(row[15] or 0, 2),
                )


def _decimal(value, places: int) -> Decimal | None:
    """A numeric column as a Decimal with its column's places (SQLite's raw cursor gives floats, ints or text)."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(Decimal(1).scaleb(-places))


def _date(value) -> dt.date | None:
    """A date column as a date (SQLite's raw cursor gives text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
