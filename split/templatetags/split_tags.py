"""Panels of the split that other apps' pages include (the initiative page's budget-and-actuals card,
with the estimate at completion beside the estimate and the plan; the lock page's frozen totals of
each closed month).

A template tag rather than an import keeps the layering: `initiatives` knows nothing of the
split engine above it; its page asks for the panel by name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings
from django.utils import timezone

from portfolio.fiscal import fiscal_year, fiscal_year_months
from portfolio.policy import can
from split.models import ClosedMonth
from split.selectors import InitiativeSplit, initiative_split

register = template.Library()


@register.inclusion_tag("split/_initiative_card.html", takes_context=True)
def initiative_split_card(context, initiative, budget_grid_year: str = "") -> dict:
    """`{% initiative_split_card initiative year %}`: the card, for those who may see the initiative's finances."""
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = can(user, "initiative.view_finances", initiative)
    finance = initiative_split(initiative_code=initiative.code) if allowed else None
    return {
        "allowed": allowed,
        "finance": finance,
        "completion": completion_figures(finance, initiative.estimated_cost) if finance else None,
        "initiative": initiative,
        "reporting_currency": settings.REPORTING_CURRENCY,
        "budget_grid_year": budget_grid_year,
        "request": request,
    }


def completion_figures(finance: InitiativeSplit, estimated_cost: Decimal | None) -> dict[str, Any]:
    """The estimate at completion (§3: the sum of the initiative's rows' `forecast_total`) beside the
    estimate and the plan, with the gaps between them, and the month the forecast counts from."""
    at_completion = finance.forecast_total
    over_estimate = at_completion - estimated_cost if estimated_cost is not None else None
    return {
        "estimated_cost": estimated_cost,
        "planned": finance.planned_total,
        "at_completion": at_completion,
        # §4's sign: plan − forecast, negative when the forecast runs over the plan.
        "variance_at_completion": finance.planned_total - at_completion,
        "plan_gap": abs(finance.planned_total - at_completion),
        # Above zero: the forecast runs over what the PM estimated.
        "over_estimate": over_estimate,
        "estimate_gap": abs(over_estimate) if over_estimate is not None else None,
        "as_of_month": timezone.localtime(finance.as_of).date().replace(day=1) if finance.as_of else None,
    }


@register.inclusion_tag("split/_closed_month_totals.html", takes_context=True)
def closed_month_totals(context, month) -> dict:
    """`{% closed_month_totals tile.month %}`: a locked month's frozen split totals, for the lock page.

    The closed months of the month's fiscal year are read once per page (one query), not once per tile.
    """
    by_year = context.render_context.setdefault("split_closed_months", {})
    year = fiscal_year(month)
    if year not in by_year:
        months = fiscal_year_months(year)
        by_year[year] = {c.month: c for c in ClosedMonth.objects.filter(month__in=months).select_related("frozen_by")}
    closed = by_year[year].get(month)
    return {
        "closed": closed,
        "actual_it": closed.actual_total - closed.actual_marketing if closed else None,
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
