"""Reads of the spend split for the dashboard, the exports and the API (PRODUCT.md §3–§4).

Everything reads the split table of the latest recompute, so every consumer shows
the same snapshot; `latest_successful_run()` says as of when. Roll-ups are sums of
the rows they cover, done in the database (exact cents on every engine).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Aggregate, Case, CharField, Count, DecimalField, F, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio.money import CENT
from split.arithmetic import FORECAST_COLUMNS, SPLIT_AMOUNT_COLUMNS, marketing_share_of_actual, overspend_factor
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.filtersets import SplitRowFilterSet
from split.models import ClosedMonth, Settlement, SettlementMonth, SplitRow, SplitRun

logger = logging.getLogger(__name__)

FILTER_NAMES = tuple(SplitRowFilterSet.base_filters)  # fiscal_year, quarter, lane, status, initiative
MONEY = DecimalField(max_digits=18, decimal_places=2)
# What every roll-up sums: the ten amounts of §3 and the three forecast columns.
SUMMARY_AMOUNT_COLUMNS: tuple[str, ...] = (*SPLIT_AMOUNT_COLUMNS, *FORECAST_COLUMNS)


def overspent_q(actual: str, planned: str, threshold_pct: int | Decimal) -> Q:
    """`split.arithmetic.is_overspent` as a filter on two (annotated) fields: actual > 0 and > planned × factor."""
    factor = overspend_factor(threshold_pct)
    return Q(**{f"{actual}__gt": 0}) & Q(**{f"{actual}__gt": F(planned) * Value(factor)})


def overspent_sql(actual: str, planned: str) -> str:
    """`split.arithmetic.is_overspent` as an SQL condition on two columns; one `%s` parameter: the factor.

    For raw SQL only (the dashboard ranks grouped rows Django cannot window over);
    pass `overspend_factor(threshold_pct)` as its parameter.
    """
    return f"{actual} > 0 AND {actual} > {planned} * %s"


# Group names accepted by split_summary → the split-row fields they group on.
SUMMARY_GROUPS: dict[str, tuple[str, ...]] = {
    "lane": ("lane",),
    "status": ("status",),
    "fiscal_year": ("fiscal_year",),
    "quarter": ("fiscal_year", "fiscal_quarter"),
    "month": ("fiscal_year", "month"),
    "initiative": ("initiative_id", "initiative_code", "initiative_title"),
}


class SplitFilterError(ValueError):
    """Bad filter values; `errors` maps each filter name to a plain-words message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SplitFilters:
    """Validated filters of split rows (the query parameters of exports and the API)."""

    fiscal_year: int | None = None
    quarter: int | None = None
    lane: str | None = None
    status: str | None = None
    initiative: str | None = None  # an initiative code, e.g. INI-0042

    @classmethod
    def parse(cls, params: Mapping[str, Any] | None) -> SplitFilters:
        """From query parameters (`FY2027` or `2027`, `Q3` or `3`, lane, status, code); blanks ignored.

        The rules are `split.filtersets.SplitRowFilterSet`'s; bad values raise `SplitFilterError`.
        """
        values, errors = SplitRowFilterSet.validate(params)
        if errors:
            raise SplitFilterError(errors)
        return cls(**values)

    def apply(self, queryset: QuerySet[SplitRow]) -> QuerySet[SplitRow]:
        return SplitRowFilterSet.apply(queryset, asdict(self))


def _as_filters(filters: SplitFilters | Mapping[str, Any] | None) -> SplitFilters:
    return filters if isinstance(filters, SplitFilters) else SplitFilters.parse(filters)


class MoneySum(Sum):
    """SUM of a money column, exact to the cent everywhere.

    SQLite stores decimals as floats; summing integer cents there avoids drift.
    """

    def __init__(self, expression, **extra):
        super().__init__(expression, output_field=MONEY, **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            # CAST AS NUMERIC gives the result numeric affinity, so comparisons in lookups work
            template="CAST(SUM(CAST(ROUND(%(expressions)s * 100) AS INTEGER)) / 100.0 AS NUMERIC)",
            **extra_context,
        )


def settled_months_q() -> Q:
    """Split rows of a month that an active settlement holds (PRODUCT.md §3 "True-up settlement")."""
    return Q(month__in=Subquery(SettlementMonth.objects.values("month")))


# The three states of a true-up figure, as split-row conditions: they partition the rows.
TRUE_UP_STATES: dict[str, Callable[[], Q]] = {
    "true_up_settled": lambda: Q(closed=True) & settled_months_q(),
    "true_up_outstanding": lambda: Q(closed=True) & ~settled_months_q(),
    "true_up_accruing": lambda: Q(closed=False),
}


def true_up_state_sums() -> dict[str, Coalesce]:
    """Aggregates of a split-row query: the true-up settled, outstanding (closed, not settled) and
    accruing (open months). They add up to the rows' `true_up`; exact cents on every engine."""
    zero = Decimal("0.00")
    return {
        name: Coalesce(
            MoneySum(Case(When(condition(), then=F("true_up")), default=Value(zero), output_field=MONEY)),
            zero,
            output_field=MONEY,
        )
        for name, condition in TRUE_UP_STATES.items()
    }


def split_rows(filters: SplitFilters | Mapping[str, Any] | None = None) -> QuerySet[SplitRow]:
    """The split rows (latest recompute) matching `filters`, in export order (fiscal year, month, code).

    `filters` is a `SplitFilters` or a mapping of query parameters (fiscal_year,
    quarter, lane, status, initiative); bad values raise `SplitFilterError`.
    """
    return _as_filters(filters).apply(SplitRow.objects.all()).order_by("fiscal_year", "month", "initiative_code")


def split_summary(
    group_by: str | Iterable[str] | None = None,
    filters: SplitFilters | Mapping[str, Any] | None = None,
    *,
    with_true_up_states: bool = False,
) -> list[dict[str, Any]]:
    """Roll-ups of the split rows: the ten amounts and the three forecast columns summed per group, plus `rows` and
    `marketing_share_of_actual` (percent, None when nothing was spent); with
    `with_true_up_states`, the true-up's three states too (`true_up_settled`,
    `true_up_outstanding`, `true_up_accruing`, adding up to `true_up`), in the same query.

    `group_by` is one or more of lane, status, fiscal_year, quarter, month,
    initiative; empty or None gives one row for the whole (filtered) portfolio.
    """
    names = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    unknown = [name for name in names if name not in SUMMARY_GROUPS]
    if unknown:
        raise ValueError(f"cannot group the split by {', '.join(unknown)}; use {', '.join(SUMMARY_GROUPS)}")
    fields = list(dict.fromkeys(field for name in names for field in SUMMARY_GROUPS[name]))
    zero = Decimal("0.00")
    sums = {column: Coalesce(MoneySum(column), zero, output_field=MONEY) for column in SUMMARY_AMOUNT_COLUMNS}
    if with_true_up_states:
        sums = true_up_state_sums() | sums  # first: their F("true_up") is the column, not the sum named so
    queryset = _as_filters(filters).apply(SplitRow.objects.all())
    if fields:
        results = list(queryset.values(*fields).annotate(rows=Count("id"), **sums).order_by(*fields))
    else:
        results = [queryset.aggregate(rows=Count("id"), **sums)]
    for result in results:
        for column in sums:  # SQLite hands back floats: back to cents
            result[column] = Decimal(result[column]).quantize(CENT)
        result["marketing_share_of_actual"] = marketing_share_of_actual(
            result["actual_marketing"], result["actual_total"]
        )
    return results


# The forecast report (PRODUCT.md §4): one row per initiative and fiscal year, in this order.
# CSV, XLSX and the reports page take the names and order from here.
FORECAST_REPORT_COLUMNS: tuple[str, ...] = (
    "fiscal_year",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "estimated_cost",  # the initiative's whole-life estimate (empty when none was given)
    "planned_total",
    "actual_to_date",  # the actuals recorded so far: sum of the rows' actual_total
    "forecast_total",
    "forecast_marketing",
    "forecast_it",
    "variance_at_completion",  # planned_total − forecast_total
)
# Its money columns that sum over the rows of a selection (estimated_cost is per initiative, not per year).
FORECAST_REPORT_SUMMED_COLUMNS: tuple[str, ...] = FORECAST_REPORT_COLUMNS[
    FORECAST_REPORT_COLUMNS.index("planned_total") :
]
# What `forecast_report_rows` names each column in its SQL (annotations may not take a field's name).
FORECAST_REPORT_SELECT_NAMES: tuple[str, ...] = tuple(
    column if column in ("fiscal_year", "initiative_code") else f"report_{column}" for column in FORECAST_REPORT_COLUMNS
)
# A report column → the split-row expression it sums (variance: per row, so exact cents on every engine).
_FORECAST_REPORT_SUMS = {
    "planned_total": F("planned_total"),
    "actual_to_date": F("actual_total"),
    "forecast_total": F("forecast_total"),
    "forecast_marketing": F("forecast_marketing"),
    "forecast_it": F("forecast_it"),
    "variance_at_completion": F("planned_total") - F("forecast_total"),
}
# The initiative's words on a line are those of its latest month among the selected rows: a frozen
# month keeps the title, lane and status it was closed with, open months carry the current ones.
_FORECAST_REPORT_LATEST = ("initiative_title", "lane", "status")


class LatestByMonth(Aggregate):
    """The value of a text column in the group's latest month (months are unique within an initiative).

    An aggregate, so that the report is one GROUP BY over the rows (a correlated subquery per
    line would be evaluated per row). PostgreSQL: the first of the values ordered by month, newest
    first; elsewhere (SQLite): the greatest `YYYY-MM-DD` + value, the date cut off again.
    """

    name = "LatestByMonth"
    output_field = CharField()

    def __init__(self, column: str):
        super().__init__(F(column), F("month"))

    def as_sql(self, compiler, connection, **extra_context):
        (value_sql, value_params), (month_sql, month_params) = (
            compiler.compile(expression)
            for expression in self.get_source_expressions()[:2]  # then filter, order_by
        )
        if connection.vendor == "postgresql":
            return f"(array_agg({value_sql} ORDER BY {month_sql} DESC))[1]", [*value_params, *month_params]
        return f"substr(max({month_sql} || {value_sql}), 11)", [*month_params, *value_params]


def forecast_report_rows(filters: SplitFilters | Mapping[str, Any] | None = None) -> QuerySet:
    """The forecast report: the split rows matching `filters` summed per initiative and fiscal year.

    Tuples in FORECAST_REPORT_COLUMNS order, by fiscal year then code. The amounts are sums
    of the rows' columns (never the forecast rule again); `estimated_cost` is the initiative's.
    The filters are the split report's and select rows before they are summed (a quarter
    gives that quarter's sums). Bad values raise `SplitFilterError`.
    """
    rows = _as_filters(filters).apply(SplitRow.objects.all())
    annotations: dict[str, Any] = {f"report_{column}": LatestByMonth(column) for column in _FORECAST_REPORT_LATEST}
    annotations["report_estimated_cost"] = F("initiative__estimated_cost")
    annotations |= {f"report_{column}": MoneySum(expression) for column, expression in _FORECAST_REPORT_SUMS.items()}
    names = FORECAST_REPORT_SELECT_NAMES
    return (
        rows.order_by()
        .values("fiscal_year", "initiative_id", "initiative_code")
        .annotate(**annotations)
        .order_by("fiscal_year", "initiative_code")
        .values_list(*names)
    )


def forecast_report_totals(filters: SplitFilters | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report's summed columns over the whole selection (one aggregate of the rows) and how many
    (initiative, fiscal year) lines it has."""
    rows = _as_filters(filters).apply(SplitRow.objects.all())
    zero = Decimal("0.00")
    sums = {
        column: Coalesce(MoneySum(expression), zero, output_field=MONEY)
        for column, expression in _FORECAST_REPORT_SUMS.items()
    }
    totals = rows.aggregate(**{f"report_{column}": value for column, value in sums.items()})
    result = {column: Decimal(totals[f"report_{column}"]).quantize(CENT) for column in _FORECAST_REPORT_SUMS}
    result["lines"] = rows.values("fiscal_year", "initiative_id").distinct().count()
    return result


# Figures of one run are cached this long (a new run changes the keys anyway).
RUN_CACHE_SECONDS = 26 * 3600
RUN_CACHE_PREFIX = "split:v2"  # v2: roll-ups carry the forecast columns


def run_cached[T](run: SplitRun | None, name: str, compute: Callable[[], T]) -> T:
    """`compute()`'s result, cached under `run`'s id: what is read from one run's table never changes.

    Every reader of the split (dashboard, API roll-ups) goes through here. A new run
    changes every key, so nothing older than the latest run is ever served. Freezing or
    unfreezing a month changes rows between runs: it renews the rows' generation
    (`split_rows_changed`), which is part of every key too. The cache only saves work:
    if it cannot be reached (Redis down), the figures are read from the database and
    the request still answers. Without a run, nothing is cached.
    """
    if run is None:
        return compute()
    try:
        key = f"{RUN_CACHE_PREFIX}:{run.pk}:{_rows_generation()}:{name}"
        value = cache.get(key)
    except Exception:
        logger.warning("split: cache unavailable, reading %s from the database", name, exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, RUN_CACHE_SECONDS)
        except Exception:
            logger.warning("split: cache unavailable, %s not kept", name, exc_info=True)
    return value


ROWS_GENERATION_KEY = "split:rows-generation"


def _rows_generation() -> str:
    """The current generation of the split rows between runs; a new one if the cache has none (never an old one)."""
    generation = cache.get(ROWS_GENERATION_KEY)
    if generation is None:
        cache.add(ROWS_GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(ROWS_GENERATION_KEY) or "unkept"
    return generation


def split_rows_changed() -> None:
    """The split rows changed outside a recompute (a month frozen or unfrozen): cached figures are read again."""
    try:
        cache.set(ROWS_GENERATION_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("split: cache unavailable, could not renew the rows' generation", exc_info=True)


def latest_successful_run() -> SplitRun | None:
    """The run whose table is current: its `finished_at` is the as-of time of every split figure.

    A history-only run (`HISTORY_ONLY_TRIGGER`, the demo's past year) wrote no table: never this one.
    """
    return table_runs().order_by("-finished_at").first()


def table_runs() -> QuerySet[SplitRun]:
    """The succeeded runs that wrote a split table (history-only runs, `HISTORY_ONLY_TRIGGER`, left out)."""
    return SplitRun.objects.filter(status=RunStatus.SUCCEEDED).exclude(trigger=HISTORY_ONLY_TRIGGER)


def recent_runs(limit: int = 25) -> list[SplitRun]:
    """The latest runs, newest first, with who asked for them."""
    return list(SplitRun.objects.select_related("requested_by").order_by("-queued_at")[:limit])


def active_runs() -> list[SplitRun]:
    """Runs queued or running now, newest first (the runs page polls while there are any).

    At most one is queued (requests coalesce); one runs at a time, except for a run a
    dead worker left `running`, which the recovery closes within a minute.
    """
    return list(
        SplitRun.objects.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
        .select_related("requested_by")
        .order_by("-queued_at")
    )


def overrunning_run(*, limit_seconds: int, now: dt.datetime | None = None) -> SplitRun | None:
    """The oldest run `running` for longer than `limit_seconds` (its time limit): stuck, or its worker is."""
    now = now or timezone.now()
    return (
        SplitRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=now - dt.timedelta(seconds=limit_seconds))
        .order_by("started_at")
        .first()
    )


@dataclass(frozen=True)
class InitiativeSplit:
    """An initiative's split to date: the sums of its split rows (latest recompute), and as of when."""

    amounts: dict[str, Any]
    as_of: Any  # the run's finished_at; None before the first recompute

    @property
    def has_data(self) -> bool:
        return bool(self.amounts.get("rows"))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.amounts[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def spent_pct(self) -> int | None:
        planned = self.amounts["planned_total"]
        return int(self.amounts["actual_total"] * 100 / planned) if planned else None


def initiative_split(*, initiative_code: str) -> InitiativeSplit:
    """The initiative page's budget-and-actuals card: one aggregate over its split rows."""
    run = latest_successful_run()
    (amounts,) = split_summary(None, SplitFilters(initiative=initiative_code), with_true_up_states=True)
    return InitiativeSplit(amounts=amounts, as_of=run.finished_at if run else None)


def ledger_version_subqueries() -> dict[str, Subquery]:
    """The latest change to closed months and to settlements (their history ids), as subqueries: the
    true-up's states change with them, not with a recompute, so what caches them keys on these too."""
    return {
        name: Subquery(model.history.model.objects.order_by("-history_id").values("history_id")[:1])
        for name, model in (("closed_months_version", ClosedMonth), ("settlements_version", Settlement))
    }


def ledger_version() -> str:
    """`<closed months>:<settlements>`: the latest change to either, by history id (one query)."""
    tables = [model.history.model._meta.db_table for model in (ClosedMonth, Settlement)]
    sql = "SELECT " + ", ".join(f"(SELECT MAX(history_id) FROM {table})" for table in tables)  # noqa: S608 # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        versions = cursor.fetchone()
    return ":".join(str(version or 0) for version in versions)


def split_summary_by_side(filters: SplitFilters, *, with_true_up_states: bool = False) -> list[dict[str, Any]]:
    """Roll-ups by the owner's side (marketing or IT), as the dashboard's `side` filter picks initiatives.

    The same sums as `split_summary` (MoneySum, exact cents), grouped on the
    owner's profile, which the split table does not copy.
    """
    zero = Decimal("0.00")
    sums = {column: Coalesce(MoneySum(column), zero, output_field=MONEY) for column in SUMMARY_AMOUNT_COLUMNS}
    if with_true_up_states:
        sums = true_up_state_sums() | sums  # first: their F("true_up") is the column, not the sum named so
    results = list(
        split_rows(filters)
        .order_by()
        .values(side=F("initiative__owner__profile__side"))
        .annotate(rows=Count("id"), **sums)
        .order_by("side")
    )
    for result in results:
        for column in sums:
            result[column] = Decimal(result[column]).quantize(CENT)
        result["marketing_share_of_actual"] = marketing_share_of_actual(
            result["actual_marketing"], result["actual_total"]
        )
    return results
