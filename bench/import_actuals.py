"""Benchmark: import 100,000 ERP actuals from CSV on PostgreSQL (target: under 30 s).

    .venv/bin/python -m bench.import_actuals [--rows 100000]     (or `make bench`)

Runs in a throw-away test database of the bench server (created, migrated and
dropped here), so the shared bench data is never touched. It generates a
realistic file — 2,000 initiatives, three currencies over twelve months, unique
ERP references — and times, through the same `import_run` the web and
`manage.py import_actuals` use:

1. the preview (read and validate, nothing saved),
2. the import (read, validate again, COPY the expenses and one history row each),
3. importing the same file again (must add nothing).

Baseline of all three, measured in the same run and database: the floor of getting
those rows into PostgreSQL at all — the 100,000 expense rows the import wrote,
dumped to a file with `COPY … TO` (not timed), then loaded into an empty table
created `LIKE budgets_expense INCLUDING ALL` (same columns, defaults, checks and
indexes; no triggers, no foreign key) with one `COPY … FROM` in one transaction,
timed to its commit; the table is dropped afterwards (as bench/seed.py's floor).
What the import adds over it: reading and validating the CSV, currency conversion,
the duplicate check and the history rows.

`run()` returns the figures in `python -m bench`'s result shape.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
from decimal import Decimal

TARGET_SECONDS = 30.0


def _setup_django() -> None:
    """Django on the bench server (`DATABASE_URL` if PostgreSQL, else the bench default)."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from bench.database import bench_database_url

    os.environ["DATABASE_URL"] = bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings.test")
    import django

    django.setup()


def generate_file(codes: list[str], rows: int, seed: int = 7) -> bytes:
    """A CSV of `rows` actuals with the exact header of PRODUCT.md §4."""
    from budgets.services.imports_actuals import ACTUALS_COLUMNS

    rng = random.Random(seed)
    vendors = ["Acme Cloud", "Studio Nord", "Adnet Media", "Bluebird Consulting", "DataWorks", "Printhaus"]
    categories = ["labor", "software", "infrastructure", "agency", "media", "other"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ACTUALS_COLUMNS)
    for number in range(1, rows + 1):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(365))
        cents = rng.randrange(1, 5_000_000) * (-1 if rng.random() < 0.03 else 1)
        writer.writerow(
            [
                rng.choice(codes),
                day.isoformat(),
                f"{Decimal(cents) / 100:.2f}",
                rng.choice(("USD", "USD", "EUR", "GBP")),
                rng.choice(("marketing", "it")),
                rng.choice(categories),
                rng.choice(vendors),
                f"Invoice {number} for services rendered",
                f"ERP-2026-{number:07d}",
            ]
        )
    return out.getvalue().encode("utf-8")


def _seed(initiatives: int) -> tuple[list[str], object]:
    from django.contrib.auth.models import Group, User

    from budgets.models import FxRate
    from initiatives.models import Initiative, Profile
    from initiatives.services import initiative_codes_allocate

    finance = User.objects.create(username="bench.finance")
    finance.groups.add(Group.objects.get(name="finance"))
    owner = User.objects.create(username="bench.pm")
    Profile.objects.create(user=owner, side="marketing")
    codes = initiative_codes_allocate(count=initiatives)
    Initiative.objects.bulk_create(
        [
            Initiative(
                code=code,
                title=f"Initiative {code}",
                summary="Benchmark",
                owner=owner,
                marketing_sponsor=owner,
                it_sponsor=owner,
                lane="fast_lane",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2026, 12, 31),
            )
            for code in codes
        ],
        batch_size=2000,
    )
    FxRate.objects.bulk_create(
        [
            FxRate(currency=currency, month=dt.date(2026, month, 1), rate=rate)
            for currency, rate in (("EUR", Decimal("1.08")), ("GBP", Decimal("1.27")))
            for month in range(1, 13)
        ]
    )
    return codes, finance


COPY_FLOOR_TABLE = "bench_import_copy_floor"


def copy_floor() -> tuple[float, int]:
    """Seconds to COPY the expense rows now in the table into an empty copy of it, and the rows copied."""
    from django.db import connection

    from budgets.models import Expense

    columns = ", ".join(field.column for field in Expense._meta.concrete_fields if not field.primary_key)
    with tempfile.TemporaryFile(mode="w+") as dump, connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {Expense._meta.db_table} ({columns}) TO STDOUT WITH (FORMAT csv)", dump)
        dump.seek(0)
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {COPY_FLOOR_TABLE} (LIKE {Expense._meta.db_table} INCLUDING ALL)")
        try:
            started = time.perf_counter()
            cursor.execute("BEGIN")
            cursor.copy_expert(f"COPY {COPY_FLOOR_TABLE} ({columns}) FROM STDIN WITH (FORMAT csv)", dump)
            cursor.execute("COMMIT")
            elapsed = time.perf_counter() - started
            cursor.execute(f"SELECT count(*) FROM {COPY_FLOOR_TABLE}")
            copied = cursor.fetchone()[0]
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {COPY_FLOOR_TABLE}")
    return elapsed, copied


def measure(rows: int = 100_000, initiatives: int = 2_000) -> dict:
    """Create a test database, import `rows` actuals, return the timings (seconds)."""
    _setup_django()
    from django.db import connection

    from budgets.models import Expense
    from budgets.services.imports import import_run

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        codes, finance = _seed(initiatives)
        data = generate_file(codes, rows)

        started = time.perf_counter()
        preview = import_run(kind="actuals", data=data, file_name="bench.csv", by=finance, dry_run=True)
        preview_seconds = time.perf_counter() - started
        assert preview.ok and preview.new == rows, preview.errors[:5]

        started = time.perf_counter()
        report = import_run(kind="actuals", data=data, file_name="bench.csv", by=finance)
        import_seconds = time.perf_counter() - started
        assert report.saved and Expense.objects.count() == rows
        assert Expense.history.count() == rows

        started = time.perf_counter()
        again = import_run(kind="actuals", data=data, file_name="bench.csv", by=finance)
        again_seconds = time.perf_counter() - started
        assert again.ok and again.new == 0 and Expense.objects.count() == rows

        copy_seconds, copied = copy_floor()
        assert copied == rows, copied
        return {
            "rows": rows,
            "file_mb": round(len(data) / (1024 * 1024), 1),
            "database": connection.vendor,
            "preview_s": round(preview_seconds, 2),
            "import_s": round(import_seconds, 2),
            "reimport_s": round(again_seconds, 2),
            "copy_s": round(copy_seconds, 2),
            "rows_per_s": int(rows / import_seconds),
            "target_s": TARGET_SECONDS,
            "ok": import_seconds < TARGET_SECONDS,
        }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(rows: int = 100_000) -> list[dict]:
    """The figures in the shape `python -m bench` collects, each beside the COPY floor of the same run."""
    result = measure(rows=rows)
    print(
        f"import_actuals: preview {result['preview_s']} s, import {result['import_s']} s, "
        f"re-import {result['reimport_s']} s; COPY floor {result['copy_s']} s",
        flush=True,
    )
    label = f"import_actuals: {rows:,} rows ({result['file_mb']} MB CSV)"
    floor = result["copy_s"]
    baseline = {
        "baseline_name": f"PostgreSQL COPY of the same {rows:,} expense rows into an empty table "
        "LIKE budgets_expense, one transaction (same run)",
        "baseline_value": floor,
    }

    def ratio(seconds: float) -> float | None:
        return round(seconds / floor, 2) if floor else None

    return [
        {
            "name": f"{label}, preview (read + validate)",
            "value": result["preview_s"],
            "unit": "s",
            **baseline,
            "ratio": ratio(result["preview_s"]),
            "target": "",
            "met": None,
        },
        {
            "name": f"{label}, import (validate + COPY + one history row each)",
            "value": result["import_s"],
            "unit": "s",
            **baseline,
            "ratio": ratio(result["import_s"]),
            "target": f"< {TARGET_SECONDS:.0f} s",
            "met": result["ok"],
        },
        {
            "name": f"{label}, same file again (adds nothing)",
            "value": result["reimport_s"],
            "unit": "s",
            **baseline,
            "ratio": ratio(result["reimport_s"]),
            "target": "",
            "met": None,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--initiatives", type=int, default=2_000)
    args = parser.parse_args()
    result = measure(rows=args.rows, initiatives=args.initiatives)
    print(
        f"import_actuals: {result['rows']:,} rows ({result['file_mb']} MB) on {result['database']}: "
        f"preview {result['preview_s']} s, import {result['import_s']} s ({result['rows_per_s']:,} rows/s), "
        f"re-import {result['reimport_s']} s (COPY floor {result['copy_s']} s) — target < {result['target_s']:.0f} s: "
        f"{'OK' if result['ok'] else 'TOO SLOW'}"
    )
    if not result["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
