"""The roadmap: a page of initiatives as bars on a month axis, in two swim-lanes, with their platforms.

The window is a span of whole months: the fiscal year the list is filtered to ("Active in"), else
the span of the page's own initiatives. Each bar's left edge and width are percentages of the
window (a day is 1 / days-in-window of it), clipped to the window, so the page draws them with no
script. The initiatives are the list's (same visibility, same FilterSet): the view pages them and
this module reads one page in two queries (the page's rows, the platforms they build on).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch, QuerySet
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portfolio import fiscal

from .choices import Lane
from .models import Initiative
from .rules import visible_initiatives

ROADMAP_PAGE_SIZE = 50
DEFAULT_SORT = "start"  # the list's sort key for start_date (then id): a timeline reads in time order
ROW_FIELDS = ("id", "code", "title", "lane", "status", "health", "start_date", "end_date")
PLATFORM_FIELDS = ("id", "code", "title", "lane", "status", "health", "end_date")
HUNDRED = Decimal(100)
COMPACT_TICKS = 6


def _day(day: dt.date) -> str:
    return f"{fiscal.MONTH_NAMES[day.month - 1][:3]} {day.day}, {day.year}"


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Tick:
    month: dt.date
    left: Decimal  # % of the window
    label: str
    compact: bool  # labelled on a phone too (at most COMPACT_TICKS of them)


@dataclass(frozen=True)
class Window:
    """Whole months from `first` (a first day) to `last` (a last day), both included."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def offset(self, day: dt.date) -> Decimal:
        """Where `day` begins, in % of the window (0 at `first`, 100 the day after `last`), clamped."""
        clamped = min(max(day, self.first), self.last + dt.timedelta(days=1))
        return _percent((clamped - self.first).days, self.days)

    def months(self) -> list[dt.date]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = fiscal.add_months(month, 1)
        return months

    def ticks(self) -> list[Tick]:
        """A tick per month; beyond 18 months only the quarters' first months, beyond 48 only the years'.

        On a phone only some are labelled (`compact`): the quarters' first months of a window of a year at
        most, else the years' (fiscal), at most COMPACT_TICKS of them.
        """
        months = self.months()
        start_month = fiscal.fiscal_year_start(fiscal.fiscal_year(self.first)).month
        ticks, compact = [], []
        for month in months:
            quarter_start = (month.month - start_month) % 3 == 0
            year_start = month.month == start_month
            if (len(months) > 48 and not year_start) or (len(months) > 18 and not quarter_start):
                continue
            label = month.strftime("%b %Y") if month.month == 1 or month == self.first else month.strftime("%b")
            ticks.append(Tick(month=month, left=self.offset(month), label=label, compact=False))
            if year_start or (quarter_start and len(months) <= 12):
                compact.append(month)
        stride = max(1, -(-len(compact) // COMPACT_TICKS))
        shown = set(compact[::stride])
        return [replace(tick, compact=tick.month in shown) for tick in ticks]

    @property
    def label(self) -> str:
        return f"{fiscal.month_label(self.first)} – {fiscal.month_label(self.last.replace(day=1))}"


def fiscal_year_window(year: int) -> Window:
    first, last = fiscal.fiscal_year_bounds(year)
    return Window(first=first, last=last)


def span_window(initiatives: Sequence[Initiative], *, today: dt.date) -> Window:
    """The whole months from the earliest start to the latest end of `initiatives` (this month if none)."""
    if not initiatives:
        first = fiscal.month_start(today)
        return Window(first=first, last=fiscal.add_months(first, 1) - dt.timedelta(days=1))
    first = fiscal.month_start(min(initiative.start_date for initiative in initiatives))
    last_month = fiscal.month_start(max(initiative.end_date for initiative in initiatives))
    return Window(first=first, last=fiscal.add_months(last_month, 1) - dt.timedelta(days=1))


def track_lines(ticks: Sequence[Tick], today: Decimal | None) -> SafeString:
    """The SVG lines every track of the page repeats (a month or quarter gridline per tick, today dashed):
    made once per page rather than per row."""
    lines = format_html_join(
        "", '<line class="rm-grid" x1="{0}%" x2="{0}%" y1="0" y2="100%"/>', ((f"{tick.left:.2f}",) for tick in ticks)
    )
    if today is None:
        return lines
    return lines + format_html('<line class="rm-today" x1="{0}%" x2="{0}%" y1="0" y2="100%"/>', f"{today:.2f}")


@dataclass(frozen=True)
class Bar:
    initiative: Initiative
    left: Decimal  # % of the window
    width: Decimal  # % of the window
    starts_before: bool  # began before the window: the bar is cut at its left edge
    ends_after: bool  # ends after the window
    outside: bool  # no day of it in the window
    platforms: list[Initiative] = field(default_factory=list)  # what it builds on that the user may see

    @property
    def dates(self) -> str:
        """`Jun 24, 2024 – Dec 24, 2025` (formatted here once rather than three times in the template)."""
        return f"{_day(self.initiative.start_date)} – {_day(self.initiative.end_date)}"

    @property
    def x(self) -> str:
        return f"{self.left:.2f}"

    @property
    def w(self) -> str:
        return f"{self.width:.2f}"


def bar(initiative: Initiative, window: Window, platforms: Iterable[Initiative] = ()) -> Bar:
    left = window.offset(initiative.start_date)
    right = window.offset(initiative.end_date + dt.timedelta(days=1))
    return Bar(
        initiative=initiative,
        left=left,
        width=right - left,
        starts_before=initiative.start_date < window.first,
        ends_after=initiative.end_date > window.last,
        outside=initiative.end_date < window.first or initiative.start_date > window.last,
        platforms=list(platforms),
    )


@dataclass(frozen=True)
class SwimLane:
    lane: str
    label: str
    bars: list[Bar]


def page_rows(queryset: QuerySet[Initiative], *, user) -> QuerySet[Initiative]:
    """The columns a roadmap row draws, with the platforms each builds on that `user` may see (one more query)."""
    platforms = visible_initiatives(user, Initiative.objects.only(*PLATFORM_FIELDS)).order_by("id")
    return queryset.only(*ROW_FIELDS).prefetch_related(
        Prefetch("platforms", queryset=platforms, to_attr="shown_platforms")
    )


def swim_lanes(initiatives: Sequence[Initiative], window: Window) -> list[SwimLane]:
    """Fast lane, then core stack, each with its bars in the page's order."""
    return [
        SwimLane(
            lane=value,
            label=label,
            bars=[
                bar(initiative, window, getattr(initiative, "shown_platforms", ()))
                for initiative in initiatives
                if initiative.lane == value
            ],
        )
        for value, label in Lane.choices
    ]
