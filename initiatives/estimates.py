"""The estimate (PRODUCT.md §2 `estimated_cost`): its field rule, and how it splits between the sides.

Pure: no database, no web. The services ask `clean_estimated_cost` when an initiative is filed or
revised and `submission_errors` before it goes to the sponsors; the approval screens and e-mails
show `estimate_split` — the estimate divided by the *proposed* share with the rule of §3
(marketing rounded half away from zero to cents, IT the rest), so both sponsors read the same
two amounts that add up to the estimate exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portfolio.money import CENT, round_half_up

ESTIMATE_MAX_WHOLE_DIGITS = 12  # the column: max_digits=14, decimal_places=2
HUNDRED = Decimal(100)

MISSING_TO_SUBMIT = "Enter the estimated cost before submitting: both sponsors decide with it in view."
NOT_A_NUMBER = "Enter the estimated cost as an amount, for example 500000 or 125000.50."


def clean_estimated_cost(value: object, errors: dict[str, str], field: str = "estimated_cost") -> Decimal | None:
    """The estimate as stored (cents), or None when not given (a draft may leave it out); a complaint
    in `errors[field]` when it is not an amount ≥ 0 with at most two decimals that fits the column."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        errors[field] = NOT_A_NUMBER
        return None
    if not amount.is_finite():
        errors[field] = NOT_A_NUMBER
        return None
    if amount < 0:
        errors[field] = "The estimated cost cannot be negative."
        return None
    if amount != amount.quantize(CENT):
        errors[field] = "Use at most two decimal places (cents), for example 125000.50."
        return None
    if amount >= Decimal(10) ** ESTIMATE_MAX_WHOLE_DIGITS:
        errors[field] = "That is more than the estimated cost can hold (under 1,000,000,000,000)."
        return None
    return amount.quantize(CENT)


def submission_errors(*, estimated_cost: Decimal | None) -> dict[str, str]:
    """What an initiative lacks before it may go to its sponsors ({} when nothing)."""
    if estimated_cost is None:
        return {"estimated_cost": MISSING_TO_SUBMIT}
    return {}


@dataclass(frozen=True)
class EstimateSplit:
    """An estimate divided by a share: what each side would bear (marketing + IT = total exactly)."""

    total: Decimal
    marketing_share_pct: Decimal
    marketing: Decimal
    it: Decimal

    @property
    def it_share_pct(self) -> Decimal:
        return HUNDRED - self.marketing_share_pct


def estimate_split(estimated_cost: Decimal | None, marketing_share_pct: Decimal | None) -> EstimateSplit | None:
    """`estimated_cost` split by `marketing_share_pct` (the proposed share); None without both."""
    if estimated_cost is None or marketing_share_pct is None:
        return None
    marketing = round_half_up(estimated_cost * marketing_share_pct / HUNDRED)
    return EstimateSplit(
        total=estimated_cost,
        marketing_share_pct=marketing_share_pct,
        marketing=marketing,
        it=estimated_cost - marketing,
    )
