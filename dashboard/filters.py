"""The dashboard's filters (PRODUCT.md §1): fiscal year, quarter, lane, status and the owner's side.

The filters are those of the split export (fiscal year, quarter, lane, status) plus
`side`: the side (marketing or IT) of the product manager who owns the initiative,
as in the initiative list's "Owner's side" filter, so that a drill-down link shows
the same initiatives. Marketing's and IT's shares of those initiatives still both
show: the side picks initiatives, not halves of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import (
    QuerySet,
)

from initiatives.models import Initiative
from initiatives.rules import visible_initiatives
from portfolio import fiscal
from split.models import SplitRow
from split.selectors import SplitFilters, split_rows

SPLIT_REPORT_PATH = "/reports/split.csv"
FORECAST_REPORT_PATH = "/reports/forecast.csv"  # PRODUCT.md §4: the same filters as the split report
INITIATIVE_LIST_PATH = "/initiatives/"
DASHBOARD_PATH = "/dashboard/"
FUNDING_PATH = "/dashboard/funding/"


@dataclass(frozen=True)
class DashboardFilters:
    """The dashboard's filters; `fiscal_year` is always set (default: the current one)."""

    fiscal_year: int
    quarter: int | None = None
    lane: str | None = None
    status: str | None = None
    side: str | None = None  # the owner's side: marketing or it

    def split_filters(self) -> SplitFilters:
        return SplitFilters(fiscal_year=self.fiscal_year, quarter=self.quarter, lane=self.lane, status=self.status)

    @property
    def label(self) -> str:
        text = fiscal.fiscal_year_label(self.fiscal_year)
        return f"{text} Q{self.quarter}" if self.quarter else text

    def months(self) -> list[dt.date]:
        """The calendar months the filters cover, in order."""
        if self.quarter:
            return fiscal.fiscal_quarter_months(self.fiscal_year, self.quarter)
        return fiscal.fiscal_year_months(self.fiscal_year)

    def ytd_last_month(self, today: dt.date) -> dt.date | None:
        """The last month of the fiscal year to date: today's month, the year's end, or None (a future year)."""
        months = fiscal.fiscal_year_months(self.fiscal_year)
        current = fiscal.month_start(today)
        if current < months[0]:
            return None
        return min(current, months[-1])

    def overspend_months(self, today: dt.date) -> tuple[dt.date, dt.date] | None:
        """The months the overspend rule sums (first, last): the period to date.

        The fiscal year to date, or with a quarter the quarter to date: from the period's first
        month up to today's month (a whole past period; None for a period not begun yet).
        """
        months = self.months()
        current = fiscal.month_start(today)
        if current < months[0]:
            return None
        return months[0], min(current, months[-1])

    # Drill-down links use the exact query parameter names of the pages they open.

    def report_url(self, path: str = SPLIT_REPORT_PATH, **changes: Any) -> str:
        """The split report (or the forecast report at `path`) with these filters (PRODUCT.md §4 parameter names)."""
        params = {
            "fiscal_year": fiscal.fiscal_year_label(self.fiscal_year),
            "quarter": self.quarter,
            "lane": self.lane,
            "status": self.status,
        }
        params.update(changes)
        return _url(path, params)

    def initiatives_url(self, **changes: Any) -> str:
        """The initiative list with these filters (initiatives/filtersets.py parameter names)."""
        params = {
            "fiscal_year": self.fiscal_year,
            "quarter": self.quarter,
            "lane": self.lane,
            "status": self.status,
            "side": self.side,
        }
        params.update(changes)
        return _url(INITIATIVE_LIST_PATH, params)

    def dashboard_url(self, **changes: Any) -> str:
        """This dashboard with these filters (its parameter names are the fields' names)."""
        return _url(DASHBOARD_PATH, {**asdict(self), **changes})

    def funding_url(self, **changes: Any) -> str:
        """Who funds what (its filters are the dashboard's) with these filters."""
        return _url(FUNDING_PATH, {**asdict(self), **changes})

    @property
    def cache_key(self) -> str:
        return f"{self.fiscal_year}:{self.quarter or ''}:{self.lane or ''}:{self.status or ''}:{self.side or ''}"

    def initiative_params(self) -> dict[str, str]:
        """The filters as the initiative list's FilterSet reads them."""
        params = {
            "fiscal_year": str(self.fiscal_year),
            "quarter": str(self.quarter) if self.quarter else None,
            "lane": self.lane,
            "status": self.status,
            "side": self.side,
        }
        return {key: value for key, value in params.items() if value}


def _url(path: str, params: dict[str, Any]) -> str:
    query = urlencode({key: value for key, value in params.items() if value not in (None, "")})
    return f"{path}?{query}" if query else path


def split_queryset(filters: DashboardFilters) -> QuerySet[SplitRow]:
    """The split rows the filters cover (latest recompute), unordered for aggregation."""
    queryset = split_rows(filters.split_filters()).order_by()
    if filters.side:
        queryset = queryset.filter(initiative__owner__profile__side=filters.side)
    return queryset


# Inside `initiatives_filtered_once()`: the querysets `filtered_initiatives` built, by filters and user.
_FILTERED: ContextVar[dict | None] = ContextVar("dashboard_filtered_initiatives", default=None)


@contextmanager
def initiatives_filtered_once() -> Iterator[None]:
    """Within the block, `filtered_initiatives` builds the initiative list's FilterSet once per filters and
    user, and hands out copies of its queryset (the live figures ask three times; building it is most of
    their Python time)."""
    token = _FILTERED.set({})
    try:
        yield
    finally:
        _FILTERED.reset(token)


def filtered_initiatives(filters: DashboardFilters, user) -> QuerySet[Initiative]:
    """The initiatives the filters cover, exactly as the initiative list filters them (one FilterSet)."""
    from initiatives.filtersets import InitiativeFilterSet

    built = _FILTERED.get()
    key = (filters, getattr(user, "pk", None))
    if built is not None and key in built:
        return built[key].all()  # a copy: the kept queryset is never evaluated
    visible = visible_initiatives(user, Initiative.objects.all())
    queryset = InitiativeFilterSet(filters.initiative_params(), queryset=visible).qs.order_by()
    if built is not None:
        built[key] = queryset
        return queryset.all()
    return queryset
