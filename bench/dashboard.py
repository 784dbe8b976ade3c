"""Benchmark: the joint executive dashboard's latency beside a trivial Django view, and its query count.

    .venv/bin/python -m bench.dashboard        (or `make bench` for every benchmark)

On the bench database (PostgreSQL, 20,000 initiatives, 1,000,000 expenses, 24 months,
seeded by bench/database.py) with its split recomputed (done here if it never was),
/dashboard/ is requested as the demo executive `cmo` (the role with the most queries)
beside a trivial view measured in the same run: it returns "ok" through the same
middleware with the same signed-in client (session, user, login check), so the
difference is the dashboard's own work.

The dashboard caches what it reads from the split under the latest run's id, and what
it reads from the initiatives under the latest change in their history as well
(dashboard/selectors.py), so these cases are measured:

* first view after a recompute: the run is new to the cache, and the recompute has just
  warmed the default view (`dashboard_cache_warm()`, called by `split_recompute` when it
  succeeds: the split figures, the true-up's states and the live figures), so only what is
  about the viewer is read;
* first view after an initiative changed: split figures cached, live figures read;
* no cache at all (every figure read from the database): what a view costs if the cache
  is down or the view was never warmed (filters nobody asked for yet);
* repeat views: both cached (this fiscal year, and a narrow filter: this quarter, fast
  lane, marketing-owned).

Requests go through Django's test client in this process (no network, no server), with
DEBUG off and the cache in this process's memory (CACHES is overridden, never a shared
Redis). The cases alternate, `REQUESTS` times each after `WARMUP` unmeasured requests;
p50 and p95 are reported, and the machine's load average, since other work shares the
cores.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
import types
import uuid
from contextlib import contextmanager, nullcontext

from bench.database import ROOT, ensure_bench_database, manage, split_table_written, table_counts

WARMUP = 5
REQUESTS = 60
# Issue 18: p95 < 100 ms for repeat views, < 200 ms for the first view after a change or a recompute.
TARGET_WARM_P95_MS = 100
TARGET_P95_MS = 200
# A fixed number of queries whatever the data size: 15 until issue 20, whose outcomes panel reads two more
# (its counts and its lists) on a view that finds nothing cached.
MAX_QUERIES = 17
EXECUTIVE = "cmo"
TRIVIAL_PATH = "/bench/trivial/"
URLCONF = "bench_dashboard_urls"
CACHED, NO_CACHE, LIVE_CHANGED, AFTER_RUN = "cached", "no cache", "live changed", "after run"


def percentile(samples: list[float], pct: float) -> float:
    """The nearest-rank percentile of `samples` (pct in 0–100)."""
    ordered = sorted(samples)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def ensure_split(url: str) -> None:
    """The dashboard reads the latest successful recompute: run one if there is none."""
    if split_table_written(url):
        return
    print("dashboard: no successful recompute yet: running recompute_split", flush=True)
    manage("recompute_split", url=url, quiet=True)


def _setup_django(url: str) -> None:
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("bench.dashboard configures Django itself: run it in a fresh interpreter")
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portfolio.settings.base"
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _install_urlconf() -> None:
    """The project's URLs plus the trivial view, as a URLconf of its own (nothing added to the project)."""
    from django.http import HttpResponse
    from django.urls import path

    from portfolio.urls import urlpatterns as project_urlpatterns

    def trivial(request):
        return HttpResponse("ok", content_type="text/plain")

    module = types.ModuleType(URLCONF)
    module.urlpatterns = [path(TRIVIAL_PATH.strip("/") + "/", trivial), *project_urlpatterns]
    sys.modules[URLCONF] = module


@contextmanager
def _live_changed():
    """As right after someone changed an initiative: the live figures miss the cache (split ones still hit)."""
    from dashboard import selectors as dashboard

    original = dashboard.freshness_and_trend

    def unseen_version(*args, **kwargs):
        freshness, trend = original(*args, **kwargs)
        return dataclasses.replace(freshness, portfolio_version=-time.monotonic_ns()), trend

    dashboard.freshness_and_trend = unseen_version
    try:
        yield
    finally:
        dashboard.freshness_and_trend = original


@contextmanager
def _after_recompute():
    """As right after a recompute: nothing of this run cached but what the recompute itself warmed.

    An empty cache of its own stands for the new run's keys, so the other cases keep theirs.
    """
    from django.test.utils import override_settings

    from dashboard.selectors import dashboard_cache_warm

    fresh = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"after-run-{uuid.uuid4()}"}
    with override_settings(CACHES={"default": fresh}):
        dashboard_cache_warm()  # what split_recompute does when it succeeds (not timed: the worker pays it)
        yield


def _mode(mode: str):
    from django.test.utils import override_settings

    if mode == AFTER_RUN:
        return _after_recompute()
    if mode == NO_CACHE:
        return override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}})
    if mode == LIVE_CHANGED:
        return _live_changed()
    return nullcontext()


def measure(client, scenarios: dict[str, tuple[str, dict, str]]) -> dict[str, list[float]]:
    """Milliseconds per request for each scenario (path, query parameters, cache mode), interleaved."""
    for _ in range(WARMUP):
        for path, params, mode in scenarios.values():
            with _mode(mode):
                assert client.get(path, params).status_code == 200
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(REQUESTS):
        for name, (path, params, mode) in scenarios.items():
            with _mode(mode):
                started = time.perf_counter()
                response = client.get(path, params)
                samples[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    return samples


def _result(
    name: str, value: float, baseline_name: str, baseline: float, *, target: bool = True, limit: int = TARGET_P95_MS
) -> dict:
    return {
        "name": name,
        "value": round(value, 1),
        "unit": "ms",
        "baseline_name": baseline_name,
        "baseline_value": round(baseline, 1),
        "ratio": round(value / baseline, 1),
        "target": f"p95 < {limit} ms" if target else "",
        "met": value < limit if target else None,
    }


def run() -> list[dict]:
    url = ensure_bench_database()
    ensure_split(url)
    counts = table_counts(url)
    _setup_django(url)

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from portfolio import fiscal
    from split.models import SplitHistory, SplitRow

    _install_urlconf()
    today = timezone.localdate()
    quarter = fiscal.fiscal_quarter(today)
    narrow = {"fiscal_year": fiscal.fiscal_year(today), "quarter": quarter, "lane": "fast_lane", "side": "marketing"}
    scenarios = {
        "trivial": (TRIVIAL_PATH, {}, CACHED),
        "after run": ("/dashboard/", {}, AFTER_RUN),
        "no cache": ("/dashboard/", {}, NO_CACHE),
        "after edit": ("/dashboard/", {}, LIVE_CHANGED),
        "repeat": ("/dashboard/", {}, CACHED),
        "filtered": ("/dashboard/", narrow, CACHED),
    }
    split_rows = SplitRow.objects.count()
    history_runs = SplitHistory.objects.values("run_id").distinct().count()
    print(
        f"dashboard: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_expense']:,} expenses, "
        f"{split_rows:,} split rows, {history_runs} run(s) in the history",
        flush=True,
    )
    local_cache = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "bench"}}
    with override_settings(ROOT_URLCONF=URLCONF, CACHES=local_cache):
        client = Client()
        client.force_login(get_user_model().objects.get(username=EXECUTIVE))
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        queries = len(captured.captured_queries)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        cached_queries = len(captured.captured_queries)
        with _after_recompute(), CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        after_run_queries = len(captured.captured_queries)
        samples = measure(client, scenarios)

    load = os.getloadavg()[0]
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    p95 = {name: percentile(values, 95) for name, values in samples.items()}
    for name in scenarios:
        print(f"dashboard: {name:<10} p50 {p50[name]:7.1f} ms   p95 {p95[name]:7.1f} ms", flush=True)
    print(
        f"dashboard: {queries} queries on a first view, {after_run_queries} on the first view after a recompute, "
        f"{cached_queries} on a repeat view",
        flush=True,
    )
    print(f"dashboard: load average {load:.1f} on {os.cpu_count()} cores at the end of the run", flush=True)

    scale = f"{counts['initiatives_initiative']:,} initiatives, {counts['budgets_expense']:,} expenses"
    trivial = "trivial view, same client and middleware"
    narrow_text = f"Q{quarter}, fast lane, marketing-owned"
    return [
        _result(
            f"dashboard: p95, repeat views ({scale})",
            p95["repeat"],
            f"{trivial} (p95)",
            p95["trivial"],
            limit=TARGET_WARM_P95_MS,
        ),
        _result("dashboard: p50, repeat views", p50["repeat"], f"{trivial} (p50)", p50["trivial"], target=False),
        _result(
            f"dashboard: p95, repeat views filtered ({narrow_text})",
            p95["filtered"],
            f"{trivial} (p95)",
            p95["trivial"],
            limit=TARGET_WARM_P95_MS,
        ),
        _result(
            "dashboard: p95, first view after an initiative changed (live figures read, split ones cached)",
            p95["after edit"],
            f"{trivial} (p95)",
            p95["trivial"],
        ),
        _result(
            "dashboard: p95, first view after a recompute (warmed by the recompute: split and live figures)",
            p95["after run"],
            f"{trivial} (p95)",
            p95["trivial"],
        ),
        _result(
            "dashboard: p95, no cache at all (cache down, or filters nobody viewed since the run)",
            p95["no cache"],
            f"{trivial} (p95)",
            p95["trivial"],
            target=False,
        ),
        {
            "name": "dashboard: SQL queries per page (executive, whole page incl. session and navigation)",
            "value": queries,
            "unit": "queries",
            "baseline_name": "repeat view (everything cached)",
            "baseline_value": cached_queries,
            "ratio": round(queries / cached_queries, 2),
            "target": f"≤ {MAX_QUERIES}, whatever the data size",
            "met": queries <= MAX_QUERIES,
        },
        {
            "name": "dashboard: SQL queries on the first view after a recompute (what the recompute did not warm)",
            "value": after_run_queries,
            "unit": "queries",
            "baseline_name": "repeat view (everything cached)",
            "baseline_value": cached_queries,
            "ratio": round(after_run_queries / cached_queries, 2),
            "target": "= the repeat view's (everything shared warmed)",
            "met": after_run_queries == cached_queries,
        },
        {
            "name": "dashboard: machine load average (1 min) at the end of the run — other work shares the cores",
            "value": round(load, 1),
            "unit": "",
            "baseline_name": "cores (the load they carry without queueing)",
            "baseline_value": os.cpu_count(),
            "ratio": round(load / os.cpu_count(), 2),
            "target": "",
            "met": None,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
