"""Is a month locked? The question the initiatives ask of the period locks (PRODUCT.md §2 Period lock).

The locks are budgets' (`budgets.services.locks`), a layer above `initiatives`, which may not
import it: a share change's effective month must never be a locked month, so `initiatives` asks
here and budgets answers, having registered its checker in `BudgetsConfig.ready()`. Like the
policy registry, an unregistered checker is a configuration error, never "nothing is locked".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class LockedMonths(Protocol):
    def __call__(self, months: Iterable[dt.date] | None = None, *, hold: bool = False) -> set[dt.date]: ...


_checker: LockedMonths | None = None


def register(checker: LockedMonths) -> None:
    """Install the one answer to "which of these months are locked?" (budgets, at start-up).

    `checker(months, hold=False)` returns the locked months among `months` (the first day of
    each; all locked months when None). With `hold=True` it is called inside the writing
    transaction and keeps the lock table from changing until commit (on PostgreSQL the shared
    advisory lock of `period_lock_check`), so no month can be locked between the check and the write.
    """
    global _checker
    _checker = checker


def locked_months(months: Iterable[dt.date] | None = None, *, hold: bool = False) -> set[dt.date]:
    """The locked months among `months` (all of them when None), as first days of months."""
    if _checker is None:
        raise ImproperlyConfigured("No period lock checker is registered (is the budgets app installed?).")
    return _checker(months, hold=hold)
