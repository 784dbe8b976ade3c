"""An initiative's estimate at completion: the question the initiatives ask of the spend split (PRODUCT.md §3).

The split rows are split's (a layer above `initiatives`, which may not import it): the estimate at
completion is the sum of `forecast_total` over all of an initiative's split rows, so `initiatives`
asks here and split answers, having registered its function in `SplitConfig.ready()` (like
`portfolio.periods`). An unregistered provider is a configuration error, never "zero".
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class EstimatesAtCompletion(Protocol):
    def __call__(self, initiative_ids: Iterable[int]) -> dict[int, Decimal]: ...


_provider: EstimatesAtCompletion | None = None


def register(provider: EstimatesAtCompletion) -> None:
    """Install the one answer to "what will these initiatives have cost when done?" (split, at start-up).

    `provider(initiative_ids)` returns {initiative id: sum of its split rows' forecast_total} in one
    query; an initiative without split rows is 0.00.
    """
    global _provider
    _provider = provider


def estimates_at_completion(initiative_ids: Iterable[int]) -> dict[int, Decimal]:
    """{initiative id: estimate at completion} for every id given (0.00 when it has no split row)."""
    if _provider is None:
        raise ImproperlyConfigured("No estimate-at-completion provider is registered (is the split app installed?).")
    return _provider(initiative_ids)
