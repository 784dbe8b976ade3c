"""Benchmark: the scenario comparison (live plan + three scenarios) beside the split summary, in the same run.

    .venv/bin/python -m bench scenarios        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives, 1,000,000 expenses, 24 months of the split,
recomputed here if it never was), three scenarios are (re)created, each changing 1,000 initiatives
of this fiscal year with mixed kinds (share from a month, lane, exclusion from a month, plan scaled
from a month, in turn). `scenarios.comparison.comparison` of the live plan and the three — one
set-based query per column over the split rows — is timed beside `split.selectors.split_summary`
of the same fiscal year (the figures the dashboard sums), alternating, `REPEATS` times each after
`WARMUP` unmeasured runs; p50 and p95 are reported. Issue 19's target: p95 < 1 s.
"""

from __future__ import annotations

import os
import statistics
import time
from decimal import Decimal

from bench.dashboard import _setup_django, percentile
from bench.database import ensure_bench_database, table_counts

WARMUP = 2
REPEATS = 20
CHANGED = 1000
SCENARIOS = 3
TARGET_P95_MS = 1000
PREFIX = "bench scenario "
KINDS = ("share", "lane", "exclude", "scale")


def _scenarios(fiscal_year: int, from_month) -> list:
    """Three scenarios, each changing `CHANGED` initiatives with split rows in the year (kinds in turn)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from scenarios.models import Scenario, ScenarioChange
    from split.models import SplitRow

    Scenario.objects.filter(name__startswith=PREFIX).delete()
    author = get_user_model().objects.filter(username="cmo").first() or get_user_model().objects.order_by("pk").first()
    ids = list(
        SplitRow.objects.filter(fiscal_year=fiscal_year)
        .values_list("initiative_id", flat=True)
        .distinct()
        .order_by("initiative_id")[: CHANGED * SCENARIOS]
    )
    scenarios = []
    for n in range(SCENARIOS):
        scenario = Scenario.objects.create(name=f"{PREFIX}{n + 1}", author=author)
        changes = []
        for k, initiative_id in enumerate(ids[n * CHANGED : (n + 1) * CHANGED]):
            kind = KINDS[(k + n) % len(KINDS)]
            change = ScenarioChange(scenario=scenario, initiative_id=initiative_id, kind=kind)
            if kind == "share":
                change.from_month, change.marketing_share_pct = from_month, Decimal(10 + k % 80)
            elif kind == "lane":
                change.lane = "core_stack" if k % 2 else "fast_lane"
            elif kind == "exclude":
                change.from_month = from_month
            else:
                change.from_month, change.plan_scale_pct = from_month, Decimal("85.50")
            changes.append(change)
        ScenarioChange.objects.bulk_create(changes)
        scenarios.append(scenario)
    with connection.cursor() as cursor:  # as autovacuum would after 3,000 new rows: the planner sees them
        cursor.execute(f"ANALYZE {ScenarioChange._meta.db_table}")
    return scenarios


def run() -> list[dict]:
    url = ensure_bench_database()
    from bench.dashboard import ensure_split

    ensure_split(url)
    counts = table_counts(url)
    _setup_django(url)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from portfolio import fiscal
    from scenarios.comparison import comparison
    from split.rebuild import as_of_month_now
    from split.selectors import split_summary

    as_of = as_of_month_now()
    fiscal_year = fiscal.fiscal_year(as_of)
    scenarios = _scenarios(fiscal_year, as_of.replace(month=max(1, as_of.month - 2)))
    print(f"scenarios: {counts}, fiscal year {fiscal_year}, 3 × {CHANGED} changes", flush=True)

    def compare():
        return comparison(fiscal_year=fiscal_year, scenarios=scenarios)

    def summary():
        return split_summary(filters={"fiscal_year": fiscal_year})

    with CaptureQueriesContext(connection) as captured:
        result = compare()
    queries = len(captured.captured_queries)
    differing = len(result.differences)
    times: dict[str, list[float]] = {"comparison": [], "summary": []}
    for repeat in range(WARMUP + REPEATS):
        for name, function in (("comparison", compare), ("summary", summary)):
            started = time.perf_counter()
            function()
            elapsed = (time.perf_counter() - started) * 1000
            if repeat >= WARMUP:
                times[name].append(elapsed)
        reset_queries()
    p95 = {name: percentile(samples, 95) for name, samples in times.items()}
    p50 = {name: statistics.median(samples) for name, samples in times.items()}
    print(
        f"scenarios: comparison p50 {p50['comparison']:.0f} ms p95 {p95['comparison']:.0f} ms ({queries} queries, "
        f"{differing} initiatives differ); split summary p50 {p50['summary']:.0f} ms p95 {p95['summary']:.0f} ms; "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return [
        {
            "name": f"scenario comparison, live + 3 × {CHANGED:,} changes: p95 of {REPEATS}",
            "value": round(p95["comparison"]),
            "unit": "ms",
            "baseline_name": "split summary of the fiscal year, same run (p95)",
            "baseline_value": round(p95["summary"]),
            "ratio": round(p95["comparison"] / p95["summary"], 2) if p95["summary"] else None,
            "target": f"< {TARGET_P95_MS} ms",
            "met": p95["comparison"] < TARGET_P95_MS,
        },
        {
            "name": "scenario comparison: queries (one per column)",
            "value": queries,
            "unit": "queries",
            "baseline_name": "",
            "baseline_value": None,
            "ratio": None,
            "target": "≤ 4",
            "met": queries <= SCENARIOS + 1,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
