"""Benchmark: the initiative list at 20,000 initiatives, beside a trivial view measured in the same run.

    .venv/bin/python -m bench initiative_list

Django's test client against the bench database (no network in between), as an
executive (who sees every initiative) and as a PM: the first page, a search, a
filtered page and a deep page, interleaved with a trivial view. Target: p95 under
150 ms (issue 3). The harness (Django setup, URLconf with the trivial view,
interleaved timing, percentiles) is bench/dashboard.py's.
"""

from __future__ import annotations

from bench.dashboard import CACHED, TRIVIAL_PATH, URLCONF, _install_urlconf, _setup_django, measure, percentile
from bench.database import ensure_bench_database, table_counts

TARGET_P95_MS = 150
LIST = "/initiatives/"


def run() -> list[dict]:
    url = ensure_bench_database()
    counts = table_counts(url)
    _setup_django(url)

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    _install_urlconf()
    print(f"initiative_list: {counts['initiatives_initiative']:,} initiatives", flush=True)
    scenarios = {
        "trivial": (TRIVIAL_PATH, {}, CACHED),
        "first page": (LIST, {}, CACHED),
        "search 'platform'": (LIST, {"q": "platform"}, CACHED),
        "filtered (fast lane, in progress, sorted by title)": (
            LIST,
            {"lane": "fast_lane", "status": "in_progress", "sort": "title"},
            CACHED,
        ),
        "page 100": (LIST, {"page": 100}, CACHED),
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
                print(f"initiative_list: {username} {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms", flush=True)
                results.append(
                    {
                        "name": f"initiative list as {username}, {name}: p95 (p50 {p50:.0f} ms)",
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
