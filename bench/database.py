"""The benchmark database, shared by every bench module (not a benchmark itself: it has no `run`).

`DATABASE_URL` if it points at PostgreSQL, else postgres://postgres@127.0.0.1:5432/portfolio_bench.
Created if missing, migrated, and seeded once with `seed_demo` at the scale of the
specification (20,000 initiatives, 1,000,000 expenses, 24 months, the 12 oldest closed) when empty; later
runs and other modules reuse it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import environ
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portfolio_bench"
SEED_ARGS = [
    "--initiatives",
    "20000",
    "--expenses",
    "1000000",
    "--months",
    "24",
    "--open-months",
    "12",
    "--seed",
    "2026",
]


# A recompute that wrote a split table: seed_demo's past runs (trigger "seed",
# split.choices.HISTORY_ONLY_TRIGGER) are history only and wrote none.
TABLE_RUNS_SQL = "SELECT count(*) FROM budgets_splitrun WHERE status = 'succeeded' AND trigger <> 'seed'"


def split_table_written(url: str | None = None) -> bool:
    """Whether a recompute has written the split table (seed_demo's history-only runs do not count)."""
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(TABLE_RUNS_SQL)
        return cursor.fetchone()[0] > 0


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://", "pgsql://")) else DEFAULT_URL


def connect(url: str | None = None, *, database: str | None = None):
    """A psycopg2 connection to the bench database (or another database of the same server)."""
    config = environ.Env.db_url_config(url or bench_database_url())
    return psycopg2.connect(
        dbname=database or config["NAME"],
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )


def manage(*args: str, url: str | None = None, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run `manage.py <args>` against the bench database."""
    env = {
        **os.environ,
        "DATABASE_URL": url or bench_database_url(),
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.base",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def ensure_bench_database() -> str:
    """Create, migrate and (once) seed the bench database; returns its URL."""
    url = bench_database_url()
    name = environ.Env.db_url_config(url)["NAME"]
    server = connect(url, database="postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"bench: creating database {name}", flush=True)
            cursor.execute(f'CREATE DATABASE "{name}"')
    server.close()

    manage("migrate", "--noinput", "-v", "0", url=url)
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM initiatives_initiative")
        empty = cursor.fetchone()[0] == 0
    if empty:
        print(f"bench: seeding {name}: seed_demo {' '.join(SEED_ARGS)} (about a minute)", flush=True)
        started = time.perf_counter()
        manage("seed_demo", *SEED_ARGS, url=url, quiet=True)
        connection = connect(url)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        connection.close()
        print(f"bench: seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def table_counts(url: str | None = None) -> dict[str, int]:
    with connect(url) as connection, connection.cursor() as cursor:
        counts = {}
        for table in ("initiatives_initiative", "budgets_budgetline", "budgets_expense"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts
