"""The dashboard's outcomes panel (PRODUCT.md §3b, issue 20): are the initiatives the money goes to working?

- KPIs on track / off track / not measured yet, by owning side and by lane: `outcomes.selectors.kpi_counts`,
  the count the outcomes report's rows add up to, of the initiatives the dashboard's filters select (those
  with split rows in the period, as the money panels and the reports select them).
- "Over budget and off track" and "On budget but off track": initiatives with at least one KPI off track,
  over or within budget by the dashboard's overspend rule (`dashboard.figures.spend_ranking`'s overspent
  ids: over plan by more than OVERSPEND_ALERT_PCT in the period to date); the five with most KPIs off track
  (then the lowest mean attainment) of each.
- Spend per attained point, by lane: the actual spend in the period of the initiatives with a measured KPI,
  divided by the sum of their mean attainment (in points, each clamped at 0).

Two queries, cached under the latest run, the outcomes' version
(`outcomes_changed`, called by the receivers on any KPI or measurement write and by bulk imports), the
filters and the day. KPIs are judged on `outcomes.selectors.outcome_day`: today, as they stand, whatever the period.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, IntegerField, Max, Value, When
from django.urls import reverse

from dashboard.figures import ZERO, overspent_ids_q
from dashboard.filters import DashboardFilters, split_queryset
from dashboard.freshness import Freshness, split_cached
from initiatives.choices import Lane
from initiatives.models import Initiative
from outcomes.selectors import OutcomeCounts, initiative_outcomes, kpi_counts, outcome_day
from split.selectors import MoneySum

logger = logging.getLogger(__name__)

LIST_LIMIT = 5
OUTCOMES_VERSION_KEY = "dashboard:outcomes-version"
POINTS = Decimal("0.01")


def outcomes_changed() -> None:
    """KPIs or measurements changed: the outcomes panel is read again on the next view.

    The receivers call it after every save or delete of a KPI or a measurement, and after
    `outcomes.services.kpis_refresh` (`outcomes.signals.kpis_changed`), which every bulk write calls.
    """
    try:
        cache.set(OUTCOMES_VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("dashboard: cache unavailable, could not renew the outcomes' version", exc_info=True)


def outcomes_version() -> str:
    """The current outcomes' version; a new one when the cache has none (never an old one). Without a cache
    the panel is read from the database anyway (`split_cached`)."""
    try:
        version = cache.get(OUTCOMES_VERSION_KEY)
        if version is None:
            cache.add(OUTCOMES_VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(OUTCOMES_VERSION_KEY)
    except Exception:
        logger.warning("dashboard: cache unavailable, reading the outcomes panel from the database", exc_info=True)
        version = None
    return version or uuid.uuid4().hex


@dataclass
class OffTrack:
    """An initiative with at least one KPI off track."""

    code: str
    title: str
    lane: str
    off_track: int
    measured: int
    mean_attainment: Decimal | None

    @property
    def link(self) -> str:
        return reverse("initiatives:detail", args=[self.code])


@dataclass
class LaneSpend:
    """Spend per attained point in one lane."""

    lane: str
    label: str
    initiatives: int = 0
    actual: Decimal = ZERO
    points: Decimal = ZERO

    @property
    def per_point(self) -> Decimal | None:
        return (self.actual / self.points).quantize(POINTS) if self.points > 0 else None


@dataclass
class OutcomesPanel:
    day: dt.date
    counts: OutcomeCounts
    over: list[OffTrack] = field(default_factory=list)
    over_count: int = 0
    within: list[OffTrack] = field(default_factory=list)
    within_count: int = 0
    spend: list[LaneSpend] = field(default_factory=list)

    @property
    def by_side(self):
        return self.counts.by_side()

    @property
    def by_lane(self):
        return self.counts.by_lane()

    @property
    def total(self):
        return self.counts.total


def _per_initiative(filters: DashboardFilters, day: dt.date, overspent_ids: list[int]):
    """`initiative_outcomes` of the filters' initiatives, with `over` (1: over budget by the overspend rule)."""
    ids = split_queryset(filters).values("initiative_id")
    overspent = overspent_ids_q(overspent_ids, filters, day, field="initiative_id")
    over = Case(When(overspent, then=Value(1)), default=Value(0))
    return initiative_outcomes(ids, day).annotate(over=Max(over, output_field=IntegerField()))


def _off_track_and_spend(
    filters: DashboardFilters, day: dt.date, overspent_ids: list[int]
) -> tuple[dict[int, list[OffTrack]], dict[int, int], dict[str, LaneSpend]]:
    """The first LIST_LIMIT off-track initiatives over (1) and within (0) budget, how many there are of each,
    and the spend and attained points per lane: one query over the per-initiative figures.

    Each measured initiative is a row (its KPIs' figures, its lane, its actual spend in the period); window
    sums per (lane, over budget, off track) give the groups' totals on their first row, and a rank per
    (over budget, off track) the lists' first rows: only those rows leave the database.
    """
    kpis_sql, kpis_params = _per_initiative(filters, day, overspent_ids).query.sql_with_params()
    spend = split_queryset(filters).values("initiative_id").annotate(actual=MoneySum("actual_total")).order_by()
    spend_sql, spend_params = spend.query.sql_with_params()
    table = Initiative._meta.db_table
    sql = f"""
        SELECT code, title, lane, off_track, measured, mean_attainment, over, off, place,
               group_place, group_count, group_actual, group_points
        FROM (
            SELECT j.*,
                   ROW_NUMBER() OVER (
                       PARTITION BY j.over, j.off ORDER BY j.off_track DESC, j.mean_attainment ASC, j.code
                   ) AS place,
                   ROW_NUMBER() OVER (PARTITION BY j.lane, j.over, j.off ORDER BY j.code) AS group_place,
                   COUNT(*) OVER (PARTITION BY j.lane, j.over, j.off) AS group_count,
                   SUM(j.actual) OVER (PARTITION BY j.lane, j.over, j.off) AS group_actual,
                   SUM(j.points) OVER (PARTITION BY j.lane, j.over, j.off) AS group_points
            FROM (
                SELECT i.code, i.title, i.lane, k.off_track, k.measured, k.mean_attainment, k.over,
                       CASE WHEN k.off_track > 0 THEN 1 ELSE 0 END AS off,
                       COALESCE(s.actual, 0) AS actual,
                       CASE WHEN k.mean_attainment < 0 THEN 0 ELSE k.mean_attainment END AS points
                FROM ({kpis_sql}) k
                JOIN {table} i ON i.id = k.initiative_id
                LEFT JOIN ({spend_sql}) s ON s.initiative_id = k.initiative_id
            ) j
        ) ranked
        WHERE (off = 1 AND place <= %s) OR group_place = 1
        ORDER BY over DESC, place
    """  # noqa: S608 - a model's table and Django's compiled queries; values are parameters  # nosec B608
    found: dict[int, list[OffTrack]] = {1: [], 0: []}
    counts = {1: 0, 0: 0}
    lanes = {lane: LaneSpend(lane=lane, label=label) for lane, label in Lane.choices}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*kpis_params, *spend_params, LIST_LIMIT])
        for row in cursor.fetchall():
            code, title, lane, off_track, measured, mean, over, off, place, group_place = row[:10]
            over, off = int(over), int(off)
            if off and place <= LIST_LIMIT:
                mean = None if mean is None else Decimal(str(mean)).quantize(POINTS)
                found[over].append(OffTrack(code, title, lane, off_track, measured, mean))
            if group_place == 1:
                group_count, group_actual, group_points = row[10:]
                if off:
                    counts[over] += group_count
                if lane in lanes:
                    lanes[lane].initiatives += group_count
                    lanes[lane].actual += Decimal(str(group_actual or 0))
                    lanes[lane].points += Decimal(str(group_points or 0))
    for spent in lanes.values():
        spent.actual, spent.points = spent.actual.quantize(POINTS), spent.points.quantize(POINTS)
    return found, counts, lanes


def outcomes_panel(filters: DashboardFilters, *, today: dt.date, overspent_ids: list[int]) -> OutcomesPanel:
    """The panel's figures, read from the database: two queries (one when no initiative has a KPI)."""
    day = outcome_day(filters.fiscal_year, filters.quarter, today=today)
    counts = kpi_counts(split_queryset(filters).values("initiative_id"), day)
    if not counts.total["kpis"]:
        return OutcomesPanel(day=day, counts=counts)
    found, lists, lanes = _off_track_and_spend(filters, day, overspent_ids)
    shown = [spent for lane, spent in lanes.items() if not filters.lane or filters.lane == lane]
    return OutcomesPanel(
        day=day,
        counts=counts,
        over=found[1],
        over_count=lists[1],
        within=found[0],
        within_count=lists[0],
        spend=shown,
    )


def cached_outcomes_panel(
    freshness: Freshness, filters: DashboardFilters, *, today: dt.date, overspent_ids: list[int], rules_key: str
) -> OutcomesPanel:
    """`outcomes_panel`, cached under the run, the outcomes' version, the filters and the day.

    Not under the initiatives' version: the panel takes its initiatives, their spend and who is over budget
    from the run's split rows, as the money panels do, so an initiative's edit (say its lane, by an approved
    proposal) shows with the next recompute, while a KPI or measurement written shows on the next view. The
    first view after an edit then reads the live figures alone (issue 18's < 200 ms)."""
    day = outcome_day(filters.fiscal_year, filters.quarter, today=today)
    ytd = filters.ytd_last_month(today)
    key = f"outcomes:{outcomes_version()}:{filters.cache_key}:{ytd}:{rules_key}:{day}"
    return split_cached(freshness, key, lambda: outcomes_panel(filters, today=today, overspent_ids=overspent_ids))


OUTCOMES_REPORT_PATH = "/reports/outcomes.csv"


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}" if whole else "0"


def _count_rows(counts: dict[str, dict[str, int]], labels: dict[str, str], kind: str) -> list[dict]:
    rows = []
    for key, label in labels.items():
        cell = counts[key]
        rows.append(
            {
                "kind": kind,
                "key": key,
                "label": label,
                **cell,
                "on_width": _share(cell["on_track"], cell["kpis"]),
                "off_width": _share(cell["off_track"], cell["kpis"]),
                "none_width": _share(cell["not_measured"], cell["kpis"]),
            }
        )
    return rows


def panel_context(panel: OutcomesPanel | None, filters: DashboardFilters, *, may_report: bool) -> dict:
    """What templates/dashboard/_outcomes.html shows of the panel."""
    if panel is None:
        return {}
    sides = {"marketing": "Marketing-owned", "it": "IT-owned"}
    lanes = {lane: label for lane, label in Lane.choices if not filters.lane or filters.lane == lane}
    return {
        "panel": panel,
        "total": panel.total,
        "rows": _count_rows(panel.by_side, sides, "side") + _count_rows(panel.by_lane, lanes, "lane"),
        "report_link": filters.report_url(path=OUTCOMES_REPORT_PATH) if may_report else "",
        "xlsx_link": filters.report_url(path=OUTCOMES_REPORT_PATH.replace(".csv", ".xlsx")) if may_report else "",
    }
