"""Benchmark: the roadmap at 20,000 initiatives, beside a trivial view measured in the same run.

    .venv/bin/python -m bench roadmap

Django's test client against the bench database (no network in between), as an
executive (who sees every initiative) and as a PM: the first page (50 initiatives
by start date, the window their span), the current fiscal year's, the fast lane's
and a deep page, each interleaved with a trivial view. Target: the first page's
p95 under 200 ms (issue 18). The harness (Django setup, URLconf with the trivial
view, interleaved timing, percentiles) is bench/dashboard.py's.
"""

from __future__ import annotations

from bench.dashboard import CACHED, TRIVIAL_PATH, URLCONF, _install_urlconf, _setup_django, measure, percentile
from bench.database import ensure_bench_database, table_counts

TARGET_P95_MS = 200
ROADMAP = "/initiatives/roadmap/"


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    _setup_django(url)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    from portfolio.fiscal import fiscal_year

    _install_urlconf()
    print(
        f"roadmap: {counts['initiatives_initiative']:,} initiatives, {counts['budgets_expense']:,} expenses", flush=True
    )
    this_year = fiscal_year(timezone.localdate())
    scenarios = {
        "trivial": (TRIVIAL_PATH, {}, CACHED),
        "first page": (ROADMAP, {}, CACHED),
        f"fiscal year FY{this_year}": (ROADMAP, {"fiscal_year": this_year}, CACHED),
        "fast lane, in progress": (ROADMAP, {"lane": "fast_lane", "status": "in_progress"}, CACHED),
        "page 100": (ROADMAP, {"page": 100}, CACHED),
    }
    results = []
    with override_settings(ROOT_URLCONF=URLCONF):
        for username in ("cmo", "pm.marketing"):
            client = Client()
            client.force_login(get_user_model().objects.get(username=username))
            samples = measure(client, scenarios)
            trivial = percentile(samples["trivial"], 95)
            for name, values in samples.items():
                if name == "trivial":
                    continue
                p50, p95 = percentile(values, 50), percentile(values, 95)
                print(f"roadmap: {username} {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
                results.append(
                    {
                        "name": f"roadmap as {username}, {name}: p95 (p50 {p50:.0f} ms)",
                        "value": round(p95, 1),
                        "unit": "ms",
                        "baseline_name": "trivial Django view, p95 (same run)",
                        "baseline_value": round(trivial, 1),
                        "ratio": round(p95 / trivial, 1) if trivial else None,
                        "target": f"p95 < {TARGET_P95_MS} ms",
                        "met": p95 < TARGET_P95_MS,
                    }
                )
    return results


if __name__ == "__main__":
    for result in run():
        print(result)
