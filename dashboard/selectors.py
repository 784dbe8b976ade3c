"""Selectors of the joint executive dashboard (PRODUCT.md §1, §3).

Every figure is read, never recomputed: money comes from the split table of the
latest successful recompute (through `split.selectors`) and from its
compact history; people-facing facts (health, status, platforms, approvals) come
from the initiatives themselves. Each function is one query whatever the size of
the portfolio, so the page costs a fixed number of queries (eleven at most, the outcomes panel's two included).

The filters are `dashboard.filters`; the figures `dashboard.figures`; as of when
they are, the share trend and the run-keyed cache `dashboard.freshness`. This module
puts the page together (`dashboard()`) and warms its cache (`dashboard_cache_warm()`).

What is read from the split (the roll-up by month and lane, the year-to-date
overspenders, the largest variances) changes only when a recompute finishes, so it is
cached under the id of the latest successful run: a new run changes every key, and the
page never shows figures older than that run. What is live (statuses, health,
platforms) is cached under the latest change recorded in the initiatives' history as
well, so any change shows on the next view; the viewer's own approvals are always read.
bench/dashboard.py measures the page with and without the cache;
`dashboard_cache_warm()` fills the split part and the live figures right after a recompute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from dashboard.figures import (
    InitiativeCounts,
    PlanToDate,
    Rollup,
    SpendRanking,
    at_risk_initiatives,
    initiative_counts,
    pending_approvals,
    spend_ranking,
    split_rollup,
)
from dashboard.filters import DashboardFilters, initiatives_filtered_once, split_queryset
from dashboard.freshness import Freshness, TrendPoint, freshness_and_trend, split_cached
from dashboard.outcomes import OutcomesPanel, cached_outcomes_panel
from dashboard.platforms import PlatformMap, digital_islands, platform_map
from initiatives.models import Initiative
from initiatives.platforms import island_share_pct
from portfolio import fiscal, policy
from portfolio.roles import Role
from split.settlements import true_up_states

# --- the whole page ------------------------------------------------------------------------


@dataclass
class Dashboard:
    filters: DashboardFilters
    freshness: Freshness
    rollup: Rollup
    counts: InitiativeCounts
    at_risk: list[Initiative]
    variances: list[dict[str, Any]]
    islands: list[Initiative]
    platforms: list[dict[str, Any]]
    trend: list[TrendPoint]
    approvals: list[Initiative] = field(default_factory=list)
    # "Spent of plan": the plan and actuals of the period's months up to the current one (from the roll-up).
    plan_to_date: PlanToDate | None = None
    # The true-up of the rows the filters cover: settled, outstanding, accruing and their total.
    true_up: dict[str, Decimal] = field(default_factory=dict)
    # The platform map with how many fast-lane initiatives rest on a risky platform, per cause.
    platform_map: PlatformMap | None = None
    # The outcomes panel: KPIs on and off track, off-track initiatives, spend per attained point.
    outcomes: OutcomesPanel | None = None


def _true_up_states(freshness: Freshness, filters: DashboardFilters) -> dict[str, Decimal]:
    """Settled, outstanding and accruing (`split.settlements.true_up_states`): cached under the run, the
    latest change to closed months and settlements, and the filters (one query when not cached)."""
    return split_cached(
        freshness,
        f"true-up:{freshness.ledger_version}:{filters.cache_key}",
        lambda: true_up_states(rows=split_queryset(filters)),
    )


def _rules_key() -> str:
    """The settings the cached figures depend on (the overspend threshold, the islands' share): a changed
    setting is never answered with figures cached under the old one."""
    return f"{settings.OVERSPEND_ALERT_PCT}:{island_share_pct()}"


def _split_figures(freshness: Freshness, filters: DashboardFilters, today: dt.date) -> tuple[Rollup, SpendRanking]:
    """The roll-up and the ranking of the latest run, from the cache or (once per run and filters) the database."""
    key = filters.cache_key
    rollup = split_cached(freshness, f"rollup:{key}", lambda: split_rollup(filters, run=freshness.latest))
    ytd_key = f"{key}:{filters.ytd_last_month(today)}"  # the year to date moves with the month
    ranking = split_cached(freshness, f"ranking:{ytd_key}:{_rules_key()}", lambda: spend_ranking(filters, today=today))
    return rollup, ranking


@dataclass
class LiveFigures:
    """What the dashboard reads from the initiatives themselves (statuses, health, platforms)."""

    counts: InitiativeCounts
    at_risk: list[Initiative]
    islands: list[Initiative]
    platforms: PlatformMap


def _live_figures(
    freshness: Freshness, filters: DashboardFilters, ranking: SpendRanking, *, user, today: dt.date
) -> LiveFigures:
    """Counts, at-risk and island lists and the platform map: read, or cached until anything changes.

    The key holds the latest run and the latest change recorded in the initiatives'
    history (every save, approval, health update and platform change is recorded), so
    a change shows on the next view. Only for people who see the whole portfolio,
    whose figures are all the same.
    """

    def compute() -> LiveFigures:
        with initiatives_filtered_once():
            return LiveFigures(
                counts=initiative_counts(filters, user=user, today=today, overspent_ids=ranking.overspent_ids),
                at_risk=at_risk_initiatives(filters, user=user, today=today, overspent_ids=ranking.overspent_ids),
                islands=digital_islands(filters, user=user),
                platforms=platform_map(filters, user=user),
            )

    if freshness.portfolio_version is None or not policy.sees_everything(user):
        return compute()
    ytd_key = f"{filters.cache_key}:{filters.ytd_last_month(today)}"
    return split_cached(freshness, f"live:{freshness.portfolio_version}:{ytd_key}:{_rules_key()}", compute)


def _as_of_day(freshness, today: dt.date) -> dt.date:
    """The day the split's figures are as of (the latest run's), which "to date" and the forecast share; today
    before any run."""
    return timezone.localtime(freshness.as_of).date() if freshness.as_of is not None else today


def dashboard(*, user, filters: DashboardFilters, today: dt.date | None = None, now=None) -> Dashboard:
    """Everything the dashboard shows: eleven queries at most (ten without approvals; the outcomes panel's
    two among them, one without KPIs); two or three once the figures of the latest run, portfolio, ledger and
    outcomes versions are cached."""
    today = today or timezone.localdate()
    freshness, trend = freshness_and_trend(filters, now=now)
    rollup, ranking = _split_figures(freshness, filters, today)
    live = _live_figures(freshness, filters, ranking, user=user, today=today)
    return Dashboard(
        filters=filters,
        freshness=freshness,
        rollup=rollup,
        counts=live.counts,
        at_risk=live.at_risk,
        variances=ranking.variances,
        islands=live.islands,
        platforms=live.platforms.platforms,
        platform_map=live.platforms,
        trend=trend,
        approvals=pending_approvals(user=user),
        true_up=_true_up_states(freshness, filters),
        plan_to_date=rollup.to_date(filters.ytd_last_month(_as_of_day(freshness, today))),
        outcomes=_outcomes(freshness, filters, ranking, today),
    )


def _outcomes(freshness: Freshness, filters: DashboardFilters, ranking: SpendRanking, today: dt.date) -> OutcomesPanel:
    return cached_outcomes_panel(
        freshness, filters, today=today, overspent_ids=ranking.overspent_ids, rules_key=_rules_key()
    )


def dashboard_cache_warm(*, today: dt.date | None = None) -> None:
    """Cache every shared figure of the default view (this fiscal year, no filters) for the latest run.

    Meant to run right after a successful recompute (the nightly task), so that the first
    person to open the dashboard does not wait for the roll-ups, the ranking or the live
    figures: the split figures, the true-up's states, the outcomes panel and the live figures (counts,
    at risk, islands, platforms) as anyone who sees the whole portfolio sees them, under the latest
    change recorded at the time (a change after it is read on the next view, as always).
    """
    today = today or timezone.localdate()
    filters = DashboardFilters(fiscal_year=fiscal.fiscal_year(today))
    freshness, _ = freshness_and_trend(filters)
    _, ranking = _split_figures(freshness, filters, today)
    _true_up_states(freshness, filters)
    _outcomes(freshness, filters, ranking, today)
    viewer = _whole_portfolio_viewer()
    if viewer is not None:
        _live_figures(freshness, filters, ranking, user=viewer, today=today)


def _whole_portfolio_viewer():
    """Someone who sees the whole portfolio (executive, finance or admin), whose live figures every such
    person shares; None before anyone does (nothing to warm for)."""
    wide = Q(is_superuser=True) | Q(groups__name__in=(Role.EXECUTIVE, Role.FINANCE, Role.ADMIN))
    viewer = get_user_model().objects.filter(wide, is_active=True).order_by("pk").first()
    return viewer if viewer is not None and policy.sees_everything(viewer) else None
