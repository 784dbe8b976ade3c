"""Template helpers of the finance pages: policy questions, money formatting, the history include."""

from __future__ import annotations

from decimal import Decimal

from django import template

from portfolio.policy import can

register = template.Library()


@register.simple_tag(takes_context=True)
def policy_can(context, action: str, obj=None) -> bool:
    """`{% policy_can "budgets.manage" as may_budget %}`: ask the one policy from a template."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return can(user, action, obj)


@register.filter
def money(value) -> str:
    """`1234.5` → `1,234.50`; blank for None."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):,.2f}"


@register.filter
def signed_class(value) -> str:
    """A text colour for a variance: red when negative (overspent)."""
    try:
        return "text-danger" if Decimal(value) < 0 else ""
    except (ArithmeticError, TypeError, ValueError):
        return ""


@register.inclusion_tag("budgets/_initiative_finance_history.html", takes_context=True)
def initiative_finance_history(context, initiative, limit: int = 25) -> dict:
    """`{% initiative_finance_history initiative %}`: the history card, shown only to those allowed."""
    from budgets.selectors import initiative_finance_history as select_history

    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = can(user, "initiative.view_finances", initiative)
    entries = select_history(initiative, limit=limit) if allowed else []
    return {
        "entries": entries,
        "allowed": allowed,
        "initiative": initiative,
        "request": request,
        "may_audit": can(user, "audit.view"),  # the full history is the (finance) audit log
        "omit_field": "initiative",  # the page is the initiative's own
    }
