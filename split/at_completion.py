"""Estimates at completion (PRODUCT.md §3 Forecast): the sum of `forecast_total` over an initiative's rows.

Registered with `portfolio.forecasts` in `SplitConfig.ready()`, so `/api/initiatives/<code>/` (a lower
layer) reads the same figure as the reports, without recomputing the forecast rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from .models import SplitRow

ZERO = Decimal("0.00")


def estimates_at_completion(initiative_ids: Iterable[int]) -> dict[int, Decimal]:
    """{initiative id: sum of its split rows' forecast_total} for every id given, 0.00 without rows (one query)."""
    ids = list(initiative_ids)
    totals = dict.fromkeys(ids, ZERO)
    if ids:
        rows = (
            SplitRow.objects.filter(initiative_id__in=ids)
            .order_by()
            .values_list("initiative_id")
            .annotate(total=Sum("forecast_total"))
        )
        totals.update(dict(rows))
    return totals
