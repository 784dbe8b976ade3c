"""Benchmark: the forecast report CSV at full scale, beside PostgreSQL's COPY of the same rows in the same run.

    .venv/bin/python -m bench forecast_report        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives, 1,000,000 expenses, 24 months of the split):

* `/reports/forecast.csv` of the whole portfolio downloaded over HTTP from a real server —
  gunicorn (`portfolio.wsgi`, production settings, one sync worker) — as a finance user:
  wall time from request to last byte, beside `COPY (<the report's own SELECT>) TO STDOUT
  WITH (FORMAT csv)` read by a plain psycopg2 client in the same run (target ≤ 2×). The
  SELECT is the one the view runs (`reports.forecast.forecast_csv_select`, printed by a
  Django child process): the same rows, the same GROUP BY, the same formatting, so the ratio
  is what Django, the streaming and HTTP add to the database's own work;
* the worker's peak memory while serving it (VmHWM, target < 200 MB), beside its memory before.

COPY and download alternate, `REPEATS` times each; medians are reported. The downloaded body
is checked against the COPY: the exact header, then the same number of bytes and lines.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from bench.database import ROOT, connect, ensure_bench_database, table_counts
from bench.exports import (
    _Counter,
    download,
    ensure_split,
    finance_session,
    free_port,
    memory_mb,
    server_env,
    start_server,
    worker_pid,
)

REPEATS = 3
TARGET_RATIO = 2.0
TARGET_MB = 200
HEADER = (
    b"fiscal_year,initiative_code,initiative_title,lane,status,estimated_cost,planned_total,actual_to_date,"
    b"forecast_total,forecast_marketing,forecast_it,variance_at_completion\n"
)
MARKER = "@@forecast-select "
SELECT_SCRIPT = f"""
from django.db import connection
from reports.forecast import forecast_csv_select
from split.selectors import SplitFilters
sql, params = forecast_csv_select(SplitFilters())
connection.ensure_connection()
with connection.connection.cursor() as cursor:
    print({MARKER!r} + cursor.mogrify(sql, params).decode().replace("\\n", " "))
"""


def report_select(url: str) -> str:
    """The SELECT `/reports/forecast.csv` hands to COPY for the whole portfolio, parameters bound."""
    output = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SELECT_SCRIPT],
        cwd=ROOT,
        env=server_env(url),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    [line] = [line for line in output.splitlines() if line.startswith(MARKER)]
    return line[len(MARKER) :]


def copy_floor(url: str, select_sql: str) -> tuple[float, int, int]:
    """Seconds, bytes and lines of `COPY (select_sql) TO STDOUT WITH (FORMAT csv)` read by plain psycopg2."""
    connection = connect(url)
    sink = _Counter()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.copy_expert(f"COPY ({select_sql}) TO STDOUT WITH (FORMAT csv)", sink)
        elapsed = time.perf_counter() - started
    connection.close()
    return elapsed, sink.bytes, sink.rows


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    split_rows = ensure_split(url)
    print(
        f"forecast_report: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_expense']:,} expenses, "
        f"{split_rows:,} split rows",
        flush=True,
    )
    select_sql = report_select(url)
    session_key = finance_session(url)
    port = free_port()
    server = start_server(url, port)
    try:
        worker = worker_pid(server.pid)
        download(port, "/reports/forecast.csv?initiative=INI-0001", session_key)  # warm: imports, connection
        idle_mb = memory_mb(worker, "VmRSS")
        floors, downloads = [], []
        for attempt in range(1, REPEATS + 1):
            seconds, floor_bytes, floor_lines = copy_floor(url, select_sql)
            floors.append(seconds)
            print(
                f"forecast_report: [{attempt}/{REPEATS}] COPY of the same SELECT {seconds:.2f} s "
                f"({floor_lines:,} lines, {floor_bytes / 1e6:.1f} MB)",
                flush=True,
            )
            seconds, size, lines, head = download(port, "/reports/forecast.csv", session_key)
            downloads.append(seconds)
            print(f"forecast_report: [{attempt}/{REPEATS}] HTTP CSV {seconds:.2f} s ({size / 1e6:.1f} MB)", flush=True)
            if not head.startswith(HEADER) or size != len(HEADER) + floor_bytes or lines != floor_lines + 1:
                raise RuntimeError(
                    f"the download is not the report: {size} bytes and {lines} lines, "
                    f"COPY {floor_bytes} bytes and {floor_lines} lines"
                )
        peak_mb = memory_mb(worker, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=30)

    floor = statistics.median(floors)
    wall = statistics.median(downloads)
    scale = f"{floor_lines:,} initiative-years from {split_rows:,} split rows, {size / 1e6:.1f} MB"
    return [
        {
            "name": f"forecast CSV over HTTP (gunicorn, finance user): wall time ({scale})",
            "value": round(wall, 2),
            "unit": "s",
            "baseline_name": "COPY (the report's own SELECT) TO STDOUT WITH CSV, plain psycopg2 (same run)",
            "baseline_value": round(floor, 2),
            "ratio": round(wall / floor, 2),
            "target": f"≤ {TARGET_RATIO:g}× COPY",
            "met": wall / floor <= TARGET_RATIO,
        },
        {
            "name": "forecast CSV over HTTP: peak memory of the gunicorn worker (VmHWM)",
            "value": round(peak_mb),
            "unit": "MB",
            "baseline_name": "the worker before the download (VmRSS)",
            "baseline_value": round(idle_mb),
            "ratio": round(peak_mb / idle_mb, 2),
            "target": f"< {TARGET_MB} MB",
            "met": peak_mb < TARGET_MB,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
