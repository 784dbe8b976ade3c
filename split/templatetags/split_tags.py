"""Panels of the split that other apps' pages include (the initiative page's budget-and-actuals card).

A template tag rather than an import keeps the layering: `initiatives` knows nothing of the
split engine above it; its page asks for the panel by name.
"""

from __future__ import annotations

from django import template
from django.conf import settings

from portfolio.policy import can
from split.selectors import initiative_split

register = template.Library()


@register.inclusion_tag("split/_initiative_card.html", takes_context=True)
def initiative_split_card(context, initiative, budget_grid_year: str = "") -> dict:
    """`{% initiative_split_card initiative year %}`: the card, for those who may see the initiative's finances."""
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = can(user, "initiative.view_finances", initiative)
    return {
        "allowed": allowed,
        "finance": initiative_split(initiative_code=initiative.code) if allowed else None,
        "initiative": initiative,
        "reporting_currency": settings.REPORTING_CURRENCY,
        "budget_grid_year": budget_grid_year,
        "request": request,
    }
