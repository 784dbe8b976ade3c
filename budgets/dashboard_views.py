"""The joint executive dashboard at /dashboard/ (PRODUCT.md §1, §3).

Thin: the policy decides who may see it, `budgets.dashboard` reads every figure
from the latest split and its history (never recomputing), and this module only
turns the filters into `DashboardFilters` and the figures into chart data.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from initiatives.choices import Lane, Side, Status
from initiatives.filtersets import fiscal_year_choices
from portfolio import fiscal
from portfolio.policy import can

from .dashboard import STALE_AFTER, ZERO, Dashboard, DashboardFilters, dashboard
from .templatetags.dashboard_format import currency_code, format_money, format_percent

QUARTER_CHOICES = [("", "Whole year"), *((str(q), f"Q{q}") for q in range(1, 5))]


def _fiscal_year_param(value: str | None, current_year: int) -> str:
    """`FY2026` or `2026` → "2026" (as the export accepts both); blank → the current year.

    Anything else is passed on for the field to refuse in plain words.
    """
    if not value:
        return str(current_year)
    try:
        return str(fiscal.parse_fiscal_year(value))
    except ValueError:
        return value


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, as GET parameters with the split export's names plus `side`."""

    fiscal_year = forms.TypedChoiceField(label="Fiscal year", coerce=int, choices=())
    quarter = forms.TypedChoiceField(label="Quarter", coerce=int, choices=QUARTER_CHOICES, required=False)
    lane = forms.ChoiceField(label="Lane", choices=[("", "Both lanes"), *Lane.choices], required=False)
    side = forms.ChoiceField(label="Owner's side", choices=[("", "Both sides"), *Side.choices], required=False)
    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *Status.choices], required=False)

    def __init__(self, data=None, **kwargs):
        self.current_year = fiscal.fiscal_year(timezone.localdate())
        if data is not None:
            data = data.copy()
            data["fiscal_year"] = _fiscal_year_param(data.get("fiscal_year"), self.current_year)
            data["quarter"] = (data.get("quarter") or "").strip().upper().removeprefix("Q")
        super().__init__(data, **kwargs)
        self.fields["fiscal_year"].choices = fiscal_year_choices()
        self.fields["fiscal_year"].initial = self.current_year
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def filters(self) -> DashboardFilters:
        """The valid filters; a field with an error falls back to its default (the error shows under it)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return DashboardFilters(
            fiscal_year=cleaned.get("fiscal_year") or self.current_year,
            quarter=cleaned.get("quarter") or None,
            lane=cleaned.get("lane") or None,
            side=cleaned.get("side") or None,
            status=cleaned.get("status") or None,
        )


def _month_label(month, filters: DashboardFilters) -> str:
    crosses_years = fiscal.fiscal_year_start(filters.fiscal_year).month != 1
    return f"{month:%b}{f' ’{month:%y}' if crosses_years else ''}"


def chart_data(data: Dashboard, *, may_export: bool) -> dict[str, Any]:
    """What the charts draw, with exact labels for tooltips and a drill-down link per element.

    Numbers for geometry are strings of Decimals (the JSON encoder keeps them exact);
    the tooltips show the same formatted figures as the page.
    """
    filters, rollup = data.filters, data.rollup

    def rows_link(**changes) -> str:
        # Finance drills into the split report; everyone else into the initiative list.
        if may_export:
            return filters.report_url(**changes)
        changes.pop("quarter", None)
        return filters.initiatives_url(**changes)

    months = []
    for month, amounts in rollup.by_month:
        quarter = fiscal.fiscal_quarter(month)
        months.append(
            {
                "label": _month_label(month, filters),
                "title": f"{month:%B %Y} · {fiscal.fiscal_year_label(filters.fiscal_year)} Q{quarter}",
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
                "link": rows_link(quarter=quarter),
            }
        )
    lanes = [
        {
            "key": lane,
            "name": label,
            "actual": rollup.by_lane[lane]["actual_total"],
            "planned": rollup.by_lane[lane]["planned_total"],
            "text": format_money(rollup.by_lane[lane]["actual_total"]),
            "planned_text": format_money(rollup.by_lane[lane]["planned_total"]),
            "share": format_percent(rollup.lane_share(lane)),
            "link": rows_link(lane=lane),
        }
        for lane, label in Lane.choices
        if not filters.lane or filters.lane == lane
    ]
    trend = [
        {
            "label": timezone.localtime(point.as_of).strftime("%-d %b"),
            "title": timezone.localtime(point.as_of).strftime("%-d %b %Y, %H:%M %Z"),
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
            "planned": format_money(row["planned"]),
            "actual": format_money(row["actual"]),
            "link": reverse("initiatives:detail", args=[row["code"]]),
        }
        for row in data.variances
    ]
    return {
        "currency": currency_code(),
        "months": months,
        "lanes": lanes,
        "lanes_total": format_money(sum((rollup.by_lane[lane["key"]]["actual_total"] for lane in lanes), ZERO)),
        "trend": trend,
        "trend_link": reverse("split:runs"),
        "variances": variances,
        "drill_target": "the split report" if may_export else "the initiative list",
    }


def _period_text(filters: DashboardFilters) -> str:
    """`January – December 2026`, or a quarter's months."""
    months = filters.months()
    first, last = months[0], months[-1]
    if first.year == last.year:
        return f"{first:%B} – {last:%B %Y}"
    return f"{first:%B %Y} – {last:%B %Y}"


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


@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """/dashboard/: headline figures, charts and action lists for executives, finance and admins."""
    if not can(request.user, "dashboard.view"):
        raise PermissionDenied
    form = DashboardFilterForm(request.GET)
    filters = form.filters()
    data = dashboard(user=request.user, filters=filters)
    may_export = can(request.user, "reports.export")
    filtered = any((filters.quarter, filters.lane, filters.side, filters.status))
    rows_link = filters.report_url() if may_export else filters.initiatives_url()
    links = {
        "rows": rows_link,
        "initiatives": filters.initiatives_url(),
        "red": filters.initiatives_url(health="red"),
        "fast_lane": filters.initiatives_url(lane=Lane.FAST_LANE),
        "core_stack": filters.initiatives_url(lane=Lane.CORE_STACK),
        "report": filters.report_url(),
    }
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "form": form,
            "d": data,
            "filters": filters,
            "filtered": filtered,
            "rollup": data.rollup,
            "counts": data.counts,
            "freshness": data.freshness,
            "status_links": _status_links(data),
            "charts": chart_data(data, may_export=may_export),
            "links": links,
            "may_export": may_export,
            "may_recompute": can(request.user, "split.recompute"),
            "may_view_runs": can(request.user, "split.view"),
            "currency": currency_code(),
            "stale_hours": int(STALE_AFTER.total_seconds() // 3600),
            "overspend_pct": settings.OVERSPEND_ALERT_PCT,
            "fiscal_year_label": fiscal.fiscal_year_label(filters.fiscal_year),
            "period_text": _period_text(filters),
        },
    )
