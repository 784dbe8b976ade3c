"""Benchmark: import 100,000 outcome measurements from CSV on PostgreSQL (target: under 30 s).

    .venv/bin/python -m bench.outcomes_import [--rows 100000]     (or `python -m bench outcomes_import`)

On the bench database (`bench.database`), inside one transaction that is rolled back at the end, so the
bench data is left as it was and re-runs are comparable:

1. the project manager owning the most initiatives that take measurements (approved, in progress, done)
   imports for them; when those initiatives have fewer than `KPIS` outcome KPIs, KPIs are added to them
   (at most five per initiative, rolled back with the rest);
2. a CSV of `rows` measurements is generated: for each KPI, consecutive days ending the day before its
   first stored measurement (or today when it has none), so every row is new;
3. timed through the `outcomes_import` the web page and `manage.py import_outcomes` use: the preview
   (read and validate, nothing saved), the import (validate; on PostgreSQL COPY of the new rows and of their
   history rows, `bulk_update_with_history` of changed ones; `kpis_refresh` of the touched KPIs), then the
   same file again (must add nothing);
4. the import again under `tracemalloc`, for its peak Python memory (not timed: tracing slows it down).

Baseline, same run and database: PostgreSQL `COPY … FROM STDIN` of the same rows into the real, indexed
`outcomes_outcomemeasurement` table (its unique index, foreign keys and all), inside a savepoint rolled
back — the floor of getting those rows into that table at all. What the import adds over it: reading and
validating the CSV, the stored-value lookup, the history rows and the KPI refresh.

`run()` returns the figures in `python -m bench`'s result shape.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
import time
import tracemalloc

TARGET_SECONDS = 30.0
KPIS = 500  # at least this many KPIs take the rows (200 days each for 100,000 rows)


class _Rollback(Exception):
    """Raised at the end of the measuring transaction, so nothing it wrote stays."""


def _owner_and_kpis(wanted: int):
    """The PM owning the most measurable initiatives, and at least `wanted` KPIs of theirs (added if needed)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from initiatives.models import Initiative
    from outcomes.models import KPIS_PER_INITIATIVE, OutcomeKpi
    from outcomes.rules import MEASURABLE
    from portfolio.policy import is_pm

    measurable = Initiative.objects.filter(status__in=MEASURABLE)
    owners = measurable.values("owner").annotate(n=Count("pk")).order_by("-n", "owner")
    owner = None
    for row in owners[:50]:
        candidate = get_user_model().objects.get(pk=row["owner"])
        if is_pm(candidate):
            owner = candidate
            break
    if owner is None:
        raise SystemExit("outcomes_import: no project manager owns an approved, in-progress or done initiative")
    initiatives = list(measurable.filter(owner=owner).order_by("pk"))
    kpis = list(OutcomeKpi.objects.filter(initiative__in=initiatives).order_by("pk"))
    have = {initiative.pk: 0 for initiative in initiatives}
    for kpi in kpis:
        have[kpi.initiative_id] += 1
    added = []
    for initiative in initiatives:
        for number in range(have[initiative.pk], KPIS_PER_INITIATIVE):
            if len(kpis) + len(added) >= wanted:
                break
            added.append(
                OutcomeKpi(
                    initiative=initiative,
                    name=f"Bench KPI {number + 1}",
                    unit="%",
                    direction="up",
                    baseline=0,
                    target=100,
                    target_date=initiative.end_date,
                    owner_side="marketing",
                )
            )
    OutcomeKpi.objects.bulk_create(added, batch_size=2000)
    return owner, list(OutcomeKpi.objects.filter(initiative__in=initiatives).select_related("initiative"))


def generate_rows(kpis, rows: int, seed: int = 20) -> list[tuple]:
    """(kpi, day, value) for `rows` new measurements, spread evenly over the KPIs."""
    from outcomes.services import EARLIEST_MEASUREMENT, today

    rng = random.Random(seed)
    per_kpi = -(-rows // len(kpis))
    out = []
    for kpi in kpis:
        last = (kpi.first_measured_on or today() + dt.timedelta(days=1)) - dt.timedelta(days=1)
        for back in range(per_kpi):
            day = last - dt.timedelta(days=back)
            if day < EARLIEST_MEASUREMENT or len(out) >= rows:
                break
            out.append((kpi, day, f"{rng.uniform(0, 120):.4f}"))
    return out


def as_csv(rows: list[tuple]) -> bytes:
    from outcomes.imports import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for kpi, day, value in rows:
        writer.writerow([kpi.initiative.code, kpi.name.upper(), day.isoformat(), value])
    return out.getvalue().encode("utf-8")


def copy_floor(rows: list[tuple], owner) -> float:
    """Seconds to COPY the rows into outcomes_outcomemeasurement, in a savepoint rolled back."""
    from django.db import connection, transaction

    now = dt.datetime.now(dt.UTC).isoformat()
    data = io.StringIO()
    for kpi, day, value in rows:
        data.write(f"{kpi.pk},{day.isoformat()},{value},{owner.pk},{now}\n")
    data.seek(0)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.copy_expert(
                "COPY outcomes_outcomemeasurement (kpi_id, measured_on, value, recorded_by_id, created_at) "
                "FROM STDIN WITH (FORMAT csv)",
                data,
            )
            elapsed = time.perf_counter() - started
            cursor.execute("SELECT count(*) FROM outcomes_outcomemeasurement WHERE created_at = %s", [now])
            assert cursor.fetchone()[0] == len(rows)
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


def _in_savepoint(function):
    """Run `function()` in a savepoint rolled back afterwards; return its result."""
    from django.db import transaction

    result = []
    try:
        with transaction.atomic():
            result.append(function())
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


def measure(rows: int = 100_000) -> dict:
    from bench.dashboard import _setup_django
    from bench.database import ensure_bench_database

    _setup_django(ensure_bench_database())
    from django.db import transaction

    from outcomes.imports import outcomes_import
    from outcomes.models import OutcomeMeasurement

    result: dict = {}
    try:
        with transaction.atomic():
            owner, kpis = _owner_and_kpis(max(KPIS, -(-rows // 3650)))
            planned = generate_rows(kpis, rows)
            data = as_csv(planned)
            result.update(rows=len(planned), kpis=len(kpis), owner=owner.username, file_mb=len(data) / 2**20)
            before = OutcomeMeasurement.objects.count()

            def timed(dry_run: bool):
                started = time.perf_counter()
                report = outcomes_import(data=data, file_name="bench.csv", by=owner, dry_run=dry_run)
                assert report.ok, report.errors[:5]
                return report, time.perf_counter() - started

            preview, result["preview_s"] = timed(True)
            assert preview.new == len(planned)

            def import_twice():
                report, seconds = timed(False)
                assert report.saved and OutcomeMeasurement.objects.count() == before + len(planned)
                again, again_seconds = timed(False)
                assert again.nothing_new and again.unchanged == len(planned)
                return seconds, again_seconds

            result["import_s"], result["reimport_s"] = _in_savepoint(import_twice)

            def traced():
                tracemalloc.start()
                try:
                    timed(False)
                    return tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()

            result["peak_mb"] = _in_savepoint(traced) / 2**20
            result["copy_s"] = copy_floor(planned, owner)
            raise _Rollback
    except _Rollback:
        pass
    result["ok"] = result["import_s"] < TARGET_SECONDS
    return result


def run(rows: int = 100_000) -> list[dict]:
    """The figures in the shape `python -m bench` collects, each beside the COPY floor of the same run."""
    result = measure(rows=rows)
    print(
        f"outcomes_import: {result['rows']:,} rows of {result['kpis']:,} KPIs ({result['owner']}): preview "
        f"{result['preview_s']:.2f} s, import {result['import_s']:.2f} s, re-import {result['reimport_s']:.2f} s, "
        f"peak {result['peak_mb']:.0f} MB; COPY floor {result['copy_s']:.2f} s",
        flush=True,
    )
    label = f"outcomes_import: {result['rows']:,} measurements ({result['file_mb']:.1f} MB CSV)"
    floor = round(result["copy_s"], 2)
    baseline = {
        "baseline_name": f"PostgreSQL COPY of the same {result['rows']:,} rows into outcomes_outcomemeasurement "
        "(indexed), rolled back (same run)",
        "baseline_value": floor,
    }

    def row(name: str, seconds: float, target: str = "", met: bool | None = None) -> dict:
        seconds = round(seconds, 2)
        ratio = round(seconds / floor, 2) if floor else None
        return {"name": name, "value": seconds, "unit": "s", **baseline, "ratio": ratio, "target": target, "met": met}

    return [
        row(f"{label}, preview (read + validate)", result["preview_s"]),
        row(
            f"{label}, import (validate + write with history + KPI refresh; peak {result['peak_mb']:.0f} MB)",
            result["import_s"],
            f"< {TARGET_SECONDS:.0f} s",
            result["ok"],
        ),
        row(f"{label}, same file again (adds nothing)", result["reimport_s"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    for result in run(rows=args.rows):
        print(result)


if __name__ == "__main__":
    main()
