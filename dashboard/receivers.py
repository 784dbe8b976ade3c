"""The dashboard's answers to what the split engine announces (connected in DashboardConfig.ready)."""

from __future__ import annotations

from dashboard import selectors


def warm_cache_after_recompute(sender, **kwargs) -> None:
    """A new split table: fill the cache of the default dashboard view before anyone asks."""
    selectors.dashboard_cache_warm()
