"""Who funds what, at /dashboard/funding/ (issue 18): plan and actuals per sponsor, the true-up per quarter.

Thin: the policy decides who may see it (whoever may see the dashboard), the
dashboard's filter form reads the filters, and `dashboard.funding` reads every figure.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.forms import DashboardFilterForm
from dashboard.funding import funding
from dashboard.templatetags.dashboard_format import currency_code
from dashboard.views import months_text
from portfolio import fiscal
from portfolio.policy import can


@require_GET
def funding_view(request: HttpRequest) -> HttpResponse:
    """/dashboard/funding/: who funds what, for executives, finance and admins."""
    if not can(request.user, "dashboard.view"):
        raise PermissionDenied
    requested = DashboardFilterForm(request.GET)
    filters = requested.filters()
    data = funding(filters=filters)
    # Each sponsor drills into the initiative list of the initiatives they sponsor, with the same filters.
    sponsor_tables = [
        {
            "table": table,
            "rows": [{"line": line, "link": filters.initiatives_url(sponsor=line.sponsor_id)} for line in table.lines],
        }
        for table in data.sponsors
    ]
    return render(
        request,
        "dashboard/funding.html",
        {
            "form": requested.displayed(filters),
            "fallback_notices": requested.fallback_notices(),
            "filters": filters,
            "filtered": any((filters.quarter, filters.lane, filters.side, filters.status)),
            "d": data,
            "totals": data.totals,
            "sponsor_tables": sponsor_tables,
            "true_up": data.true_up,
            "true_up_owed": abs(data.true_up.year["total"]),  # the headline says who owes whom in words
            "freshness": data.freshness,
            "may_view_settlements": can(request.user, "settlements.view"),
            "may_view_runs": can(request.user, "split.view"),
            "currency": currency_code(),
            "fiscal_year_label": fiscal.fiscal_year_label(filters.fiscal_year),
            "period_text": months_text(filters.months()),
            "dashboard_link": filters.dashboard_url(),
        },
    )
