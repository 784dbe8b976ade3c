"""The dashboard's answers to what the split engine and the outcomes announce (connected in DashboardConfig.ready)."""

from __future__ import annotations

from django.db import transaction

from dashboard import outcomes, selectors


def warm_cache_after_recompute(sender, **kwargs) -> None:
    """A new split table: fill the cache of the default dashboard view before anyone asks."""
    selectors.dashboard_cache_warm()


def outcomes_written(sender, **kwargs) -> None:
    """A KPI or a measurement was saved or deleted: the outcomes panel is read again once the write commits.

    Bulk writes send no model signals: `outcomes.signals.kpis_changed` (sent by `kpis_refresh`) comes here too.
    """
    transaction.on_commit(outcomes.outcomes_changed)
