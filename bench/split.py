"""Benchmark: the nightly spend-split recompute beside its physical floor, its peak memory, and locking a month.

    .venv/bin/python -m bench split        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives, 1,000,000 expenses, 24 months),
with a co-funding history (`ensure_cofunding_history`: every initiative's first agreement,
and one initiative in ten with two or three agreements) and the 12 oldest months closed
(locked through the lock service, so their split rows are frozen) — added idempotently
when the seed did not make them:

* the recompute — `manage.py recompute_split --json` in a subprocess, timed around the
  service call (claim, delete of the open months' rows + rebuild joining the agreement in
  force + history in one transaction, commit); the frozen rows of the closed months are
  carried over and counted. The subprocess's peak RSS (ru_maxrss from wait4) is its memory;
* its floor, measured in the same run — one hand-written `INSERT INTO <scratch> SELECT …`
  of the same rows (the open months: budget and expense sums per initiative and month,
  joined to the co-funding agreement in force that month, rounded) committed in one
  transaction, into a scratch table shaped like the split table (same columns and
  indexes), holding beforehand only the closed months' frozen rows, as the split table does;
* locking one month — `period_lock_create` in a subprocess (Django loaded), timed around
  the service call: the lock, the freeze of the month's rows computed from the records,
  the closed month's totals, the commit; then the month is unlocked again. Its floor is the
  hand-written statement restricted to that month, into the scratch table.

Each pair alternates, `REPEATS` times, and the best time of each is reported (the least
disturbed by whatever else the machine was doing; the spread is printed as progress).
Both tables are then compared row by row: the floor is only a floor if it computes the
same table.

The whole command, interpreter start included, is reported beside `manage.py check`
run the same way in each attempt (a fresh interpreter, Django loaded, no work):
what starting a management command costs before it does anything. Its peak RSS is
also the baseline of the recompute's memory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

from bench.database import ROOT, connect, ensure_bench_database, table_counts

REPEATS = 5
TARGET_RATIO = 1.3
TARGET_MB = 300
TARGET_LOCK_SECONDS = 2
CLOSED_MONTHS = 12
SCRATCH = "bench_split_floor"
BENCH_REASON = "Bench: month-end close"

COLUMNS = (
    "initiative_id, month, fiscal_year, fiscal_quarter, initiative_code, initiative_title, lane, status, "
    "marketing_share_pct, closed, planned_total, planned_marketing, planned_it, actual_total, actual_marketing, "
    "actual_it, paid_marketing, paid_it, true_up, variance, forecast_total, forecast_marketing, forecast_it"
)

# The floor, written by hand: one aggregation per source (the months in [%(from)s, %(until)s)
# that are not closed), joined, each (initiative, month) joined to the agreement in force
# (from its month to the next one's, the first from -infinity; the initiative's own share
# when it has none), rounded, with the forecast as of this month (§3), inserted.
FLOOR_SQL = f"""
INSERT INTO {SCRATCH} ({COLUMNS})
SELECT i.id, m.month,
       extract(year FROM m.month)::int + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s
                                              THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       i.code, i.title, i.lane, i.status, coalesce(a.share, i.marketing_share_pct), %(closed)s,
       m.planned, round(m.planned * coalesce(a.share, i.marketing_share_pct) * 0.01, 2),
       m.planned - round(m.planned * coalesce(a.share, i.marketing_share_pct) * 0.01, 2),
       m.actual, round(m.actual * coalesce(a.share, i.marketing_share_pct) * 0.01, 2),
       m.actual - round(m.actual * coalesce(a.share, i.marketing_share_pct) * 0.01, 2),
       m.paid_marketing, m.paid_it,
       round(m.actual * coalesce(a.share, i.marketing_share_pct) * 0.01, 2) - m.paid_marketing,
       m.planned - m.actual,
       f.total, round(f.total * coalesce(a.share, i.marketing_share_pct) * 0.01, 2),
       f.total - round(f.total * coalesce(a.share, i.marketing_share_pct) * 0.01, 2)
FROM (
    SELECT coalesce(b.initiative_id, e.initiative_id) AS initiative_id, coalesce(b.month, e.month) AS month,
           coalesce(b.planned, 0) AS planned, coalesce(e.actual, 0) AS actual,
           coalesce(e.paid_marketing, 0) AS paid_marketing, coalesce(e.paid_it, 0) AS paid_it
    FROM (
        SELECT initiative_id, month, sum(amount) AS planned FROM budgets_budgetline
        WHERE month >= %(from)s AND month < %(until)s AND month <> ALL(%(skip)s::date[])
        GROUP BY 1, 2
    ) b
    FULL JOIN (
        SELECT initiative_id, date_trunc('month', incurred_on)::date AS month, sum(amount_reporting) AS actual,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
        FROM budgets_expense
        WHERE incurred_on >= %(from)s AND incurred_on < %(until)s
          AND date_trunc('month', incurred_on)::date <> ALL(%(skip)s::date[])
        GROUP BY 1, 2
    ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
) m
JOIN initiatives_initiative i ON i.id = m.initiative_id
LEFT JOIN (
    SELECT initiative_id, marketing_share_pct AS share,
           CASE WHEN row_number() OVER w = 1 THEN '-infinity'::date ELSE effective_from END AS valid_from,
           coalesce(lead(effective_from) OVER w, 'infinity'::date) AS valid_until
    FROM initiatives_cofundingagreement
    WINDOW w AS (PARTITION BY initiative_id ORDER BY effective_from)
) a ON a.initiative_id = m.initiative_id AND m.month >= a.valid_from AND m.month < a.valid_until
CROSS JOIN LATERAL (
    SELECT CASE WHEN m.month < %(as_of_month)s THEN m.actual ELSE greatest(m.planned, m.actual) END AS total
) f
"""
EVERYTHING = {"from": dt.date(1, 1, 1), "until": dt.date(9999, 1, 1)}

# The co-funding history of the bench, when the seed made none (idempotent): every initiative's
# first agreement from its start month at its share (as the data migration does), and one
# initiative in ten changing its share once or twice (one in twenty twice) within the window.
AGREEMENTS_FIRST_SQL = """
INSERT INTO initiatives_cofundingagreement (initiative_id, effective_from, marketing_share_pct, created_at)
SELECT id, date_trunc('month', start_date)::date, marketing_share_pct, now() FROM initiatives_initiative
ON CONFLICT (initiative_id, effective_from) DO NOTHING
"""
AGREEMENTS_CHANGES_SQL = """
INSERT INTO initiatives_cofundingagreement (initiative_id, effective_from, marketing_share_pct, created_at)
SELECT id, (%(first)s::date + make_interval(months => (change.base + id %% 7)::int))::date,
       ((id * change.factor) %% 10001) / 100.0, now()
FROM initiatives_initiative
CROSS JOIN (VALUES (1, 37, 3), (2, 53, 14)) AS change (n, factor, base)
WHERE id %% 10 = 0 AND (change.n = 1 OR id %% 20 = 0)
ON CONFLICT (initiative_id, effective_from) DO NOTHING
"""


def fiscal_start_month() -> int:
    return int(os.environ.get("FISCAL_YEAR_START_MONTH", "1"))


def ensure_cofunding_history(url: str) -> dict:
    """Agreements (≈10 % of initiatives with two or three) and CLOSED_MONTHS closed months, unless there already."""
    connection = connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(month) FROM budgets_budgetline")
        first_month = cursor.fetchone()[0]
        cursor.execute(AGREEMENTS_FIRST_SQL)
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM initiatives_cofundingagreement GROUP BY initiative_id "
            "HAVING count(*) > 1) AS changed"
        )
        if cursor.fetchone()[0] == 0:
            print("split: adding share changes to one initiative in ten (bench co-funding history)", flush=True)
            cursor.execute(AGREEMENTS_CHANGES_SQL, {"first": first_month})
        cursor.execute("SELECT count(*) FROM split_closedmonth")
        closed = cursor.fetchone()[0]
        cursor.execute(
            "SELECT DISTINCT month FROM budgets_budgetline WHERE month NOT IN (SELECT month FROM budgets_periodlock) "
            "ORDER BY month LIMIT %s",
            [max(0, CLOSED_MONTHS - closed)],
        )
        to_lock = [month for (month,) in cursor.fetchall()]
    connection.close()
    if to_lock:  # through the lock service, so that each month is frozen as finance would freeze it
        print(f"split: locking {len(to_lock)} months through the lock service ({to_lock[0]:%Y-%m} on)", flush=True)
        months = ", ".join(f"'{month.isoformat()}'" for month in to_lock)
        run_process(["shell", "-c", LOCK_MONTHS_SCRIPT.format(months=months, reason=BENCH_REASON)], url)
    return history_counts(url)


LOCK_MONTHS_SCRIPT = """
import datetime as dt
from django.contrib.auth import get_user_model
from budgets.services.locks import period_lock_create
finance = get_user_model().objects.filter(groups__name="finance").order_by("pk").first()
for month in [{months}]:
    period_lock_create(month=dt.date.fromisoformat(month), reason="{reason}", by=finance)
"""

# Lock one month through the service (timed around the call), read its frozen row count, unlock it again.
LOCK_ONE_SCRIPT = """
import datetime as dt, json, time
from django.contrib.auth import get_user_model
from budgets.services.locks import period_lock_create, period_unlock
from split.models import ClosedMonth
finance = get_user_model().objects.filter(groups__name="finance").order_by("pk").first()
month = dt.date.fromisoformat("{month}")
started = time.perf_counter()
lock = period_lock_create(month=month, reason="{reason}", by=finance)
seconds = time.perf_counter() - started
rows = ClosedMonth.objects.get(month=month).row_count
period_unlock(lock=lock, reason="Bench: reopened after timing the lock", by=finance)
print(json.dumps({{"seconds": seconds, "rows": rows}}))
"""


def history_counts(url: str) -> dict:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT count(*) FROM initiatives_cofundingagreement),
                      (SELECT count(*) FROM (SELECT 1 FROM initiatives_cofundingagreement GROUP BY initiative_id
                                             HAVING count(*) > 1) AS changed),
                      (SELECT count(*) FROM split_closedmonth),
                      (SELECT coalesce(sum(row_count), 0) FROM split_closedmonth),
                      (SELECT min(month) FROM budgets_budgetline
                       WHERE month NOT IN (SELECT month FROM budgets_periodlock))"""
        )
        agreements, changed, closed, frozen_rows, first_open = cursor.fetchone()
    return {
        "agreements": agreements,
        "changed": changed,
        "closed_months": closed,
        "frozen_rows": frozen_rows,
        "first_open": first_open,
    }


def closed_months(url: str) -> list[dt.date]:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT month FROM split_closedmonth ORDER BY month")
        return [month for (month,) in cursor.fetchall()]


def prepare_scratch(url: str, *, with_frozen_rows: bool) -> None:
    """An empty scratch table shaped like the split table; with the frozen rows of the closed months, as it has."""
    connection = connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (LIKE budgets_splitrow INCLUDING ALL)")
        cursor.execute(f"TRUNCATE {SCRATCH}")
        if with_frozen_rows:
            cursor.execute(f"INSERT INTO {SCRATCH} ({COLUMNS}) SELECT {COLUMNS} FROM budgets_splitrow WHERE closed")
        cursor.execute(f"VACUUM ANALYZE {SCRATCH}")
        cursor.execute("VACUUM ANALYZE budgets_splitrow")
    connection.close()


def measure_floor(url: str, *, skip: list[dt.date], month: dt.date | None = None) -> tuple[float, int]:
    """Seconds for the one-statement INSERT … SELECT and its commit; and the rows it wrote.

    Every month but `skip` (the closed ones, whose frozen rows the scratch table holds already), or
    only `month` (the floor of locking it).
    """
    prepare_scratch(url, with_frozen_rows=month is None)
    window = EVERYTHING if month is None else {"from": month, "until": (month + dt.timedelta(days=32)).replace(day=1)}
    # `closed` false in both: the lock's month is unlocked again after each timing, its rows then open.
    as_of_month = dt.date.today().replace(day=1)  # the forecast's as-of month, as the recompute's
    params = {"start": fiscal_start_month(), "closed": False, "skip": skip, "as_of_month": as_of_month, **window}
    connection = connect(url)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FLOOR_SQL, params)
        rows = cursor.rowcount
        connection.commit()
        elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, rows


def run_process(args: list[str], url: str) -> tuple[str, float, float]:
    """Run `manage.py args` in a child; returns (stdout, wall seconds, peak RSS in MB)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "portfolio.settings.base"}
    env["LOG_LEVEL"] = "WARNING"
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args[:1])} exited with {child.returncode}: {output[-2000:]}")
    return output, elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def measure_recompute(url: str) -> dict:
    output, process_seconds, peak_mb = run_process(["recompute_split", "--json"], url)
    payload = json.loads(output.strip().splitlines()[-1])
    return {
        "seconds": payload["wall_ms"] / 1000,
        "process_seconds": process_seconds,
        "peak_mb": peak_mb,
        "rows": payload["rows"],
    }


def measure_lock(url: str, month: dt.date) -> dict:
    output, _, _ = run_process(
        ["shell", "-c", LOCK_ONE_SCRIPT.format(month=month.isoformat(), reason=BENCH_REASON)], url
    )
    return json.loads(output.strip().splitlines()[-1])


def tables_differ(url: str, *, month: dt.date | None = None) -> int:
    """Rows in one table but not the other (0: the floor computed exactly the split table), or in one month."""
    where = "" if month is None else f"WHERE month = '{month.isoformat()}'"
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM (
                (SELECT {COLUMNS} FROM budgets_splitrow {where} EXCEPT SELECT {COLUMNS} FROM {SCRATCH} {where})
                UNION ALL
                (SELECT {COLUMNS} FROM {SCRATCH} {where} EXCEPT SELECT {COLUMNS} FROM budgets_splitrow {where})
            ) AS difference"""
        )
        return cursor.fetchone()[0]


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    history = ensure_cofunding_history(url)
    print(
        f"split: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_budgetline']:,} budget lines, "
        f"{counts['budgets_expense']:,} expenses; {history['agreements']:,} agreements "
        f"({history['changed']:,} initiatives with two or more); {history['closed_months']} closed months "
        f"({history['frozen_rows']:,} frozen rows)",
        flush=True,
    )
    print("split: warm-up recompute (so the table holds a previous result, as every night)", flush=True)
    measure_recompute(url)
    skip = closed_months(url)
    lock_month = history["first_open"]
    floors, recomputes, checks, lock_floors, locks = [], [], [], [], []
    for attempt in range(1, REPEATS + 1):
        seconds, floor_rows = measure_floor(url, skip=skip)
        floors.append(seconds)
        print(f"split: [{attempt}/{REPEATS}] floor {seconds:.2f} s ({floor_rows:,} rows)", flush=True)
        recompute = measure_recompute(url)
        recomputes.append(recompute)
        print(
            f"split: [{attempt}/{REPEATS}] recompute {recompute['seconds']:.2f} s ({recompute['rows']:,} rows), "
            f"process {recompute['process_seconds']:.2f} s, peak {recompute['peak_mb']:.0f} MB",
            flush=True,
        )
        _, check_seconds, check_mb = run_process(["check"], url)
        checks.append((check_seconds, check_mb))
        print(f"split: [{attempt}/{REPEATS}] manage.py check {check_seconds:.2f} s, peak {check_mb:.0f} MB", flush=True)
    difference = tables_differ(url)
    if difference:
        raise RuntimeError(f"the floor and the recompute disagree on {difference} rows: not a valid floor")
    for attempt in range(1, REPEATS + 1):
        seconds, month_rows = measure_floor(url, skip=[], month=lock_month)
        lock_floors.append(seconds)
        lock = measure_lock(url, lock_month)
        locks.append(lock["seconds"])
        print(
            f"split: [{attempt}/{REPEATS}] lock {lock_month:%Y-%m}: {lock['seconds']:.2f} s ({lock['rows']:,} rows "
            f"frozen); its floor {seconds:.2f} s ({month_rows:,} rows)",
            flush=True,
        )
    # The lock froze the month from the same records; it is unlocked again, its rows as they were frozen.
    difference = tables_differ(url, month=lock_month)
    if difference:
        raise RuntimeError(f"the lock's floor and its freeze disagree on {difference} rows: not a valid floor")

    floor = min(floors)
    wall = min(r["seconds"] for r in recomputes)
    peak = max(r["peak_mb"] for r in recomputes)
    process = min(r["process_seconds"] for r in recomputes)
    check = min(seconds for seconds, _ in checks)
    django_mb = max(mb for _, mb in checks)
    lock_wall, lock_floor = min(locks), min(lock_floors)
    rows = recomputes[-1]["rows"]
    scale = (
        f"{rows:,} rows from {counts['budgets_expense']:,} expenses, {history['changed']:,} initiatives with share "
        f"changes, {history['closed_months']} closed months carried over ({history['frozen_rows']:,} rows)"
    )
    return [
        {
            "name": f"split recompute: wall time, best of {REPEATS} ({scale})",
            "value": round(wall, 2),
            "unit": "s",
            "baseline_name": (
                f"floor: one INSERT … SELECT of the open months joining the agreement in force, best of {REPEATS} "
                "(same run)"
            ),
            "baseline_value": round(floor, 2),
            "ratio": round(wall / floor, 2),
            "target": f"≤ {TARGET_RATIO}× floor",
            "met": wall / floor <= TARGET_RATIO,
        },
        {
            "name": "split recompute: peak memory of the process (ru_maxrss)",
            "value": round(peak),
            "unit": "MB",
            "baseline_name": f"manage.py check (Django loaded, no work), highest of {REPEATS} (same run)",
            "baseline_value": round(django_mb),
            "ratio": round(peak / django_mb, 2),
            "target": f"< {TARGET_MB} MB",
            "met": peak < TARGET_MB,
        },
        {
            "name": f"split recompute: whole `manage.py recompute_split` incl. interpreter start, best of {REPEATS}",
            "value": round(process, 2),
            "unit": "s",
            "baseline_name": f"`manage.py check` (interpreter + Django start, no work), best of {REPEATS} (same run)",
            "baseline_value": round(check, 2),
            "ratio": round(process / check, 2),
            "target": "",
            "met": None,
        },
        {
            "name": (
                f"lock one month (period_lock_create: lock + freeze its {month_rows:,} split rows + "
                f"closed-month totals, commit), best of {REPEATS}"
            ),
            "value": round(lock_wall, 2),
            "unit": "s",
            "baseline_name": f"floor: the one-month INSERT … SELECT, best of {REPEATS} (same run)",
            "baseline_value": round(lock_floor, 2),
            "ratio": round(lock_wall / lock_floor, 2),
            "target": f"< {TARGET_LOCK_SECONDS} s",
            "met": lock_wall < TARGET_LOCK_SECONDS,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
