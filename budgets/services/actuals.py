"""Writes to expenses (actuals): create, change, delete (PRODUCT.md §2).

Each write checks the period lock of every month it touches, converts the
amount with `amount_in_reporting`, and records who did it in the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from budgets.amounts import expense_amount_error
from budgets.choices import Category, Payer
from budgets.currencies import currency_error
from budgets.models import Expense
from budgets.services.fx import amount_in_reporting
from budgets.services.locks import period_lock_check

MANUAL_SOURCE = "manual"
EDITABLE_FIELDS = ("initiative", "incurred_on", "amount", "currency", "paid_by", "category", "vendor", "description")
_MAX_LENGTH = {name: Expense._meta.get_field(name).max_length for name in ("vendor", "description", "external_ref")}


def expense_validate(values: Mapping[str, Any]) -> None:
    """Field checks shared by the forms, the admin and the API; raises ValidationError keyed by field."""
    errors: dict[str, str] = {}
    amount = values.get("amount")
    if amount is not None and (message := expense_amount_error(amount)):
        errors["amount"] = message
    currency = values.get("currency")
    if currency is not None and (message := currency_error(currency)):
        errors["currency"] = message
    if values.get("paid_by") is not None and values["paid_by"] not in Payer.values:
        errors["paid_by"] = "Paid by must be marketing or it."
    if values.get("category") is not None and values["category"] not in Category.values:
        errors["category"] = f"Unknown category; use one of {', '.join(Category.values)}."
    for name, limit in _MAX_LENGTH.items():
        if values.get(name) and len(values[name]) > limit:
            errors[name] = f"At most {limit} characters."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def expense_create(
    *,
    initiative,
    incurred_on: dt.date,
    amount: Decimal,
    currency: str,
    paid_by: str,
    category: str,
    vendor: str = "",
    description: str = "",
    source: str = MANUAL_SOURCE,
    external_ref: str | None = None,
    by,
) -> Expense:
    """Record an actual. Refused in a locked month, without an FX rate for its month, or as a duplicate ref."""
    currency = currency.strip().upper()
    values = {
        "amount": amount,
        "currency": currency,
        "paid_by": paid_by,
        "category": category,
        "vendor": vendor,
        "description": description,
        "external_ref": external_ref,
    }
    expense_validate(values)
    period_lock_check(months=[incurred_on])
    external_ref = external_ref or None
    if external_ref and Expense.objects.filter(source=source, external_ref=external_ref).exists():
        raise ValidationError(
            {"external_ref": f"An expense from {source} with reference {external_ref} already exists."}
        )
    try:
        converted = amount_in_reporting(amount=amount, currency=currency, on=incurred_on)
    except ValidationError as error:
        raise ValidationError({"currency": error.messages}) from error
    expense = Expense(
        initiative=initiative,
        incurred_on=incurred_on,
        amount=amount,
        currency=currency,
        amount_reporting=converted,
        paid_by=paid_by,
        category=category,
        vendor=vendor or "",
        description=description or "",
        source=source,
        external_ref=external_ref,
    )
    expense._history_user = by
    expense.save()
    return expense


@transaction.atomic
def expense_update(*, expense: Expense, data: Mapping[str, Any], by) -> Expense:
    """Change an expense's editable fields. Both its old and its new month must be unlocked.

    The row is re-read under a row lock, so the lock check sees the stored month
    even if the caller's instance was already modified (as the admin's is).
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    current = Expense.objects.select_for_update().get(pk=expense.pk)
    changes = {name: value for name, value in data.items() if getattr(current, name) != value}
    if "currency" in changes:
        changes["currency"] = changes["currency"].strip().upper()
    if not changes:
        return current
    expense_validate(changes)
    new_date = changes.get("incurred_on", current.incurred_on)
    period_lock_check(months=[current.incurred_on, new_date])
    for name, value in changes.items():
        setattr(current, name, value)
    try:
        current.amount_reporting = amount_in_reporting(
            amount=current.amount, currency=current.currency, on=current.incurred_on
        )
    except ValidationError as error:
        raise ValidationError({"currency": error.messages}) from error
    current._history_user = by
    current.save()
    return current


@transaction.atomic
def expense_delete(*, expense: Expense, by) -> None:
    """Delete an expense; refused if its month is locked."""
    current = Expense.objects.select_for_update().filter(pk=expense.pk).first()
    if current is None:
        return
    period_lock_check(months=[current.incurred_on])
    current._history_user = by
    current.delete()
