"""Benchmark: `seed_demo` at the specification's scale, beside PostgreSQL's own COPY of the same rows.

    .venv/bin/python -m bench seed

* `seed_demo --initiatives 20000 --expenses 1000000 --months 24 --seed 1` into a
  fresh, migrated scratch database, in a subprocess: wall time and peak RSS
  (ru_maxrss from wait4). Target: about a minute, under 1 GB.
* Its floor, in the same run: the million expense rows the seed wrote, dumped
  to a CSV file with `COPY … TO`, then loaded back into an empty copy of the
  expense table (same columns and indexes) with one `COPY … FROM` — what loading
  the largest table costs the database alone, without generating anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bench.database import ROOT, bench_database_url, connect

SCRATCH_DB = "portfolio_bench_seed"
SEED_ARGS = ["--initiatives", "20000", "--expenses", "1000000", "--months", "24", "--seed", "1"]
TARGET_SECONDS = 90
TARGET_MB = 1024


def _scratch_url() -> str:
    base = bench_database_url()
    return base.rsplit("/", 1)[0] + "/" + SCRATCH_DB


def _recreate_scratch() -> None:
    server = connect(database="postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    server.close()


def _drop_scratch() -> None:
    server = connect(database="postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
    server.close()


def _manage(*args: str, url: str) -> tuple[float, int]:
    """Run manage.py in a child; (wall seconds, peak RSS in MB)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "portfolio.settings.base"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed: {child.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss // 1024


def _copy_floor(url: str) -> float:
    """Dump the expenses to a file, then time one COPY of them into an empty table shaped like the real one."""
    database = url.rsplit("/", 1)[1]
    connection = connect(url, database=database)
    connection.autocommit = True
    columns = (
        "initiative_id, incurred_on, amount, currency, amount_reporting, paid_by, category, vendor, "
        "description, source, external_ref, created_at"
    )
    with tempfile.TemporaryFile(mode="w+") as dump, connection.cursor() as cursor:
        cursor.copy_expert(f"COPY budgets_expense ({columns}) TO STDOUT WITH (FORMAT csv)", dump)
        dump.seek(0)
        cursor.execute("DROP TABLE IF EXISTS bench_expense_floor")
        cursor.execute("CREATE TABLE bench_expense_floor (LIKE budgets_expense INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute("BEGIN")
        cursor.copy_expert(f"COPY bench_expense_floor ({columns}) FROM STDIN WITH (FORMAT csv)", dump)
        cursor.execute("COMMIT")
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_expense_floor")
    connection.close()
    return elapsed


def run() -> list[dict]:
    url = _scratch_url()
    print(f"seed: fresh database {SCRATCH_DB}, migrating", flush=True)
    _recreate_scratch()
    try:
        _manage("migrate", "--noinput", "-v", "0", url=url)
        print(f"seed: seed_demo {' '.join(SEED_ARGS)}", flush=True)
        seconds, peak_mb = _manage("seed_demo", *SEED_ARGS, url=url)
        print(f"seed: {seconds:.1f} s, peak {peak_mb} MB; measuring the COPY floor", flush=True)
        floor = _copy_floor(url)
        print(f"seed: COPY of the 1,000,000 expense rows alone: {floor:.1f} s", flush=True)
        _, idle_mb = _manage("check", url=url)
    finally:
        _drop_scratch()
    return [
        {
            "name": "seed_demo 20,000 initiatives / 1,000,000 expenses / 24 months: wall time",
            "value": round(seconds, 1),
            "unit": "s",
            "baseline_name": "PostgreSQL COPY of the same 1,000,000 expense rows alone (same run)",
            "baseline_value": round(floor, 1),
            "ratio": round(seconds / floor, 2) if floor else None,
            "target": f"about a minute (≤ {TARGET_SECONDS} s)",
            "met": seconds <= TARGET_SECONDS,
        },
        {
            "name": "seed_demo at that scale: peak memory (ru_maxrss)",
            "value": peak_mb,
            "unit": "MB",
            "baseline_name": "manage.py check (Django loaded, no work)",
            "baseline_value": idle_mb,
            "ratio": round(peak_mb / idle_mb, 2) if idle_mb else None,
            "target": f"< {TARGET_MB} MB",
            "met": peak_mb < TARGET_MB,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
