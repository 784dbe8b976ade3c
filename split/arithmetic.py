"""The arithmetic of the spend split (PRODUCT.md §3), in one screen.

Per initiative and month, with `s = marketing_share_pct / 100`:

    planned_marketing = round_half_up(planned_total × s, 2)    planned_it = planned_total − planned_marketing
    actual_marketing  = round_half_up(actual_total × s, 2)     actual_it  = actual_total − actual_marketing
    true_up  = actual_marketing − paid_marketing   (positive: marketing owes IT; negative: IT owes marketing)
    variance = planned_total − actual_total

Only the marketing part is rounded; IT gets the remainder, so marketing + IT equals
the total exactly in every row and therefore in every roll-up. This module and its
one SQL twin (`split.rebuild.SPLIT_AMOUNTS_SQL`, PostgreSQL's `round(numeric, 2)`,
which also rounds halves away from zero) are the only places the parts are derived;
tests/split/test_split_arithmetic.py holds the two to each other on random inputs.
Every other figure (dashboard, reports, API, the initiative page) sums the split
rows' columns; `marketing_share_of_actual` is the one ratio of roll-up sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portfolio.money import CENT, round_half_up

ZERO = Decimal("0.00")

# The columns of a split row, in the order of the finance export (PRODUCT.md §4).
# CSV, XLSX and the API all take their column names and order from here.
SPLIT_COLUMNS: tuple[str, ...] = (
    "fiscal_year",
    "month",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "marketing_share_pct",
    "planned_total",
    "planned_marketing",
    "planned_it",
    "actual_total",
    "actual_marketing",
    "actual_it",
    "paid_marketing",
    "paid_it",
    "true_up",
    "variance",
)

# The money columns of a row; every roll-up is the plain sum of these.
SPLIT_AMOUNT_COLUMNS: tuple[str, ...] = SPLIT_COLUMNS[SPLIT_COLUMNS.index("planned_total") :]


def marketing_part(total: Decimal, marketing_share_pct: Decimal) -> Decimal:
    """Marketing's part of `total`: `round_half_up(total × share / 100, 2)`."""
    return round_half_up(total * marketing_share_pct / 100, 2)


@dataclass(frozen=True, slots=True)
class SplitAmounts:
    """The ten money columns of one split row."""

    planned_total: Decimal
    planned_marketing: Decimal
    planned_it: Decimal
    actual_total: Decimal
    actual_marketing: Decimal
    actual_it: Decimal
    paid_marketing: Decimal
    paid_it: Decimal
    true_up: Decimal
    variance: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in SPLIT_AMOUNT_COLUMNS}


def split_amounts(
    *,
    marketing_share_pct: Decimal,
    planned_total: Decimal = ZERO,
    actual_total: Decimal = ZERO,
    paid_marketing: Decimal = ZERO,
    paid_it: Decimal = ZERO,
) -> SplitAmounts:
    """One row of §3 from the month's sums: budget lines, all expenses, and expenses by payer."""
    planned_marketing = marketing_part(planned_total, marketing_share_pct)
    actual_marketing = marketing_part(actual_total, marketing_share_pct)
    return SplitAmounts(
        planned_total=planned_total,
        planned_marketing=planned_marketing,
        planned_it=planned_total - planned_marketing,
        actual_total=actual_total,
        actual_marketing=actual_marketing,
        actual_it=actual_total - actual_marketing,
        paid_marketing=paid_marketing,
        paid_it=paid_it,
        true_up=actual_marketing - paid_marketing,
        variance=planned_total - actual_total,
    )


# The forecast columns of a split row (PRODUCT.md §3 Forecast); not columns of the split export.
FORECAST_COLUMNS: tuple[str, ...] = ("forecast_total", "forecast_marketing", "forecast_it")


def forecast_amounts(
    *, month: date, as_of_month: date, marketing_share_pct: Decimal, planned_total: Decimal, actual_total: Decimal
) -> dict[str, Decimal]:
    """One row's forecast as of `as_of_month` (the first day of the as-of date's month).

    A month before the as-of month counts its actual; the as-of month and later ones
    `max(planned, actual)`. Marketing's part is rounded with the month's share, IT gets the rest.
    The SQL twin is `split.rebuild.FORECAST_SQL`.
    """
    total = actual_total if month < as_of_month else max(planned_total, actual_total)
    marketing = marketing_part(total, marketing_share_pct)
    return {"forecast_total": total, "forecast_marketing": marketing, "forecast_it": total - marketing}


def cents_to_amount(cents: int) -> Decimal:
    """An integer number of cents as a two-place Decimal (SQLite sums money as integer cents)."""
    return Decimal(cents) * CENT


def marketing_share_of_actual(actual_marketing: Decimal, actual_total: Decimal) -> Decimal | None:
    """Marketing's share of joint spend, in percent with two places (None when nothing was spent)."""
    if not actual_total:
        return None
    return round_half_up(actual_marketing * 100 / actual_total, 2)


def overspend_factor(threshold_pct: int | Decimal) -> Decimal:
    """Overspent means year-to-date actual > planned × this factor (and actual > 0): 1 + threshold / 100."""
    return 1 + Decimal(threshold_pct) / 100


def is_overspent(actual: Decimal, planned: Decimal, threshold_pct: int | Decimal) -> bool:
    """The overspend rule: actual > 0 and actual > planned × (1 + threshold / 100).

    Its database twins are `split.selectors.overspent_q` (ORM) and `overspent_sql` (the
    dashboard's ranked query); tests/split/test_overspend_rule.py holds them to this one.
    """
    return actual > 0 and actual > planned * overspend_factor(threshold_pct)
