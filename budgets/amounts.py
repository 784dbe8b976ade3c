"""What an amount of the finance records may be (PRODUCT.md §2): each rule in one function.

- a budget amount is ≥ 0 (zero is a plan of nothing);
- an expense amount is never zero (a credit or reversal is negative);
- both are numbers in cents that fit their column (MONEY: 12 digits before the point).

Every path asks these functions: the services before every write (the API, the admin and the
tasks go through them), the web forms (`validate_budget_amount`, `validate_expense_amount` as
field validators, so a bad amount is named under its field beside the other fields' errors) and
the importers per row. Form and API fields only parse the number; the database's check
constraints are the last guard of the same lines.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from budgets.models import MONEY
from portfolio.money import CENT

# Digits before the decimal point a MONEY column holds, and the smallest amount too large for it.
MONEY_WHOLE_DIGITS = MONEY["max_digits"] - MONEY["decimal_places"]
MONEY_LIMIT = Decimal(10) ** MONEY_WHOLE_DIGITS

NOT_A_NUMBER = "An amount must be a number."
TOO_LARGE = "That amount is too large."
NOT_CENTS = "An amount has at most two decimal places (cents)."
NEGATIVE_BUDGET = "A budget amount cannot be negative."
ZERO_EXPENSE = "An expense amount cannot be zero (use a negative amount for a credit)."


def _money_error(amount: Decimal) -> str | None:
    """A number that fits a MONEY column, in cents."""
    if not amount.is_finite():
        return NOT_A_NUMBER
    # copy_abs, not abs: exact whatever the digits (abs rounds to the context and can overflow). And
    # before the cents check: quantizing an amount of more digits than the context holds raises.
    if amount.copy_abs() >= MONEY_LIMIT:
        return TOO_LARGE
    if amount != amount.quantize(CENT):
        return NOT_CENTS
    return None


def budget_amount_error(amount: Decimal) -> str | None:
    """Why `amount` cannot be a budget amount, or None: ≥ 0, in cents, fits the column."""
    if amount.is_finite() and amount < 0:
        return NEGATIVE_BUDGET
    return _money_error(amount)


def expense_amount_error(amount: Decimal) -> str | None:
    """Why `amount` cannot be an expense amount, or None: not zero, in cents, fits the column."""
    if amount.is_finite() and amount == 0:
        return ZERO_EXPENSE
    return _money_error(amount)


def validate_budget_amount(amount: Decimal) -> None:
    """`budget_amount_error` as a form or serializer field validator."""
    if message := budget_amount_error(amount):
        raise ValidationError(message, code="budget_amount")


def validate_expense_amount(amount: Decimal) -> None:
    """`expense_amount_error` as a form or serializer field validator."""
    if message := expense_amount_error(amount):
        raise ValidationError(message, code="expense_amount")
