"""Money arithmetic: Decimal only, cents, half away from zero (PRODUCT.md §3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """Round halves away from zero: 0.005 → 0.01 and −0.005 → −0.01 (not banker's rounding)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def spread_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split `total` into `parts` cent amounts that add up to `total` exactly.

    Every part is the floor share; the leftover cents go one each to the first
    parts, so no two parts differ by more than one cent.
    """
    if parts <= 0:
        raise ValueError("parts must be positive")
    cents = int((total / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    if Decimal(cents) * CENT != total:
        raise ValueError(f"{total} has more than two decimal places")
    sign = -1 if cents < 0 else 1
    base, extra = divmod(abs(cents), parts)
    return [sign * Decimal(base + (1 if i < extra else 0)) * CENT for i in range(parts)]
