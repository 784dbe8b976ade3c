"""The split table's set-based rebuild and the compact history (PRODUCT.md §3), inside the recompute's transaction.

On PostgreSQL the rows are built by one `INSERT … SELECT` that does the §3 arithmetic in
SQL (`round(numeric, 2)` rounds halves away from zero, like `round_half_up`):
`SPLIT_AMOUNTS_SQL` is the SQL twin of `split.arithmetic`. SQLite's `round` works on
floats, so there the database sums integer cents per initiative and month and the rows
go through `split.arithmetic` in Python: still one grouped query, never one expense row
in Python.

Each (initiative, month) takes the share of the co-funding agreement in force that month
(PRODUCT.md §2, §3): `AGREEMENTS_IN_FORCE_SQL` gives every agreement its `[valid_from,
valid_until)` range (until the next agreement's month; the first one also before its own
month), and both paths join it on the initiative with the month inside the range — a hash
join plus a filter, never a loop. An initiative without any agreement keeps
`initiatives_initiative.marketing_share_pct`.

A `MonthScope` says which months a statement computes: the recompute computes every
month that is not closed and never touches a closed month's rows (`rebuild_split_table`);
locking a month computes only that month, frozen (`split.closing.months_freeze`). Both
run the same statement. The recompute itself (lock, run, transaction) is split.services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from portfolio import fiscal
from split.arithmetic import FORECAST_COLUMNS, SPLIT_AMOUNT_COLUMNS, cents_to_amount, forecast_amounts, split_amounts
from split.models import ClosedMonth, SplitRow, SplitRun

# The split table's columns as the INSERT fills them: keys and denormalised facts, the
# closed flag, then the money columns in the export's order (SPLIT_AMOUNT_COLUMNS).
SPLIT_ROW_COLUMNS = (
    "initiative_id",
    "month",
    "fiscal_year",
    "fiscal_quarter",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "marketing_share_pct",
    "closed",
    *SPLIT_AMOUNT_COLUMNS,
    *FORECAST_COLUMNS,
)


# --- which months a statement computes ---------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthScope:
    """The months a rebuild computes: only `months` (`only=True`, a freeze), or every month but them (the recompute)."""

    months: tuple[dt.date, ...]
    only: bool

    @classmethod
    def these(cls, months: Iterable[dt.date]) -> MonthScope:
        return cls(tuple(sorted(set(months))), only=True)

    @classmethod
    def all_but(cls, months: Iterable[dt.date]) -> MonthScope:
        return cls(tuple(sorted(set(months))), only=False)

    def ranges(self) -> list[tuple[dt.date, dt.date]]:
        """The months as `[first, end)` date ranges, consecutive months merged (closed months usually are)."""
        ranges: list[tuple[dt.date, dt.date]] = []
        for month in self.months:
            end = fiscal.add_months(month, 1)
            if ranges and ranges[-1][1] == month:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((month, end))
        return ranges

    def condition(self, column: str, params: dict) -> str:
        """SQL keeping the rows whose date `column` lies in the scope; its parameters are added to `params`.

        Date ranges rather than a month expression, so that an index on the column serves a freeze.
        """
        inside = []
        for n, (first, end) in enumerate(self.ranges()):
            params[f"scope_from_{n}"], params[f"scope_until_{n}"] = first, end
            inside.append(f"({column} >= %(scope_from_{n})s AND {column} < %(scope_until_{n})s)")
        if not inside:
            return "1 = 0" if self.only else "1 = 1"
        return f"({' OR '.join(inside)})" if self.only else f"NOT ({' OR '.join(inside)})"


EVERY_MONTH = MonthScope.all_but(())


# --- the share in force -----------------------------------------------------------

# The first and last dates each database can hold: the first agreement's range starts before
# every month, the last one's never ends. SQLite keeps dates as ISO text, which sorts as dates.
_BEFORE_ALL = {"postgresql": "'-infinity'::date", "sqlite": "'0001-01-01'"}
_AFTER_ALL = {"postgresql": "'infinity'::date", "sqlite": "'9999-12-31'"}

# Every co-funding agreement with the range of months it is in force (PRODUCT.md §2): from its
# effective month until the next agreement's; the first one also before its own month.
AGREEMENTS_IN_FORCE_SQL = """(
    SELECT initiative_id, marketing_share_pct,
           CASE WHEN row_number() OVER w = 1 THEN {before_all} ELSE effective_from END AS valid_from,
           coalesce(lead(effective_from) OVER w, {after_all}) AS valid_until
    FROM initiatives_cofundingagreement
    WINDOW w AS (PARTITION BY initiative_id ORDER BY effective_from)
)"""


def share_in_force_join(*, rows: str, vendor: str) -> str:
    """`LEFT JOIN` of the agreement in force (alias `a`) to `rows` (an alias with initiative_id and month).

    Ranges never overlap (one agreement per initiative and month), so a row matches at most one.
    Select `SHARE_IN_FORCE` beside it, with the initiative joined as `i`.
    """
    agreements = AGREEMENTS_IN_FORCE_SQL.format(before_all=_BEFORE_ALL[vendor], after_all=_AFTER_ALL[vendor])
    return (
        f"LEFT JOIN {agreements} a ON a.initiative_id = {rows}.initiative_id"
        f" AND {rows}.month >= a.valid_from AND {rows}.month < a.valid_until"
    )


# The month's share: the agreement in force, else (an initiative without any agreement) the initiative's.
SHARE_IN_FORCE = "coalesce(a.marketing_share_pct, i.marketing_share_pct)"


# --- §3 in SQL ---------------------------------------------------------------------

# The twin of `split.arithmetic.split_amounts`, held to it on random inputs by
# tests/split/test_split_arithmetic.py. `m` holds, per row, the month's sums (planned_total,
# actual_total, paid_marketing, paid_it) and the month's marketing_share_pct; the ten
# money columns come out in SPLIT_AMOUNT_COLUMNS order. PostgreSQL's round(numeric, 2)
# rounds halves away from zero, like round_half_up; IT gets the remainder.
SPLIT_AMOUNTS_SQL = """
SELECT {keys},
       m.planned_total, s.planned_marketing, m.planned_total - s.planned_marketing,
       m.actual_total, s.actual_marketing, m.actual_total - s.actual_marketing,
       m.paid_marketing, m.paid_it,
       s.actual_marketing - m.paid_marketing,
       m.planned_total - m.actual_total{forecast_columns}
FROM {source} m
CROSS JOIN LATERAL (
    SELECT round(m.planned_total * m.marketing_share_pct * 0.01, 2) AS planned_marketing,
           round(m.actual_total * m.marketing_share_pct * 0.01, 2) AS actual_marketing
) s{forecast_joins}
"""

# The forecast (PRODUCT.md §3), the twin of `split.arithmetic.forecast_amounts`: before the as-of
# month (`%(as_of_month)s`) the actual, from it on max(planned, actual); marketing's part rounded
# with the month's share, IT the rest. `m` needs a `month` column.
FORECAST_SQL = """
CROSS JOIN LATERAL (
    SELECT CASE WHEN m.month < %(as_of_month)s THEN m.actual_total
                ELSE greatest(m.planned_total, m.actual_total) END AS total
) f
CROSS JOIN LATERAL (SELECT round(f.total * m.marketing_share_pct * 0.01, 2) AS marketing) fm"""
FORECAST_SELECT = ",\n       f.total, fm.marketing, f.total - fm.marketing"


def split_amounts_sql(*, keys: str, source: str, forecast: bool = False) -> str:
    """`SPLIT_AMOUNTS_SQL` over `source` (a parenthesised relation), selecting `keys` before the amounts.

    With `forecast`, the three FORECAST_COLUMNS follow the amounts (the statement then takes an
    `as_of_month` parameter).
    """
    return SPLIT_AMOUNTS_SQL.format(
        keys=keys,
        source=source,
        forecast_columns=FORECAST_SELECT if forecast else "",
        forecast_joins=FORECAST_SQL if forecast else "",
    )


def as_of_month_now() -> dt.date:
    """The month the forecast is as of when rows are written now: today's month in TIME_ZONE."""
    return timezone.localdate().replace(day=1)


# One statement: budget sums and expense sums per (initiative, month) of the scope,
# full-outer joined, joined to the initiative and to the agreement in force that month,
# §3 arithmetic in numeric. Fiscal year and quarter follow portfolio/fiscal.py: with
# start month S > 1, months from S on belong to the next calendar year's fiscal year;
# Q1 holds S.
_REBUILD_KEYS = """m.initiative_id, m.month,
       extract(year FROM m.month)::int
           + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       m.code, m.title, m.lane, m.status, m.marketing_share_pct, %(closed)s"""
_REBUILD_SOURCE = """(
    SELECT sums.*, i.code, i.title, i.lane, i.status, {share} AS marketing_share_pct
    FROM (
        SELECT coalesce(b.initiative_id, e.initiative_id) AS initiative_id,
               coalesce(b.month, e.month) AS month,
               coalesce(b.planned_total, 0) AS planned_total,
               coalesce(e.actual_total, 0) AS actual_total,
               coalesce(e.paid_marketing, 0) AS paid_marketing,
               coalesce(e.paid_it, 0) AS paid_it
        FROM (
            SELECT initiative_id, month, sum(amount) AS planned_total
            FROM budgets_budgetline
            WHERE {budget_scope}
            GROUP BY initiative_id, month
        ) b
        FULL OUTER JOIN (
            SELECT initiative_id, date_trunc('month', incurred_on)::date AS month,
                   sum(amount_reporting) AS actual_total,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
            FROM budgets_expense
            WHERE {expense_scope}
            GROUP BY initiative_id, date_trunc('month', incurred_on)
        ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
    ) sums
    JOIN initiatives_initiative i ON i.id = sums.initiative_id
    {share_join}
)"""


def postgresql_rebuild(scope: MonthScope, *, closed: bool, as_of_month: dt.date) -> tuple[str, dict]:
    """The one `INSERT … SELECT` writing the rows of `scope`'s months (flagged `closed`), with its parameters."""
    params: dict = {"start": settings.FISCAL_YEAR_START_MONTH, "closed": closed, "as_of_month": as_of_month}
    source = _REBUILD_SOURCE.format(
        share=SHARE_IN_FORCE,
        budget_scope=scope.condition("month", params),
        expense_scope=scope.condition("incurred_on", params),
        share_join=share_in_force_join(rows="sums", vendor="postgresql"),
    )
    insert = f"INSERT INTO budgets_splitrow ({', '.join(SPLIT_ROW_COLUMNS)})"
    return f"{insert}\n{split_amounts_sql(keys=_REBUILD_KEYS, source=source, forecast=True)}", params


# --- the rebuild ---------------------------------------------------------------------


def rebuild_split_table() -> int:
    """Replace the rows of every month that is not closed (inside the caller's transaction); returns the table's rows.

    The rows of a closed month (one with a `ClosedMonth`) are carried over as they are: never
    deleted, never computed. The count includes them (their `ClosedMonth.row_count`).
    """
    closed = dict(ClosedMonth.objects.values_list("month", "row_count"))
    scope = MonthScope.all_but(closed)
    rows_delete(scope)
    return rows_insert(scope, closed=False) + sum(closed.values())


def rows_delete(scope: MonthScope) -> int:
    """Delete the split rows of the scope's months; returns how many."""
    params: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM budgets_splitrow WHERE {scope.condition('month', params)}", params)  # noqa: S608  # nosec B608
        return cursor.rowcount


def rows_insert(scope: MonthScope, *, closed: bool, as_of_month: dt.date | None = None) -> int:
    """Compute and insert the split rows of the scope's months from the records as they are; returns how many.

    The scope's months must hold no rows (`rows_delete` first). The forecast columns are as of
    `as_of_month` (default: this month).
    """
    as_of_month = as_of_month or as_of_month_now()
    if connection.vendor == "postgresql":
        sql, params = postgresql_rebuild(scope, closed=closed, as_of_month=as_of_month)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
    return _rebuild_portable(scope, closed=closed, as_of_month=as_of_month)


# The portable path: the database sums integer cents per (initiative, month) –
# exact on any engine – and Python applies split.arithmetic to each
# grouped row. UNION ALL + GROUP BY plays the part of the full outer join.
_PORTABLE_MONTH = {
    "postgresql": "date_trunc('month', incurred_on)::date",
    "sqlite": "date(incurred_on, 'start of month')",
}
_PORTABLE_CENTS = {
    "postgresql": "({column} * 100)::bigint",
    "sqlite": "CAST(round({column} * 100) AS INTEGER)",
}
PORTABLE_BATCH = 2000


def portable_grouped_sql(vendor: str, scope: MonthScope = EVERY_MONTH) -> tuple[str, dict]:
    """The grouped query of the portable path (one row per initiative and month of `scope`), with its parameters."""
    month = _PORTABLE_MONTH[vendor]

    def cents(column: str) -> str:
        return _PORTABLE_CENTS[vendor].format(column=column)

    params: dict = {}
    budget_scope = scope.condition("month", params)
    expense_scope = scope.condition("incurred_on", params)
    sql = f"""
    SELECT s.initiative_id, s.month, i.code, i.title, i.lane, i.status, {cents(SHARE_IN_FORCE)},
           s.planned, s.actual, s.paid_marketing, s.paid_it
    FROM (
        SELECT g.initiative_id, g.month, sum(g.planned) AS planned, sum(g.actual) AS actual,
               sum(g.paid_marketing) AS paid_marketing, sum(g.paid_it) AS paid_it
        FROM (
            SELECT initiative_id, month, {cents("amount")} AS planned,
                   0 AS actual, 0 AS paid_marketing, 0 AS paid_it
            FROM budgets_budgetline
            WHERE {budget_scope}
            UNION ALL
            SELECT initiative_id, {month}, 0, {cents("amount_reporting")},
                   CASE WHEN paid_by = 'marketing' THEN {cents("amount_reporting")} ELSE 0 END,
                   CASE WHEN paid_by = 'it' THEN {cents("amount_reporting")} ELSE 0 END
            FROM budgets_expense
            WHERE {expense_scope}
        ) g
        GROUP BY g.initiative_id, g.month
    ) s
    JOIN initiatives_initiative i ON i.id = s.initiative_id
    {share_in_force_join(rows="s", vendor=vendor)}
    ORDER BY s.initiative_id, s.month
    """  # noqa: S608 - built from this module's constants only  # nosec B608
    return sql, params


def _rebuild_portable(
    scope: MonthScope = EVERY_MONTH, *, closed: bool = False, as_of_month: dt.date | None = None
) -> int:
    as_of_month = as_of_month or as_of_month_now()
    row_count = 0
    start_month = settings.FISCAL_YEAR_START_MONTH
    sql, params = portable_grouped_sql(connection.vendor, scope)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while grouped := cursor.fetchmany(PORTABLE_BATCH):
            rows = [_split_row(values, start_month, closed=closed, as_of_month=as_of_month) for values in grouped]
            SplitRow.objects.bulk_create(rows)
            row_count += len(rows)
    return row_count


def _split_row(values: tuple, start_month: int, *, closed: bool, as_of_month: dt.date) -> SplitRow:
    initiative_id, month, code, title, lane, status, share_hundredths, planned, actual, paid_m, paid_it = values
    if isinstance(month, str):
        month = dt.date.fromisoformat(month)
    share = cents_to_amount(share_hundredths)
    amounts = split_amounts(
        marketing_share_pct=share,
        planned_total=cents_to_amount(planned),
        actual_total=cents_to_amount(actual),
        paid_marketing=cents_to_amount(paid_m),
        paid_it=cents_to_amount(paid_it),
    )
    return SplitRow(
        initiative_id=initiative_id,
        month=month,
        fiscal_year=fiscal.fiscal_year(month, start_month),
        fiscal_quarter=fiscal.fiscal_quarter(month, start_month),
        initiative_code=code,
        initiative_title=title,
        lane=lane,
        status=status,
        marketing_share_pct=share,
        closed=closed,
        **amounts.as_dict(),
        **forecast_amounts(
            month=month,
            as_of_month=as_of_month,
            marketing_share_pct=share,
            planned_total=amounts.planned_total,
            actual_total=amounts.actual_total,
        ),
    )


# --- the compact history --------------------------------------------------------

# Every money column (forecast included), summed: the history's readers never derive one column from others.
HISTORY_AMOUNTS = (*SPLIT_AMOUNT_COLUMNS, *FORECAST_COLUMNS)


def money_sum_sql(column: str, vendor: str | None = None) -> str:
    """SQL for an exact sum of a money column: numeric on PostgreSQL, integer cents on SQLite."""
    if (vendor or connection.vendor) == "sqlite":
        return f"sum(CAST(round({column} * 100) AS INTEGER)) / 100.0"
    return f"sum({column})"


def append_history(run: SplitRun) -> None:
    """Per-run roll-ups by lane and fiscal month, from the new split table (size: lanes × months)."""
    sums = ", ".join(money_sum_sql(column) for column in HISTORY_AMOUNTS)
    run_id = SplitRun._meta.pk.get_db_prep_value(run.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO budgets_splithistory (run_id, lane, month, fiscal_year, {", ".join(HISTORY_AMOUNTS)})
            SELECT %s, lane, month, fiscal_year, {sums}
            FROM budgets_splitrow
            GROUP BY lane, month, fiscal_year
            """,  # noqa: S608 - column names are constants of this module  # nosec B608
            [run_id],
        )
