"""Who may see and settle the true-up (PRODUCT.md §3 "True-up settlement"): finance creates and
reverses settlements; executives (and finance, and the admin role, who see everything) read them.

`register()` hands the rules to `portfolio.policy` when the app is ready (SplitConfig.ready), so the
settlement pages and `/api/settlements/` keep asking `policy.can(user, "settlements.manage")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portfolio import policy
from portfolio.policy import is_finance, sees_everything

GLOBAL_RULES: dict[str, Callable[[Any], bool]] = {
    "settlements.view": sees_everything,
    "settlements.manage": is_finance,
}


def register() -> None:
    """Hand the rules to the policy (SplitConfig.ready)."""
    policy.register(GLOBAL_RULES)
