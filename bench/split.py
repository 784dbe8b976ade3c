"""Benchmark: the nightly spend-split recompute beside its physical floor, and its peak memory.

    .venv/bin/python -m bench.split        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives, 1,000,000 expenses, 24 months):

* the recompute — `manage.py recompute_split --json` in a subprocess, timed around
  the service call (claim, delete + rebuild + history in one transaction, commit);
  the subprocess's peak RSS (ru_maxrss from wait4) is its memory;
* its floor, measured in the same run — one hand-written
  `INSERT INTO <scratch> SELECT … GROUP BY initiative, month` (budget and expense
  sums joined to the share, rounded) committed in one transaction, into a scratch
  table shaped like the split table (same columns and indexes), emptied beforehand.

Floor and recompute alternate, `REPEATS` times each, and the best time of each is
reported (the least disturbed by whatever else the machine was doing; the spread
is printed as progress). Both tables are then compared row by row: the floor is
only a floor if it computes the same table.

The whole command, interpreter start included, is reported beside `manage.py check`
run the same way in each attempt (a fresh interpreter, Django loaded, no work):
what starting a management command costs before it does anything. Its peak RSS is
also the baseline of the recompute's memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.database import ROOT, connect, ensure_bench_database, table_counts

REPEATS = 5
TARGET_RATIO = 1.5
TARGET_MB = 300
SCRATCH = "bench_split_floor"

COLUMNS = (
    "initiative_id, month, fiscal_year, fiscal_quarter, initiative_code, initiative_title, lane, status, "
    "marketing_share_pct, planned_total, planned_marketing, planned_it, actual_total, actual_marketing, actual_it, "
    "paid_marketing, paid_it, true_up, variance"
)

# The floor, written by hand: one aggregation per source, joined, rounded, inserted.
FLOOR_SQL = f"""
INSERT INTO {SCRATCH} ({COLUMNS})
SELECT i.id, m.month,
       extract(year FROM m.month)::int + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s
                                              THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       i.code, i.title, i.lane, i.status, i.marketing_share_pct,
       m.planned, round(m.planned * i.marketing_share_pct * 0.01, 2),
       m.planned - round(m.planned * i.marketing_share_pct * 0.01, 2),
       m.actual, round(m.actual * i.marketing_share_pct * 0.01, 2),
       m.actual - round(m.actual * i.marketing_share_pct * 0.01, 2),
       m.paid_marketing, m.paid_it,
       round(m.actual * i.marketing_share_pct * 0.01, 2) - m.paid_marketing,
       m.planned - m.actual
FROM (
    SELECT coalesce(b.initiative_id, e.initiative_id) AS initiative_id, coalesce(b.month, e.month) AS month,
           coalesce(b.planned, 0) AS planned, coalesce(e.actual, 0) AS actual,
           coalesce(e.paid_marketing, 0) AS paid_marketing, coalesce(e.paid_it, 0) AS paid_it
    FROM (SELECT initiative_id, month, sum(amount) AS planned FROM budgets_budgetline GROUP BY 1, 2) b
    FULL JOIN (
        SELECT initiative_id, date_trunc('month', incurred_on)::date AS month, sum(amount_reporting) AS actual,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
        FROM budgets_expense GROUP BY 1, 2
    ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
) m
JOIN initiatives_initiative i ON i.id = m.initiative_id
"""


def fiscal_start_month() -> int:
    return int(os.environ.get("FISCAL_YEAR_START_MONTH", "1"))


def prepare_scratch(url: str) -> None:
    connection = connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCRATCH} (LIKE budgets_splitrow INCLUDING ALL)")
        cursor.execute(f"TRUNCATE {SCRATCH}")
        cursor.execute(f"VACUUM ANALYZE {SCRATCH}")
        cursor.execute("VACUUM ANALYZE budgets_splitrow")
    connection.close()


def measure_floor(url: str) -> tuple[float, int]:
    """Seconds for the one-statement INSERT … SELECT and its commit; and the rows it wrote."""
    prepare_scratch(url)
    connection = connect(url)
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FLOOR_SQL, {"start": fiscal_start_month()})
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
        raise RuntimeError(f"manage.py {' '.join(args)} exited with {child.returncode}: {output[-2000:]}")
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


def tables_differ(url: str) -> int:
    """Rows in one table but not the other (0: the floor computed exactly the split table)."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM (
                (SELECT {COLUMNS} FROM budgets_splitrow EXCEPT SELECT {COLUMNS} FROM {SCRATCH})
                UNION ALL
                (SELECT {COLUMNS} FROM {SCRATCH} EXCEPT SELECT {COLUMNS} FROM budgets_splitrow)
            ) AS difference"""
        )
        return cursor.fetchone()[0]


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    print(
        f"split: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_budgetline']:,} budget lines, "
        f"{counts['budgets_expense']:,} expenses",
        flush=True,
    )
    print("split: warm-up recompute (so the table holds a previous result, as every night)", flush=True)
    measure_recompute(url)
    floors, recomputes, checks = [], [], []
    for attempt in range(1, REPEATS + 1):
        seconds, floor_rows = measure_floor(url)
        floors.append(seconds)
        print(f"split: [{attempt}/{REPEATS}] floor {seconds:.2f} s ({floor_rows:,} rows)", flush=True)
        recompute = measure_recompute(url)
        recomputes.append(recompute)
        print(
            f"split: [{attempt}/{REPEATS}] recompute {recompute['seconds']:.2f} s, "
            f"process {recompute['process_seconds']:.2f} s, peak {recompute['peak_mb']:.0f} MB",
            flush=True,
        )
        _, check_seconds, check_mb = run_process(["check"], url)
        checks.append((check_seconds, check_mb))
        print(f"split: [{attempt}/{REPEATS}] manage.py check {check_seconds:.2f} s, peak {check_mb:.0f} MB", flush=True)
    difference = tables_differ(url)
    if difference:
        raise RuntimeError(f"the floor and the recompute disagree on {difference} rows: not a valid floor")

    floor = min(floors)
    wall = min(r["seconds"] for r in recomputes)
    peak = max(r["peak_mb"] for r in recomputes)
    process = min(r["process_seconds"] for r in recomputes)
    check = min(seconds for seconds, _ in checks)
    django_mb = max(mb for _, mb in checks)
    rows = recomputes[-1]["rows"]
    scale = f"{rows:,} rows from {counts['budgets_expense']:,} expenses"
    return [
        {
            "name": f"split recompute: wall time, best of {REPEATS} ({scale})",
            "value": round(wall, 2),
            "unit": "s",
            "baseline_name": f"floor: one INSERT … SELECT … GROUP BY, best of {REPEATS} (same run)",
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
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
