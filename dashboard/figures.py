"""The dashboard's figures (PRODUCT.md §1, §3): counts, at risk, islands, platforms, rankings.

Every figure is read, never recomputed: money comes from the split table of the
latest successful recompute (through `split.selectors`); people-facing facts
(health, status, platforms, approvals) come from the initiatives themselves. Each
function is one query whatever the size of the portfolio. The whole page, and what
of it is cached, is `dashboard.selectors`; the money roll-up is `dashboard.rollup`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.filters import DashboardFilters, filtered_initiatives, split_queryset
from dashboard.rollup import ROLLUP_COLUMNS, ZERO, PlanToDate, Rollup, as_money, split_rollup  # noqa: F401 - the page's figures
from initiatives.choices import Health, Status
from initiatives.models import Initiative
from initiatives.platforms import NEVER_BUILT, digital_island_q
from initiatives.rules import visible_initiatives
from portfolio import policy
from split.arithmetic import overspend_factor
from split.models import SplitRow
from split.selectors import MoneySum, overspent_q, overspent_sql

MONEY = DecimalField(max_digits=18, decimal_places=2)
# Above this many overspent initiatives the counts ask the database again instead of
# passing the ids as parameters (SQLite allows 32,766 per statement).
MAX_ID_PARAMETERS = 10_000


class InIds(Func):
    """`<field> IN (ids)` for a long list of ids: PostgreSQL gets one array parameter.

    Thousands of ids as one `'{1,2,…}'::bigint[]` cost PostgreSQL (and psycopg) next to
    nothing to send and plan, unlike thousands of parameters; other databases get IN.
    """

    output_field = BooleanField()

    def __init__(self, field: str, ids: Iterable[int]):
        super().__init__(F(field))
        self.ids = [int(pk) for pk in ids]
        self.ids_key = hash(tuple(self.ids))

    @property
    def identity(self):
        # Django compares expressions by identity many times while compiling; the default
        # one would hash thousands of ids each time.
        return (InIds, tuple(self.get_source_expressions()), len(self.ids), self.ids_key)

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if not self.ids:
            return "1 = 0", []
        return f"{column} IN ({', '.join(['%s'] * len(self.ids))})", [*params, *self.ids]

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} = ANY(%s::bigint[])", [*params, "{" + ",".join(map(str, self.ids)) + "}"]


class InSubquery(Func):
    """`<field> IN (subquery)`; on PostgreSQL `<field> = ANY(ARRAY(subquery))`.

    PostgreSQL runs the subquery once and uses its (few) values as an index condition, so an
    OR of it and other indexed conditions is read from the indexes (a BitmapOr) instead of
    testing every row the other conditions leave.
    """

    output_field = BooleanField()

    def __init__(self, field: str, queryset: QuerySet):
        super().__init__(F(field), Subquery(queryset))

    def _parts(self, compiler) -> tuple[str, str, list]:
        column, params = compiler.compile(self.source_expressions[0])
        subquery, subquery_params = compiler.compile(self.source_expressions[1])
        return column, subquery, [*params, *subquery_params]

    def as_sql(self, compiler, connection, **extra_context):
        column, subquery, params = self._parts(compiler)
        return f"{column} IN {subquery}", params

    def as_postgresql(self, compiler, connection, **extra_context):
        column, subquery, params = self._parts(compiler)
        return f"{column} = ANY(ARRAY{subquery})", params


# --- initiatives: counts, at risk, islands, platforms -----------------------------------


def overspent_ytd(filters: DashboardFilters, *, today: dt.date) -> QuerySet:
    """Initiatives over budget in the period to date by more than OVERSPEND_ALERT_PCT.

    The rule of the nightly overspend alerts (`split.overspend.overspending_initiatives`):
    actual > planned × (1 + threshold / 100), and positive, summed over the period to date
    (`DashboardFilters.overspend_months`): the chosen fiscal year up to today's month, or,
    with a quarter, that quarter up to today's month (a whole past period; nothing of one
    not begun). One rule, one window: the at-risk count and list, and the ranking, use it.
    Returns `initiative_id, ytd_planned, ytd_actual` rows ("to date"), for use as a subquery.
    """
    window = filters.overspend_months(today)
    if window is None:
        return SplitRow.objects.none().values("initiative_id")
    year = DashboardFilters(
        fiscal_year=filters.fiscal_year, lane=filters.lane, status=filters.status, side=filters.side
    )
    return (
        split_queryset(year)
        .filter(month__range=window)
        .values("initiative_id")
        .annotate(ytd_planned=MoneySum("planned_total"), ytd_actual=MoneySum("actual_total"))
        .filter(overspent_q("ytd_actual", "ytd_planned", settings.OVERSPEND_ALERT_PCT))
    )


def _open_to_action_q() -> Q:
    """Initiatives that can still be acted on: not cancelled or rejected (NEVER_BUILT)."""
    return ~Q(status__in=NEVER_BUILT)


def _at_risk_q(overspent: Q) -> Q:
    """At risk, the one rule of the count and the list: red health or overspent, and still open to action."""
    return (Q(health=Health.RED) | overspent) & _open_to_action_q()


def overspent_ranking(filters: DashboardFilters, *, today: dt.date) -> list[int]:
    """Ids of the initiatives overspent in the period to date, furthest over plan (most negative variance) first."""
    return spend_ranking(filters, today=today).overspent_ids


def overspent_ids_q(overspent_ids: list[int], filters: DashboardFilters, today: dt.date, field: str = "pk") -> Q:
    """Rows whose initiative (`field`) is among the overspent: by their ids, or (very many on SQLite, whose
    statements take at most MAX_ID_PARAMETERS parameters) by asking the split again."""
    if connection.vendor == "postgresql" or len(overspent_ids) <= MAX_ID_PARAMETERS:
        return Q(InIds(field, overspent_ids))
    return Q(**{f"{field}__in": overspent_ytd(filters, today=today).values("initiative_id")})


@dataclass
class InitiativeCounts:
    by_status: dict[str, int]
    red: int
    overspent: int
    at_risk: int
    islands: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def initiative_counts(
    filters: DashboardFilters, *, user, today: dt.date, overspent_ids: list[int] | None = None
) -> InitiativeCounts:
    """Initiatives by status, and how many are at risk (and why) or digital islands: one query.

    At risk (`_at_risk_q`, the rule of `at_risk_initiatives` too): red health, or year-to-date
    spend above plan by more than OVERSPEND_ALERT_PCT, and neither cancelled nor rejected.
    `red` and `overspent` count the initiatives at risk for that reason. Digital islands are the
    rule of `initiatives.platforms`, as the initiative list filters them (platform risk is counted
    with the platform map, `platform_map`).
    """
    if overspent_ids is None:
        overspent_ids = overspent_ranking(filters, today=today)
    overspent = overspent_ids_q(overspent_ids, filters, today)
    open_to_action = _open_to_action_q()
    rows = (
        filtered_initiatives(filters, user)
        .values("status")
        .annotate(
            total=Count("pk"),
            red=Count("pk", filter=Q(health=Health.RED) & open_to_action),
            overspent=Count("pk", filter=overspent & open_to_action),
            at_risk=Count("pk", filter=_at_risk_q(overspent)),
            islands=Count("pk", filter=digital_island_q()),
        )
    )
    by_status = dict.fromkeys(Status.values, 0)
    red = over = at_risk = islands = 0
    for row in rows:
        by_status[row["status"]] = row["total"]
        red += row["red"]
        over += row["overspent"]
        at_risk += row["at_risk"]
        islands += row["islands"]
    return InitiativeCounts(by_status=by_status, red=red, overspent=over, at_risk=at_risk, islands=islands)


def _ytd_sum(filters: DashboardFilters, column: str, window: tuple[dt.date, dt.date] | None):
    """A correlated subquery: the initiative's `column` summed over the period to date (`overspend_months`).

    The months are a range of the split table's unique (initiative, month) index, so each
    initiative's rows are read from it directly.
    """
    if window is None:
        return Value(ZERO, output_field=MONEY)
    rows = (
        SplitRow.objects.filter(initiative_id=OuterRef("pk"), fiscal_year=filters.fiscal_year, month__range=window)
        .order_by()
        .values("initiative_id")
        .annotate(total=MoneySum(column))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=MONEY), Value(ZERO), output_field=MONEY)


def at_risk_initiatives(
    filters: DashboardFilters, *, user, today: dt.date, overspent_ids: list[int] | None = None, limit: int = 10
) -> list[Initiative]:
    """The initiatives at risk to act on first: the furthest over plan, then those with red health (one query).

    At risk is `_at_risk_q`, the rule `initiative_counts` counts with: cancelled and
    rejected initiatives are left out.

    Each has `ytd_planned`, `ytd_actual` (the period to date: the fiscal year's, or the
    quarter's, up to today's month, `DashboardFilters.overspend_months`), `variance`
    (planned − actual, PRODUCT.md §3's sign: below zero is over plan), `variance_pct` (the
    variance as a percentage of the plan; None without a plan) and `overspent` (over plan
    by more than the alert threshold). The to-date sums are subqueries the database
    evaluates for the rows shown only: the order does not depend on them.
    """
    if overspent_ids is None:
        overspent_ids = overspent_ranking(filters, today=today)
    # A few more than shown: the live filters may leave out some the split still lists.
    candidates = overspent_ids[: limit * 3]
    first = Case(When(InIds("pk", candidates), then=Value(0)), default=Value(1), output_field=IntegerField())
    window = filters.overspend_months(today)
    found = list(
        filtered_initiatives(filters, user)
        .filter(_at_risk_q(Q(InIds("pk", candidates))))
        .select_related("owner")
        .only("code", "title", "lane", "status", "health", "owner__first_name", "owner__last_name", "owner__username")
        .order_by(first, "pk")[: limit + len(candidates)]
        .annotate(
            ytd_planned=_ytd_sum(filters, "planned_total", window),
            ytd_actual=_ytd_sum(filters, "actual_total", window),
        )
    )
    position = {pk: index for index, pk in enumerate(candidates)}
    found.sort(key=lambda initiative: (position.get(initiative.pk, len(position)), initiative.pk))
    initiatives = found[:limit]
    for initiative in initiatives:
        initiative.ytd_planned = as_money(initiative.ytd_planned)
        initiative.ytd_actual = as_money(initiative.ytd_actual)
        initiative.variance = initiative.ytd_planned - initiative.ytd_actual
        planned = initiative.ytd_planned
        initiative.variance_pct = initiative.variance * 100 / planned if planned else None
        initiative.overspent = initiative.pk in position
    return initiatives


@dataclass(frozen=True)
class SpendRanking:
    """What the dashboard ranks initiatives by, from one pass over the fiscal year's split rows."""

    overspent_ids: list[int]  # over plan year to date by more than the threshold, furthest first
    variances: list[dict[str, Any]]  # the largest |planned − actual| in the period, largest first


def spend_ranking(filters: DashboardFilters, *, today: dt.date, limit: int = 10) -> SpendRanking:
    """The year-to-date overspenders and the `limit` largest variances of the period: one query.

    Per initiative, the fiscal year's rows give the period's planned and actual (the
    quarter's, if one is chosen) and the year-to-date ones; a window ranks the
    variances, and only the rows that are overspent or among the largest variances
    leave the database. The overspend rule is `overspent_ytd`'s, on the same groups
    (one per initiative).

    The rows are grouped by the initiative's id alone (an integer key, where grouping by
    code, title and lane sorted ~95 k wide rows and spilled to disk); the code, title and
    lane shown for the `limit` largest variances are those of the initiative's latest row
    in the grouped ones, read by the split table's unique key (initiative, month) for
    those few only. An initiative's code never changes.
    """
    window = filters.overspend_months(today)  # the overspend rule's period to date (`overspent_ytd`)
    year = DashboardFilters(
        fiscal_year=filters.fiscal_year, lane=filters.lane, status=filters.status, side=filters.side
    )

    def part(column: str, condition: Q | None) -> MoneySum:
        if condition is None:
            return MoneySum(column)
        return MoneySum(Case(When(condition, then=F(column)), default=Value(ZERO), output_field=MONEY))

    period = Q(fiscal_quarter=filters.quarter) if filters.quarter else None
    to_date = Q(month__range=window) if window else Q(pk__in=[])
    inner = (
        split_queryset(year)
        .values("initiative_id")
        .annotate(
            code=Max("initiative_code"),
            latest_month=Max("month"),
            period_rows=Count("id", filter=period) if period else Count("id"),
            planned=part("planned_total", period),
            actual=part("actual_total", period),
            variance=part("variance", period),
            ytd_planned=part("planned_total", to_date),
            ytd_actual=part("actual_total", to_date),
        )
        .order_by()
    )
    inner_sql, inner_params = inner.query.sql_with_params()
    # The ranking runs over the grouped rows (Django cannot window over its own GROUP BY); the
    # winners' title and lane come from their latest row, looked up by the unique (initiative, month)
    # for the winners only.
    table = SplitRow._meta.db_table

    def latest(column: str) -> str:
        lookup = f"SELECT latest.{column} FROM {table} latest"  # noqa: S608 - this module's names only  # nosec B608
        return (
            f"CASE WHEN ranked.variance_rank <= %s THEN ({lookup}"
            " WHERE latest.initiative_id = ranked.initiative_id AND latest.month = ranked.latest_month) END"
        )

    ranked_sql = f"""
        SELECT initiative_id, code, {latest("initiative_title")} AS initiative_title, {latest("lane")} AS lane,
               period_rows, planned, actual, variance, ytd_planned, ytd_actual, variance_rank, overspent
        FROM (
            SELECT grouped.*,
                   ROW_NUMBER() OVER (ORDER BY ABS(grouped.variance) DESC, grouped.code) AS variance_rank,
                   CASE WHEN {overspent_sql("grouped.ytd_actual", "grouped.ytd_planned")}
                        THEN 1 ELSE 0 END AS overspent
            FROM ({inner_sql}) grouped
        ) ranked
        WHERE variance_rank <= %s OR overspent = 1
    """  # noqa: S608 - Django's compiled query and constants only; values are parameters  # nosec B608
    factor = overspend_factor(settings.OVERSPEND_ALERT_PCT)
    with connection.cursor() as cursor:
        cursor.execute(ranked_sql, [limit, limit, factor, *inner_params, limit])
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    overspent, variances = [], []
    for row in rows:
        planned, actual = as_money(row["planned"]), as_money(row["actual"])
        ytd_planned, ytd_actual = as_money(row["ytd_planned"]), as_money(row["ytd_actual"])
        if row["overspent"]:
            overspent.append((ytd_actual - ytd_planned, row["initiative_id"]))
        if row["variance_rank"] <= limit and row["period_rows"]:
            variances.append(
                {
                    "rank": row["variance_rank"],
                    "code": row["code"],
                    "title": row["initiative_title"],
                    "lane": row["lane"],
                    "planned": planned,
                    "actual": actual,
                    "variance": as_money(row["variance"]),
                }
            )
    overspent.sort(key=lambda item: (-item[0], item[1]))
    variances.sort(key=lambda row: row.pop("rank"))
    return SpendRanking(overspent_ids=[pk for _, pk in overspent], variances=variances)


def largest_variances(filters: DashboardFilters, *, today: dt.date | None = None, limit: int = 10) -> list[dict]:
    """The initiatives whose plan and actuals differ most in the period (|planned − actual|)."""
    return spend_ranking(filters, today=today or timezone.localdate(), limit=limit).variances


# --- what waits for the viewer ----------------------------------------------------------


def pending_approvals(*, user, limit: int = 6) -> list[Initiative]:
    """Initiatives waiting for this executive's sign-off or for their decision on a change (one query).

    Each has `awaits_sign_off` (True: a submitted initiative; False: a pending change).
    The same questions as `initiatives.selectors.pending_sign_offs` and `pending_change_proposals`.
    """
    from initiatives.selectors import awaiting_sign_off_q, pending_change_proposals

    if not policy.is_executive(user):
        return []
    sign_off = awaiting_sign_off_q(user)
    change = Q(InSubquery("pk", pending_change_proposals(user=user).order_by().values("initiative_id")))
    submitted = Status.SUBMITTED
    return list(
        visible_initiatives(user, Initiative.objects.all())
        # Implied by both conditions (a sign-off waits on a submitted initiative `user` sponsors): the
        # database reads them from the (sponsor, status) indexes and the primary key, not every
        # initiative `user` sponsors (a third of the portfolio for one executive at 20 k).
        .filter(Q(marketing_sponsor=user, status=submitted) | Q(it_sponsor=user, status=submitted) | change)
        .filter(sign_off | change)
        .only("code", "title", "lane", "status", "owner__first_name", "owner__last_name", "owner__username")
        .select_related("owner")
        .annotate(awaits_sign_off=ExpressionWrapper(sign_off, output_field=BooleanField()))
        .order_by("updated_at", "id")[:limit]
    )
