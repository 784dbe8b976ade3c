"""The split table's set-based rebuild and the compact history (PRODUCT.md §3), inside the recompute's transaction.

On PostgreSQL the whole table is built by one `INSERT … SELECT` that does the §3
arithmetic in SQL (`round(numeric, 2)` rounds halves away from zero, like
`round_half_up`): `SPLIT_AMOUNTS_SQL` is the SQL twin of `split.arithmetic`. SQLite's
`round` works on floats, so there the database sums integer cents per initiative and
month and the rows go through `split.arithmetic` in Python: still one grouped query,
never one expense row in Python. The recompute itself (lock, run, transaction) is
split.services.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection

from portfolio import fiscal
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, cents_to_amount, split_amounts
from split.models import SplitRow, SplitRun

# The split table's columns as the INSERT fills them: keys and denormalised facts, then
# the money columns in the export's order (split_arithmetic.SPLIT_AMOUNT_COLUMNS).
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
    *SPLIT_AMOUNT_COLUMNS,
)

# §3 in SQL: the twin of `split.arithmetic.split_amounts`, held to it on random inputs by
# tests/split/test_split_arithmetic.py. `m` holds, per row, the month's sums (planned_total,
# actual_total, paid_marketing, paid_it) and the initiative's marketing_share_pct; the ten
# money columns come out in SPLIT_AMOUNT_COLUMNS order. PostgreSQL's round(numeric, 2)
# rounds halves away from zero, like round_half_up; IT gets the remainder.
SPLIT_AMOUNTS_SQL = """
SELECT {keys},
       m.planned_total, s.planned_marketing, m.planned_total - s.planned_marketing,
       m.actual_total, s.actual_marketing, m.actual_total - s.actual_marketing,
       m.paid_marketing, m.paid_it,
       s.actual_marketing - m.paid_marketing,
       m.planned_total - m.actual_total
FROM {source} m
CROSS JOIN LATERAL (
    SELECT round(m.planned_total * m.marketing_share_pct * 0.01, 2) AS planned_marketing,
           round(m.actual_total * m.marketing_share_pct * 0.01, 2) AS actual_marketing
) s
"""


def split_amounts_sql(*, keys: str, source: str) -> str:
    """`SPLIT_AMOUNTS_SQL` over `source` (a parenthesised relation), selecting `keys` before the amounts."""
    return SPLIT_AMOUNTS_SQL.format(keys=keys, source=source)


# One statement: budget sums and expense sums per (initiative, month), full-outer
# joined, joined to the initiative's share, §3 arithmetic in numeric. Fiscal year
# and quarter follow portfolio/fiscal.py: with start month S > 1, months from S on
# belong to the next calendar year's fiscal year; Q1 holds S.
_REBUILD_KEYS = """m.initiative_id, m.month,
       extract(year FROM m.month)::int
           + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       m.code, m.title, m.lane, m.status, m.marketing_share_pct"""
_REBUILD_SOURCE = """(
    SELECT sums.*, i.code, i.title, i.lane, i.status, i.marketing_share_pct
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
            GROUP BY initiative_id, month
        ) b
        FULL OUTER JOIN (
            SELECT initiative_id, date_trunc('month', incurred_on)::date AS month,
                   sum(amount_reporting) AS actual_total,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
                   coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
            FROM budgets_expense
            GROUP BY initiative_id, date_trunc('month', incurred_on)
        ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
    ) sums
    JOIN initiatives_initiative i ON i.id = sums.initiative_id
)"""
POSTGRESQL_REBUILD = f"""
INSERT INTO budgets_splitrow ({", ".join(SPLIT_ROW_COLUMNS)})
{split_amounts_sql(keys=_REBUILD_KEYS, source=_REBUILD_SOURCE)}
"""


def rebuild_split_table() -> int:
    """Replace the split table's rows (inside the caller's transaction); returns the row count."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM budgets_splitrow")
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_REBUILD, {"start": settings.FISCAL_YEAR_START_MONTH})
            return cursor.rowcount
    return _rebuild_portable()


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


def portable_grouped_sql(vendor: str) -> str:
    """The grouped query of the portable path (one row per initiative and month)."""
    month = _PORTABLE_MONTH[vendor]

    def cents(column: str) -> str:
        return _PORTABLE_CENTS[vendor].format(column=column)

    return f"""
    SELECT g.initiative_id, g.month, i.code, i.title, i.lane, i.status, {cents("i.marketing_share_pct")},
           sum(g.planned), sum(g.actual), sum(g.paid_marketing), sum(g.paid_it)
    FROM (
        SELECT initiative_id, month, {cents("amount")} AS planned,
               0 AS actual, 0 AS paid_marketing, 0 AS paid_it
        FROM budgets_budgetline
        UNION ALL
        SELECT initiative_id, {month}, 0, {cents("amount_reporting")},
               CASE WHEN paid_by = 'marketing' THEN {cents("amount_reporting")} ELSE 0 END,
               CASE WHEN paid_by = 'it' THEN {cents("amount_reporting")} ELSE 0 END
        FROM budgets_expense
    ) g
    JOIN initiatives_initiative i ON i.id = g.initiative_id
    GROUP BY g.initiative_id, g.month, i.code, i.title, i.lane, i.status, i.marketing_share_pct
    ORDER BY g.initiative_id, g.month
    """  # noqa: S608 - built from this module's constants only  # nosec B608


def _rebuild_portable() -> int:
    row_count = 0
    start_month = settings.FISCAL_YEAR_START_MONTH
    with connection.cursor() as cursor:
        cursor.execute(portable_grouped_sql(connection.vendor))
        while grouped := cursor.fetchmany(PORTABLE_BATCH):
            rows = [_split_row(values, start_month) for values in grouped]
            SplitRow.objects.bulk_create(rows)
            row_count += len(rows)
    return row_count


def _split_row(values: tuple, start_month: int) -> SplitRow:
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
        **amounts.as_dict(),
    )


# --- the compact history --------------------------------------------------------

# Every money column, summed: the history's readers never derive one column from others.
HISTORY_AMOUNTS = SPLIT_AMOUNT_COLUMNS


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
