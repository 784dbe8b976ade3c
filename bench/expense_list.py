"""Benchmark: the expense list page (/finance/expenses/) on 1,000,000 expenses.

    .venv/bin/python -m bench.expense_list      (or `make bench`)

On the shared bench database (PostgreSQL, seeded by bench/database.py with
20,000 initiatives and 1,000,000 expenses; read-only here), the page is
requested as the demo finance user with typical filters. For each request the
response time, the number of queries and the slowest query are reported. The
page shows 50 rows; its totals (row count and sums by payer) come from ONE
aggregate query, so there is no separate COUNT, and the rows are an indexed
ORDER BY … LIMIT 50.
"""

from __future__ import annotations

import os
import sys
import time

TARGET_MS = 1000
REPEATS = 3


def _setup_django(url: str) -> None:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings.test")
    import django

    django.setup()


def _queries() -> list[tuple[str, dict]]:
    """Typical filters, built from what the bench data holds."""
    from budgets.models import Expense

    latest, code = Expense.objects.order_by("-incurred_on").values_list("incurred_on", "initiative__code").first()
    month = f"{latest:%Y-%m}"
    return [
        ("no filter", {}),
        ("one initiative", {"initiative": code}),
        ("one month", {"month": month}),
        ("payer + category", {"paid_by": "marketing", "category": "media"}),
        ("currency + month", {"currency": "EUR", "month": month}),
        ("source", {"source": "erp"}),
        ("page 2,000 (offset 99,950)", {"page": 2000}),
    ]


def measure() -> list[dict]:
    from bench.database import ensure_bench_database

    _setup_django(ensure_bench_database())
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # response.context, for the row counts
    finance = get_user_model().objects.get(username="finance")
    client = Client()
    client.force_login(finance)
    url = reverse("budgets:expense_list")
    client.get(url)  # warm the connection and the caches
    results = []
    for label, query in _queries():
        best, queries, count = None, 0, 0
        for _ in range(REPEATS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url, query)
                elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            if best is None or elapsed < best[0]:
                slowest = max(float(q["time"]) for q in captured)
                best = (elapsed, slowest)
            queries, count = len(captured), response.context["totals"]["count"]
        results.append(
            {
                "label": label,
                "ms": round(best[0] * 1000),
                "slowest_ms": round(best[1] * 1000),
                "queries": queries,
                "rows": count,
            }
        )
    return results


def run() -> list[dict]:
    """The figures in the shape `python -m bench` collects (best of REPEATS per filter)."""
    return [
        {
            "name": f"expense list, {r['label']}: {r['rows']:,} rows match, {r['queries']} queries, "
            f"slowest {r['slowest_ms']} ms",
            "value": r["ms"],
            "unit": "ms",
            "baseline_name": None,
            "baseline_value": None,
            "ratio": None,
            "target": f"< {TARGET_MS} ms",
            "met": r["ms"] < TARGET_MS,
        }
        for r in measure()
    ]


if __name__ == "__main__":
    for result in measure():
        print(
            f"expense list, {result['label']:<28} {result['ms']:>6} ms, {result['queries']} queries, "
            f"{result['rows']:>9,} matching rows, slowest query {result['slowest_ms']} ms"
        )
