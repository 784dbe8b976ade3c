"""Writes to budget lines: the per-fiscal-year grid and single lines (PRODUCT.md §2).

The grid is saved with an optimistic version check: the form carries the
version (a hash of the values it was built from) and the save is refused when
the stored values have changed since, so two finance users saving the same
grid never silently overwrite each other. Saves of one initiative's grid are
serialised by locking the initiative row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgets.amounts import budget_amount_error
from budgets.choices import Category
from budgets.models import BudgetLine
from budgets.months import month_label
from budgets.services.locks import period_lock_check
from initiatives.models import Initiative
from portfolio.fiscal import fiscal_year_months, month_start
from portfolio.money import spread_evenly

Cell = tuple[dt.date, str]  # (month, category)


class BudgetGridConflictError(ValidationError):
    """The grid changed since the form was loaded; nothing was saved."""

    def __init__(self):
        super().__init__(
            "Someone else saved this budget while you were editing it. Nothing you typed was saved: "
            "the grid now shows their figures; re-enter your changes and save again.",
            code="budget_grid_conflict",
        )


@dataclass
class GridSaveResult:
    added: list[Cell] = field(default_factory=list)
    updated: list[Cell] = field(default_factory=list)
    removed: list[Cell] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.added) + len(self.updated) + len(self.removed)


def budget_grid_amounts(*, initiative: Initiative, fiscal_year: int) -> dict[Cell, Decimal]:
    """The stored amounts of one initiative and fiscal year, keyed by (month, category)."""
    months = fiscal_year_months(fiscal_year)
    rows = BudgetLine.objects.filter(initiative=initiative, month__gte=months[0], month__lte=months[-1]).values_list(
        "month", "category", "amount"
    )
    return {(month, category): amount for month, category, amount in rows}


def budget_grid_version(amounts: Mapping[Cell, Decimal]) -> str:
    """A short hash of the grid's values: equal values, equal version, on every database."""
    text = "\n".join(
        f"{month.isoformat()}|{category}|{amount:.2f}" for (month, category), amount in sorted(amounts.items())
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def budget_spread_annual(
    *, annual: Decimal, months: list[dt.date], locked: Iterable[dt.date], fixed: Mapping[dt.date, Decimal]
) -> dict[dt.date, Decimal]:
    """Spread `annual` evenly over the open months so that the year adds up to `annual` to the cent.

    Locked months keep their amount (`fixed`); the rest of the annual amount is
    spread over the other months with `spread_evenly` (leftover cents go to the
    first months).
    """
    if message := budget_amount_error(annual):
        raise ValidationError({"annual": message})
    locked = set(locked)
    open_months = [month for month in months if month not in locked]
    if not open_months:
        raise ValidationError({"annual": "Every month of this fiscal year is locked."})
    already = sum((fixed.get(month) or Decimal(0) for month in months if month in locked), Decimal(0))
    remaining = annual - already
    if remaining < 0:
        raise ValidationError(
            {"annual": f"The locked months already hold {already:,.2f}, more than the annual amount {annual:,.2f}."}
        )
    return dict(zip(open_months, spread_evenly(remaining, len(open_months)), strict=True))


@transaction.atomic
def budget_grid_save(
    *,
    initiative: Initiative,
    fiscal_year: int,
    amounts: Mapping[Cell, Decimal | None],
    expected_version: str,
    by,
) -> GridSaveResult:
    """Save the grid of one initiative and fiscal year: a blank cell (None) removes the line.

    Refused as a whole with BudgetGridConflictError if the stored grid no longer
    matches `expected_version`, and with PeriodLockedError if a changed cell is
    in a locked month. Cells not in `amounts` are left as they are.
    """
    Initiative.objects.select_for_update().filter(pk=initiative.pk).values_list("pk").get()
    months = set(fiscal_year_months(fiscal_year))
    current = budget_grid_amounts(initiative=initiative, fiscal_year=fiscal_year)
    if budget_grid_version(current) != expected_version:
        raise BudgetGridConflictError()

    errors = {}
    for (month, category), amount in amounts.items():
        if month not in months or category not in Category.values:
            raise ValueError(f"({month}, {category}) is not a cell of FY{fiscal_year}")
        if amount is not None and (message := budget_amount_error(amount)):
            errors[f"{month:%Y-%m} {category}"] = message
    if errors:
        raise ValidationError([f"{cell}: {message}" for cell, message in errors.items()])

    result = GridSaveResult()
    for cell, amount in sorted(amounts.items()):
        before = current.get(cell)
        if amount == before:
            continue
        if before is None:
            result.added.append(cell)
        elif amount is None:
            result.removed.append(cell)
        else:
            result.updated.append(cell)
    if not result.changed:
        return result
    period_lock_check(months=[month for month, _ in result.added + result.updated + result.removed])

    reason = f"Budget grid FY{fiscal_year}"
    if result.added:
        bulk_create_with_history(
            [
                BudgetLine(initiative=initiative, month=month, category=category, amount=amounts[(month, category)])
                for month, category in result.added
            ],
            BudgetLine,
            default_user=by,
            default_change_reason=reason,
        )
    touched = result.updated + result.removed
    if touched:
        lines = {
            (line.month, line.category): line
            for line in BudgetLine.objects.filter(
                initiative=initiative, month__in={month for month, _ in touched}
            ).select_for_update()
        }
        updated = []
        for cell in result.updated:
            lines[cell].amount = amounts[cell]
            updated.append(lines[cell])
        if updated:
            bulk_update_with_history(updated, BudgetLine, ["amount"], default_user=by, default_change_reason=reason)
        for cell in result.removed:
            line = lines[cell]
            line._history_user = by
            line._change_reason = reason
            line.delete()
    return result


@transaction.atomic
def budget_line_set(*, initiative: Initiative, month: dt.date, category: str, amount: Decimal, by) -> BudgetLine:
    """Create or change the one line of (initiative, month, category); refused in a locked month."""
    month = month_start(month)
    if message := budget_amount_error(amount):
        raise ValidationError({"amount": message})
    if category not in Category.values:
        raise ValidationError({"category": "Unknown category."})
    line = BudgetLine.objects.select_for_update().filter(initiative=initiative, month=month, category=category).first()
    if line is not None and line.amount == amount:
        return line
    period_lock_check(months=[month])
    if line is None:
        line = BudgetLine(initiative=initiative, month=month, category=category)
    line.amount = amount
    line._history_user = by
    line.save()
    return line


@transaction.atomic
def budget_line_update(*, line: BudgetLine, data: Mapping, by) -> BudgetLine:
    """Change a line's month, category or amount; both the old and the new month must be unlocked."""
    current = BudgetLine.objects.select_for_update().get(pk=line.pk)
    changes = {name: value for name, value in data.items() if getattr(current, name) != value}
    if not changes:
        return current
    if "month" in changes:
        changes["month"] = month_start(changes["month"])
    if "amount" in changes and (message := budget_amount_error(changes["amount"])):
        raise ValidationError({"amount": message})
    period_lock_check(months=[current.month, changes.get("month", current.month)])
    for name, value in changes.items():
        setattr(current, name, value)
    clash = BudgetLine.objects.filter(
        initiative_id=current.initiative_id, month=current.month, category=current.category
    ).exclude(pk=current.pk)
    if clash.exists():
        raise ValidationError(
            f"This initiative already has a {current.category} line for {month_label(current.month)}."
        )
    current._history_user = by
    current.save()
    return current


@transaction.atomic
def budget_line_delete(*, line: BudgetLine, by) -> None:
    """Delete a budget line; refused if its month is locked."""
    current = BudgetLine.objects.select_for_update().filter(pk=line.pk).first()
    if current is None:
        return
    period_lock_check(months=[current.month])
    current._history_user = by
    current.delete()
