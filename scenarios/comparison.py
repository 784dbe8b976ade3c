"""The comparison of the live plan and up to three scenarios for a fiscal year (PRODUCT.md §3a).

Computed in the database on read: one set-based query per column (the live plan is the same query
with no changes) applies the scenario's changes as overrides over the split rows of the fiscal year.
In an open row (not `closed`): the scenario's share from its month, its lane, its exclusion (no plan
from its month) or its scale (plan × pct / 100, rounded half up to cents) replace the live values;
planned_marketing = round_half_up(planned × share / 100, 2), IT the rest; the forecast (§3) with the
scenario's plan: months before the as-of month their actual, later ones max(planned, actual).
A row no change touches keeps its stored figures, and a closed row is taken as it is, so the live
column equals the split's summary to the cent.

Halves round away from zero as §3's round_half_up: numeric round() on PostgreSQL, integer cents on
SQLite (its decimals are floats); tests/scenarios hold both to `split.arithmetic` row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from initiatives.models import Initiative, Profile
from portfolio.money import CENT, round_half_up
from split.models import SplitRow
from split.rebuild import as_of_month_now

from .models import Scenario, ScenarioChange

MAX_SCENARIOS = 3
# The figures of each column (overall, per lane, per side), in export order.
FIGURES = (
    "planned_total",
    "planned_marketing",
    "planned_it",
    "marketing_share_of_plan",
    "forecast_total",
    "forecast_marketing",
    "forecast_it",
)
# The deltas of an initiative that differs (scenario − live; `lane` is the scenario's lane when it moved).
DELTAS = ("planned_total", "planned_marketing", "forecast_marketing", "forecast_it", "lane")

# PostgreSQL computes in numeric, as the split's own SQL does (`split.rebuild.SPLIT_AMOUNTS_SQL`: round() on
# numeric rounds halves away from zero). SQLite keeps decimals as floats: there money is integer cents and
# percentages integer hundredths, and the rounding is integer arithmetic (division truncates toward zero).
_MONEY = {"postgresql": "{column}", "sqlite": "CAST(round({column} * 100) AS INTEGER)"}
_GREATEST = {"postgresql": "greatest", "sqlite": "max"}


def _money(column: str) -> str:
    return _MONEY[connection.vendor].format(column=column)


def _times_pct(amount: str, pct: str) -> str:
    """round_half_up(amount × pct / 100, 2), both in the form `_money` gives them."""
    if connection.vendor == "postgresql":
        return f"round(({amount}) * ({pct}) * 0.01, 2)"
    product = f"(({amount}) * ({pct}))"
    return f"(CASE WHEN {product} >= 0 THEN ({product} + 5000) / 10000 ELSE -((5000 - {product}) / 10000) END)"


def comparison_sql(watched: int = 0, *, changed_only: bool = False) -> str:
    """The one statement computing a column: per (scenario lane, owner's side), the sums in cents; one group
    per initiative for those the `watched` scenarios change (`initiative_id` None for the rest of the rows).

    Parameters: `scenario` (None for the live plan: no change matches), `fiscal_year`, `as_of_month`, and
    `watched_0`… (the ids of the compared scenarios: the initiatives they change are the ones that may differ).
    `changed_only` reads the rows of the initiatives `scenario` changes alone (the rest is the live plan's).
    """
    in_watched = ", ".join(f"%(watched_{n})s" for n in range(watched)) or "NULL"
    only = (
        f" AND r.initiative_id IN (SELECT initiative_id FROM {ScenarioChange._meta.db_table}"  # noqa: S608 # nosec B608
        " WHERE scenario_id = %(scenario)s)"
        if changed_only
        else ""
    )
    changes = f"""
        SELECT initiative_id,
               max(CASE WHEN kind = 'share' THEN from_month END) AS share_from,
               max(CASE WHEN kind = 'share' THEN {_money("marketing_share_pct")} END) AS share,
               max(CASE WHEN kind = 'lane' THEN lane END) AS lane,
               max(CASE WHEN kind = 'exclude' THEN from_month END) AS exclude_from,
               max(CASE WHEN kind = 'scale' THEN from_month END) AS scale_from,
               max(CASE WHEN kind = 'scale' THEN {_money("plan_scale_pct")} END) AS scale
        FROM {ScenarioChange._meta.db_table}
        WHERE scenario_id = %(scenario)s
        GROUP BY initiative_id"""  # noqa: S608 - the table name and the cents expression are constants  # nosec B608
    # Level 1: the row's stored cents, and its plan, share and lane under the scenario.
    rows = f"""
        SELECT CASE WHEN w.initiative_id IS NULL THEN NULL ELSE r.initiative_id END AS initiative_id,
               CASE WHEN w.initiative_id IS NULL THEN NULL ELSE i.code END AS code,
               CASE WHEN w.initiative_id IS NULL THEN NULL ELSE i.title END AS title,
               r.month, r.closed, coalesce(pr.side, '') AS side,
               CASE WHEN r.closed OR c.lane IS NULL THEN r.lane ELSE c.lane END AS lane,
               CASE WHEN r.closed THEN 0
                    WHEN c.share_from <= r.month OR c.exclude_from <= r.month OR c.scale_from <= r.month THEN 1
                    ELSE 0 END AS touched,
               CASE WHEN r.closed THEN {_money("r.planned_total")}
                    WHEN c.exclude_from <= r.month THEN 0
                    WHEN c.scale_from <= r.month THEN {_times_pct(_money("r.planned_total"), "c.scale")}
                    ELSE {_money("r.planned_total")} END AS planned,
               CASE WHEN NOT r.closed AND c.share_from <= r.month THEN c.share
                    ELSE {_money("r.marketing_share_pct")} END AS share,
               {_money("r.actual_total")} AS actual,
               {_money("r.planned_marketing")} AS stored_planned_marketing,
               {_money("r.forecast_total")} AS stored_forecast,
               {_money("r.forecast_marketing")} AS stored_forecast_marketing
        FROM {SplitRow._meta.db_table} r
        JOIN {Initiative._meta.db_table} i ON i.id = r.initiative_id
        LEFT JOIN {Profile._meta.db_table} pr ON pr.user_id = i.owner_id
        LEFT JOIN ({changes}) c ON c.initiative_id = r.initiative_id
        LEFT JOIN (
            SELECT DISTINCT initiative_id FROM {ScenarioChange._meta.db_table} WHERE scenario_id IN ({in_watched})
        ) w ON w.initiative_id = r.initiative_id
        WHERE r.fiscal_year = %(fiscal_year)s{only}"""  # noqa: S608 - table names and expressions are constants  # nosec B608
    # Level 2: marketing's part of the plan and the forecast (§3), recomputed where a change touched the row.
    greatest = _GREATEST[connection.vendor]
    planned_forecast = f"""
        SELECT b.*,
               CASE WHEN b.touched = 1 THEN {_times_pct("b.planned", "b.share")}
                    ELSE b.stored_planned_marketing END AS planned_marketing,
               CASE WHEN b.touched = 0 THEN b.stored_forecast
                    WHEN b.month < %(as_of_month)s THEN b.actual
                    ELSE {greatest}(b.planned, b.actual) END AS forecast
        FROM ({rows}) b"""  # noqa: S608 - composed from this module's constants  # nosec B608
    return f"""
        SELECT f.initiative_id, min(f.code), min(f.title), f.lane, f.side,
               sum(CASE WHEN f.closed THEN 0 ELSE 1 END),
               sum(f.planned), sum(f.planned_marketing), sum(f.forecast),
               sum(CASE WHEN f.touched = 1 THEN {_times_pct("f.forecast", "f.share")}
                        ELSE f.stored_forecast_marketing END)
        FROM ({planned_forecast}) f
        GROUP BY f.initiative_id, f.lane, f.side
    """  # noqa: S608 - composed from this module's constants  # nosec B608


def _amount(value) -> Decimal:
    """A sum as it comes back: numeric on PostgreSQL, integer cents on SQLite."""
    if connection.vendor == "sqlite":
        return Decimal(int(value or 0)).scaleb(-2)
    return Decimal(value or 0).quantize(CENT)


@dataclass
class Figures:
    """Sums of a column's rows (Decimal cents); IT is the rest of the total."""

    planned_total: Decimal = Decimal("0.00")
    planned_marketing: Decimal = Decimal("0.00")
    forecast_total: Decimal = Decimal("0.00")
    forecast_marketing: Decimal = Decimal("0.00")

    @property
    def planned_it(self) -> Decimal:
        return self.planned_total - self.planned_marketing

    @property
    def forecast_it(self) -> Decimal:
        return self.forecast_total - self.forecast_marketing

    @property
    def marketing_share_of_plan(self) -> Decimal | None:
        """planned_marketing / planned_total × 100 with two places; None without a plan."""
        if not self.planned_total:
            return None
        return round_half_up(self.planned_marketing * 100 / self.planned_total, 2)

    def add(self, other: Figures) -> None:
        self.planned_total += other.planned_total
        self.planned_marketing += other.planned_marketing
        self.forecast_total += other.forecast_total
        self.forecast_marketing += other.forecast_marketing

    def as_dict(self) -> dict[str, Decimal | None]:
        return {name: getattr(self, name) for name in FIGURES}


@dataclass
class InitiativeFigures:
    code: str
    title: str
    lane: str  # the lane of its open months under the column (a closed month keeps the one it was closed with)
    figures: Figures = field(default_factory=Figures)


@dataclass
class Column:
    """The live plan (`scenario` None) or one scenario: overall, by lane and by owner's side ('' without one)."""

    scenario: Scenario | None
    overall: Figures
    by_lane: dict[str, Figures]
    by_side: dict[str, Figures]
    initiatives: dict[int, InitiativeFigures]  # those a compared scenario changes (no other can differ)

    @property
    def label(self) -> str:
        return "Live plan" if self.scenario is None else self.scenario.name


@dataclass
class Difference:
    """An initiative whose figures differ from live in at least one scenario: its deltas per scenario (None: same)."""

    initiative_id: int
    code: str
    title: str
    live_lane: str
    deltas: list[dict[str, Decimal | str] | None]

    def delta(self, name: str, index: int = 0) -> Decimal | str | None:
        deltas = self.deltas[index]
        return None if deltas is None else deltas[name]


@dataclass
class Comparison:
    fiscal_year: int
    as_of_month: dt.date
    live: Column
    scenarios: list[Column]

    @property
    def columns(self) -> list[Column]:
        return [self.live, *self.scenarios]

    @property
    def lanes(self) -> list[str]:
        return sorted({lane for column in self.columns for lane in column.by_lane})

    @property
    def sides(self) -> list[str]:
        return sorted({side for column in self.columns for side in column.by_side})

    @property
    def differences(self) -> list[Difference]:
        return differences(self)


@dataclass(frozen=True)
class _Group:
    """One row of `comparison_sql`: the sums of a (lane, side) group, of one initiative or of the rest."""

    initiative_id: int | None
    code: str
    title: str
    lane: str
    side: str
    open_rows: int
    figures: Figures


def _groups(sql: str, params: dict) -> list[_Group]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            _Group(initiative_id, code, title, lane, side, open_rows,
                   Figures(_amount(planned), _amount(planned_m), _amount(forecast), _amount(forecast_m)))
            for initiative_id, code, title, lane, side, open_rows, planned, planned_m, forecast, forecast_m in cursor
        ]  # fmt: skip


def _column_of(scenario: Scenario | None, groups: Sequence[_Group]) -> Column:
    overall, by_lane, by_side, initiatives = Figures(), {}, {}, {}
    for group in groups:
        overall.add(group.figures)
        by_lane.setdefault(group.lane, Figures()).add(group.figures)
        by_side.setdefault(group.side, Figures()).add(group.figures)
        if group.initiative_id is None:  # the rows of initiatives no compared scenario changes
            continue
        entry = initiatives.get(group.initiative_id)
        if entry is None:
            entry = initiatives[group.initiative_id] = InitiativeFigures(group.code, group.title, group.lane)
        elif group.open_rows:
            entry.lane = group.lane
        entry.figures.add(group.figures)
    return Column(scenario=scenario, overall=overall, by_lane=by_lane, by_side=by_side, initiatives=initiatives)


def comparison(*, fiscal_year: int, scenarios: Sequence[Scenario], as_of_month: dt.date | None = None) -> Comparison:
    """The live plan and up to three scenarios for `fiscal_year`: one query per column.

    The live plan's query reads every split row of the year, apart per initiative a compared scenario
    changes. A scenario's query reads only the rows of the initiatives it changes: the rest of its column
    is the live plan's, which no change of it touches. The forecast of rows a change touches is as of
    `as_of_month` (default: this month).
    """
    if len(scenarios) > MAX_SCENARIOS:
        raise ValueError(f"a comparison holds at most {MAX_SCENARIOS} scenarios")
    as_of_month = as_of_month or as_of_month_now()
    params = {"fiscal_year": fiscal_year, "as_of_month": as_of_month}
    watched = {f"watched_{n}": scenario.pk for n, scenario in enumerate(scenarios)}
    live = _groups(comparison_sql(len(scenarios)), {**params, **watched, "scenario": None})
    columns = []
    for scenario in scenarios:
        changed = _groups(
            comparison_sql(1, changed_only=True), {**params, "watched_0": scenario.pk, "scenario": scenario.pk}
        )
        changed_ids = {group.initiative_id for group in changed}  # every row of each: all its groups
        columns.append(_column_of(scenario, [g for g in live if g.initiative_id not in changed_ids] + changed))
    return Comparison(fiscal_year=fiscal_year, as_of_month=as_of_month, live=_column_of(None, live), scenarios=columns)


_EMPTY = InitiativeFigures(code="", title="", lane="")


def _deltas(live: InitiativeFigures, other: InitiativeFigures) -> dict[str, Decimal | str] | None:
    a, b = live.figures, other.figures
    deltas: dict[str, Decimal | str] = {
        "planned_total": b.planned_total - a.planned_total,
        "planned_marketing": b.planned_marketing - a.planned_marketing,
        "forecast_marketing": b.forecast_marketing - a.forecast_marketing,
        "forecast_it": b.forecast_it - a.forecast_it,
        "lane": other.lane if other.lane != live.lane else "",
    }
    return deltas if any(deltas.values()) else None


def differences(comparison: Comparison) -> list[Difference]:
    """The initiatives whose figures differ from live in any scenario, by code; sort with `sorted_differences`."""
    found = []
    for initiative_id, live in comparison.live.initiatives.items():
        deltas = [_deltas(live, column.initiatives.get(initiative_id, _EMPTY)) for column in comparison.scenarios]
        if any(deltas):
            found.append(Difference(initiative_id, live.code, live.title, live.lane, deltas))
    return sorted(found, key=lambda difference: difference.code)


def sorted_differences(
    found: Sequence[Difference], *, by: str = "planned_total", scenario: int = 0, descending: bool = False
) -> list[Difference]:
    """The differences sorted by one scenario's delta (`by` one of DELTAS); those without a delta there last."""
    if by not in DELTAS:
        raise ValueError(f"cannot sort the differences by {by}; use {', '.join(DELTAS)}")
    present = [d for d in found if d.delta(by, scenario) is not None]
    absent = [d for d in found if d.delta(by, scenario) is None]
    present.sort(key=lambda d: (d.delta(by, scenario), d.code), reverse=descending)
    return present + absent
