"""What the finance pages share: the permission check and the fiscal year asked for."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portfolio.fiscal import fiscal_year, fiscal_year_label, parse_fiscal_year
from portfolio.pagination import shown
from portfolio.policy import can


def require(request, action: str, obj=None) -> None:
    if not can(request.user, action, obj):
        raise PermissionDenied


def current_fiscal_year() -> int:
    return fiscal_year(timezone.localdate())


def requested_fiscal_year(request) -> int:
    """`?fiscal_year=FY2027` (or 2027); blank → the current one; anything else → the current one, with a notice."""
    given = request.GET.get("fiscal_year") or ""
    if not given.strip():
        return current_fiscal_year()
    try:
        return parse_fiscal_year(given)
    except ValueError:
        current = current_fiscal_year()
        label = fiscal_year_label(current)
        messages.warning(request, f"“{shown(given)}” is not a fiscal year like FY2027: showing {label}, this year.")
        return current
