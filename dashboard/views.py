"""The joint executive dashboard at /dashboard/ (PRODUCT.md §1, §3).

Thin: the policy decides who may see it, `dashboard.selectors` reads every figure
from the latest split and its history (never recomputing), and this module only
turns the filters into `DashboardFilters` and the figures into chart data.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.figures import ZERO
from dashboard.filters import FORECAST_REPORT_PATH, DashboardFilters
from dashboard.forms import DashboardFilterForm
from dashboard.freshness import STALE_AFTER
from dashboard.outcomes import panel_context
from dashboard.selectors import Dashboard, dashboard
from dashboard.templatetags.dashboard_format import (
    currency_code,
    currency_prefix,
    format_money,
    format_money_short,
    format_percent,
)
from initiatives.choices import Lane, Status
from initiatives.platforms import PlatformRisk, island_share_pct
from portfolio import fiscal
from portfolio.policy import can


def _month_label(month, filters: DashboardFilters) -> str:
    crosses_years = fiscal.fiscal_year_start(filters.fiscal_year).month != 1
    return f"{month:%b}{f' ’{month:%y}' if crosses_years else ''}"


class MonthClick(NamedTuple):
    """What clicking a month of the monthly chart does: its link and tooltip line per quarter, the note under it."""

    link: Callable[[int], str]
    words: Callable[[int], str]
    note: str


def _month_click(filters: DashboardFilters, *, to_report: bool) -> MonthClick:
    """Where clicking a month leads, and the words that say so (tooltip and note), decided in one place.

    Finance gets the split report of the month's quarter. Others first narrow this dashboard
    to the quarter; within a quarter, a click opens the initiative list of that quarter.
    """
    year = fiscal.fiscal_year_label(filters.fiscal_year)
    if to_report:
        return MonthClick(
            lambda quarter: filters.report_url(quarter=quarter),
            lambda quarter: f"Click to download the split report of {year} Q{quarter} (CSV)",
            "Click a month to download the split report of its quarter (CSV).",
        )
    if not filters.quarter:
        return MonthClick(
            lambda quarter: filters.dashboard_url(quarter=quarter),
            lambda quarter: f"Click to show {year} Q{quarter} on this dashboard",
            "Click a month to show its quarter on this dashboard.",
        )
    return MonthClick(
        lambda quarter: filters.initiatives_url(quarter=quarter),
        lambda quarter: f"Click for the initiatives active in {year} Q{quarter}",
        f"Click a month for the initiatives active in {filters.label}.",
    )


def trend_scope(filters: DashboardFilters) -> dict[str, Any] | None:
    """What the share trend covers when the side or status filter cannot apply to it (None when all apply).

    The trend comes from the compact history (lanes × months), which knows neither the
    owner's side nor the status: it then covers every side and status of the period and lane.
    """
    ignored = [name for name, value in (("owner's side", filters.side), ("status", filters.status)) if value]
    if not ignored:
        return None
    lane = f" · {Lane(filters.lane).label.lower()}" if filters.lane else ""
    return {
        "ignored": " and ".join(ignored),
        "scope": f"{filters.label}{lane}, all owners' sides and statuses",
    }


def trend_point_title(point) -> str:
    """`December 2026 · FY2026 month 12 · last recompute of the month: 7 Dec 2026, 02:00 UTC`."""
    month = point.month
    year = fiscal.fiscal_year(month)
    number = fiscal.fiscal_year_months(year).index(month) + 1
    finished = timezone.localtime(point.as_of).strftime("%-d %b %Y, %H:%M %Z")
    return f"{month:%B %Y} · {fiscal.fiscal_year_label(year)} month {number} · last recompute of the month: {finished}"


def chart_data(data: Dashboard, *, to_report: bool) -> dict[str, Any]:
    """What the charts draw, with exact labels for tooltips and a drill-down link per element.

    Numbers for geometry are strings of Decimals (the JSON encoder keeps them exact);
    the tooltips show the same formatted figures as the page, and each link comes with
    the words that say where it leads.
    """
    filters, rollup = data.filters, data.rollup
    year = fiscal.fiscal_year_label(filters.fiscal_year)

    def lane_drill(lane: str, label: str) -> tuple[str, str]:
        # Finance drills into the split report; everyone else into the initiative list.
        if to_report:
            return (
                filters.report_url(lane=lane),
                f"Click to download the split report of the {label.lower()} in {filters.label} (CSV)",
            )
        words = f"Click for the {label.lower()} initiatives active in {filters.label}"
        return filters.initiatives_url(lane=lane), words

    month_click = _month_click(filters, to_report=to_report)
    months = []
    for month, amounts in rollup.by_month:
        quarter = fiscal.fiscal_quarter(month)
        link, link_text = month_click.link(quarter), month_click.words(quarter)
        months.append(
            {
                "label": _month_label(month, filters),
                "title": f"{month:%B %Y} · {year} Q{quarter}",
                "planned_marketing": amounts["planned_marketing"],
                "planned_it": amounts["planned_it"],
                "actual_marketing": amounts["actual_marketing"],
                "actual_it": amounts["actual_it"],
                "text": {
                    "planned_marketing": format_money(amounts["planned_marketing"]),
                    "planned_it": format_money(amounts["planned_it"]),
                    "planned_total": format_money(amounts["planned_total"]),
                    "actual_marketing": format_money(amounts["actual_marketing"]),
                    "actual_it": format_money(amounts["actual_it"]),
                    "actual_total": format_money(amounts["actual_total"]),
                    "variance": format_money(amounts["variance"], signed=True),
                },
                "link": link,
                "link_text": link_text,
            }
        )
    lanes = []
    for lane, label in Lane.choices:
        if filters.lane and filters.lane != lane:
            continue
        link, link_text = lane_drill(lane, label)
        lanes.append(
            {
                "key": lane,
                "name": label,
                "actual": rollup.by_lane[lane]["actual_total"],
                "planned": rollup.by_lane[lane]["planned_total"],
                "text": format_money(rollup.by_lane[lane]["actual_total"]),
                "short": format_money_short(rollup.by_lane[lane]["actual_total"]),
                "planned_text": format_money(rollup.by_lane[lane]["planned_total"]),
                "share": format_percent(rollup.lane_share(lane)),
                "link": link,
                "link_text": link_text,
            }
        )
    trend = [
        {
            "label": f"{point.month:%b %Y}",
            "title": trend_point_title(point),
            "share": point.marketing_share,
            "text": format_percent(point.marketing_share),
            "detail": f"{format_money(point.actual_marketing)} of {format_money(point.actual_total)}",
        }
        for point in data.trend
    ]
    variances = [
        {
            "code": row["code"],
            "name": f"{row['code']} · {row['title']}",
            "variance": row["variance"],
            "text": format_money(row["variance"], signed=True),
            "short": format_money_short(row["variance"], signed=True),
            # The same variance (planned − actual) as the at-risk table's, in words.
            "gap_text": (
                f"Over plan by {format_money(-row['variance'])}"
                if row["variance"] < 0
                else f"Under plan by {format_money(row['variance'])}"
            ),
            "planned": format_money(row["planned"]),
            "actual": format_money(row["actual"]),
            "link": reverse("initiatives:detail", args=[row["code"]]),
        }
        for row in data.variances
    ]
    scope = trend_scope(filters)
    return {
        "currency": currency_code(),
        "currency_prefix": currency_prefix(),
        "months": months,
        "lanes": lanes,
        "lanes_total": format_money_short(sum((rollup.by_lane[lane["key"]]["actual_total"] for lane in lanes), ZERO)),
        "lanes_total_exact": format_money(sum((rollup.by_lane[lane["key"]]["actual_total"] for lane in lanes), ZERO)),
        "trend": trend,
        "trend_link": reverse("split:runs"),
        "trend_scope": scope["scope"] if scope else "",
        "variances": variances,
    }


def months_text(months: list) -> str:
    """`January – December 2026`, `November 2026 – March 2027`, `January 2026`; '' for no month."""
    if not months:
        return ""
    first, last = months[0], months[-1]
    if first == last:
        return f"{first:%B %Y}"
    if first.year == last.year:
        return f"{first:%B} – {last:%B %Y}"
    return f"{first:%B %Y} – {last:%B %Y}"


def _period_text(filters: DashboardFilters) -> str:
    """`January – December 2026`, or a quarter's months."""
    return months_text(filters.months())


def forecast_rows(data: Dashboard) -> list[dict[str, Any]]:
    """The forecast table: marketing's and IT's parts, each lane the filters show, and the total.

    Every figure is a sum of the split rows' columns (plan, actual, forecast); the variance at
    completion is plan − forecast, as in the forecast report.
    """
    filters, rollup = data.filters, data.rollup
    totals = rollup.totals

    def row(label: str, amounts: dict[str, Decimal], part: str = "total", **extra: Any) -> dict[str, Any]:
        planned, actual, forecast = (amounts[f"{column}_{part}"] for column in ("planned", "actual", "forecast"))
        return {
            "label": label,
            "planned": planned,
            "actual": actual,
            "forecast": forecast,
            "variance_at_completion": planned - forecast,
            **extra,
        }

    rows = [
        row("Marketing's part", totals, "marketing", kind="side", side="marketing"),
        row("IT's part", totals, "it", kind="side", side="it"),
    ]
    for lane, label in Lane.choices:
        if not filters.lane or filters.lane == lane:
            link = filters.initiatives_url(lane=lane)
            rows.append(row(label, rollup.by_lane[lane], kind="lane", lane=lane, link=link))
    rows.append(row("All initiatives shown", totals, kind="total"))
    return rows


def _to_date_text(data) -> str:
    """`January – November 2026, through November 2026, the month of the figures` — the clause only when
    the period runs on past it (a past quarter or year is wholly to date)."""
    months = data.plan_to_date.months
    text = months_text(months)
    if months and data.freshness.as_of is not None:
        as_of_month = timezone.localtime(data.freshness.as_of).date().replace(day=1)
        if months[-1] == as_of_month and data.filters.months()[-1] > as_of_month:
            text += f", through {as_of_month:%B %Y}, the month of the figures"
    return text


def _forecast_basis(freshness) -> str:
    """How the forecast counts months, as of the run that wrote it (its month is the "current" one)."""
    if freshness.as_of is None:
        return ""
    month = timezone.localtime(freshness.as_of).date().replace(day=1)
    return (
        f"Months before {month:%B %Y} count their actuals; {month:%B %Y} and later count the larger of plan "
        "and actual. Each month's parts at its co-funding share, as of the latest recompute."
    )


def overspend_text(filters: DashboardFilters, today) -> str:
    """The months the overspend rule sums, in words: `FY2026 Q4 to date (October – December 2026)`."""
    window = filters.overspend_months(today)
    if window is None:
        return f"{filters.label} (not begun yet)"
    first, last = window
    months = [month for month in filters.months() if first <= month <= last]
    whole = "" if last == filters.months()[-1] else " to date"
    return f"{filters.label}{whole} ({months_text(months)})"


def _status_links(data: Dashboard) -> list[dict[str, Any]]:
    return [
        {
            "status": status,
            "label": label,
            "count": data.counts.by_status.get(status, 0),
            "link": data.filters.initiatives_url(status=status),
        }
        for status, label in Status.choices
        if not data.filters.status or data.filters.status == status
    ]


def _platform_risk_rows(data: Dashboard) -> list[dict[str, Any]]:
    """The platform-risk card's causes: count and the initiative list filtered to that cause."""
    return [
        {
            "cause": cause,
            "label": label,
            "count": data.platform_map.by_cause.get(cause, 0),
            "link": data.filters.initiatives_url(platform_risk=cause),
        }
        for cause, label in PlatformRisk.choices
    ]


def _platform_card_scope(filters: DashboardFilters) -> str:
    """Which dashboard filters the platform-risk, map and islands cards apply (they count initiatives, not spend)."""
    applied = [f"active in {filters.label}"]
    if filters.status:
        applied.append(Status(filters.status).label.lower())
    if filters.side:
        applied.append(f"{'IT' if filters.side == 'it' else 'marketing'}-owned")
    text = f"Fast-lane initiatives {', '.join(applied)}"
    if filters.lane == Lane.CORE_STACK:
        text += "; core-stack initiatives rest on no platform and are never islands: choose the fast lane or both lanes"
    return text + "."


@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """/dashboard/: headline figures, charts and action lists for executives, finance and admins."""
    if not can(request.user, "dashboard.view"):
        raise PermissionDenied
    requested = DashboardFilterForm(request.GET)
    filters = requested.filters()
    data = dashboard(user=request.user, filters=filters)
    may_export = can(request.user, "reports.export")  # finance and executives: the download links
    # Finance, who keeps the books, drills from a figure into its split rows; everyone else (executives
    # too, who may download the reports) into the initiative list, which a click opens in the browser.
    to_report = may_export and can(request.user, "budgets.manage")
    filtered = any((filters.quarter, filters.lane, filters.side, filters.status))
    scope = trend_scope(filters)
    rows_link = filters.report_url() if to_report else filters.initiatives_url()
    links = {
        "rows": rows_link,
        "initiatives": filters.initiatives_url(),
        "red": filters.initiatives_url(health="red"),
        "fast_lane": filters.initiatives_url(lane=Lane.FAST_LANE),
        "core_stack": filters.initiatives_url(lane=Lane.CORE_STACK),
        "report": filters.report_url(),
        "forecast_report": filters.report_url(path=FORECAST_REPORT_PATH),
        "platform_risk": filters.initiatives_url(platform_risk=1),
        "islands": filters.initiatives_url(digital_island=1),
    }
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "form": requested.displayed(filters),
            "fallback_notices": requested.fallback_notices(),
            "trend_scope": scope,
            "trend_latest": format_percent(data.trend[-1].marketing_share) if data.trend else None,
            "month_click_note": _month_click(filters, to_report=to_report).note,
            "d": data,
            "filters": filters,
            "filtered": filtered,
            "rollup": data.rollup,
            "true_up": data.true_up,
            "true_up_owed": abs(data.true_up.get("total") or ZERO),
            "overspend_text": overspend_text(filters, timezone.localdate()),
            "may_view_settlements": can(request.user, "settlements.view"),
            "counts": data.counts,
            "freshness": data.freshness,
            "status_links": _status_links(data),
            "charts": chart_data(data, to_report=to_report),
            "links": links,
            "may_export": may_export,
            "may_recompute": can(request.user, "split.recompute"),
            "may_view_runs": can(request.user, "split.view"),
            "currency": currency_code(),
            "stale_hours": int(STALE_AFTER.total_seconds() // 3600),
            "overspend_pct": settings.OVERSPEND_ALERT_PCT,
            "fiscal_year_label": fiscal.fiscal_year_label(filters.fiscal_year),
            "period_text": _period_text(filters),
            "to_date": data.plan_to_date,
            "to_date_text": _to_date_text(data),
            "forecast_rows": forecast_rows(data),
            "forecast_title": f"{'Forecast for' if filters.quarter else 'Year-end forecast'} {filters.label}",
            "forecast_basis": _forecast_basis(data.freshness),
            "platform_risk_rows": _platform_risk_rows(data),
            "platform_risk": data.platform_map.at_risk,
            "platforms_at_risk": [platform for platform in data.platforms if platform["risky"]],
            "platform_carriers": [platform for platform in data.platforms if not platform["risky"]],
            "platform_card_scope": _platform_card_scope(filters),
            "island_share_pct": island_share_pct(),
            "outcomes": panel_context(data.outcomes, filters, may_report=can(request.user, "outcomes.report")),
        },
    )
