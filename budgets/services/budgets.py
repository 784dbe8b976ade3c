"""Writes to budget lines: the per-fiscal-year grid and single lines (PRODUCT.md §2).

A budget line lies in a month the initiative runs (from the month of its `start_date` to the
month of its `end_date`): `budget_dates_check` is that one rule, asked by the grid, the single-line
writes (API, admin), the importer (`budget_months_outside`, per row) and the initiatives when their
dates change (`budget_months_stranded`, through `portfolio.plan_months`). Removing a line is never
refused for its dates, so a line stranded before the rule existed can always be cleared. The
even-spread helper spreads over the same months only.

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
from portfolio.fiscal import fiscal_year_label, fiscal_year_months, month_start
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


# --- the initiative's months: where a budget line may lie ---------------------------------


def running_span_label(start_date: dt.date, end_date: dt.date) -> str:
    """`July 2026 – December 2026`: the months an initiative runs, as messages and the grid name them."""
    first, last = month_start(start_date), month_start(end_date)
    return month_label(first) if first == last else f"{month_label(first)} – {month_label(last)}"


def budget_months_outside(*, start_date: dt.date, end_date: dt.date, months: Iterable[dt.date]) -> list[dt.date]:
    """The months among `months` (first days) before the month of `start_date` or after that of `end_date`."""
    first, last = month_start(start_date), month_start(end_date)
    return sorted({month_start(month) for month in months if not first <= month_start(month) <= last})


def budget_outside_dates_message(
    *, code: str, start_date: dt.date, end_date: dt.date, months: Iterable[dt.date]
) -> str:
    """`March 2027 is outside INI-0001's dates (July 2026 – December 2026): …` naming every month."""
    labels = [month_label(month) for month in sorted(set(months))]
    named = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    verb = "is" if len(labels) == 1 else "are"
    return (
        f"{named} {verb} outside {code}'s dates ({running_span_label(start_date, end_date)}): "
        "a budget line must fall in a month the initiative runs."
    )


class BudgetOutsideDatesError(ValidationError):
    """A budget line would lie outside its initiative's months; the message names the month(s)."""

    def __init__(self, *, code: str, start_date: dt.date, end_date: dt.date, months: Iterable[dt.date]):
        self.months = sorted(set(months))
        message = budget_outside_dates_message(code=code, start_date=start_date, end_date=end_date, months=self.months)
        super().__init__({"month": ValidationError(message, code="budget_outside_dates")})


def budget_dates_check(*, initiative_id: int, months: Iterable[dt.date]) -> None:
    """Raise BudgetOutsideDatesError if any of `months` is outside the initiative's dates.

    Call it inside the writing transaction: it reads the dates from the initiative's row locked
    FOR UPDATE, so the dates cannot change (`budget_months_stranded`) between the check and the write.
    """
    months = {month_start(month) for month in months}
    if not months:
        return
    code, start_date, end_date = (
        Initiative.objects.select_for_update()
        .filter(pk=initiative_id)
        .values_list("code", "start_date", "end_date")
        .get()
    )
    if outside := budget_months_outside(start_date=start_date, end_date=end_date, months=months):
        raise BudgetOutsideDatesError(code=code, start_date=start_date, end_date=end_date, months=outside)


def _initiative_lock(initiative_id: int) -> None:
    """Lock the initiative's row before its budget lines, in the grid's order (initiative, then lines),
    so that two writers of the same lines never wait for each other in a circle."""
    Initiative.objects.select_for_update().filter(pk=initiative_id).values_list("pk").get()


def budget_months_stranded(initiative_id: int, start_date: dt.date, end_date: dt.date) -> list[dt.date]:
    """The months of the initiative's budget lines that new dates `start_date`–`end_date` would leave outside.

    The checker `portfolio.plan_months` asks on behalf of `initiatives` before it changes the dates.
    """
    first, last = month_start(start_date), month_start(end_date)
    months = (
        BudgetLine.objects.filter(initiative_id=initiative_id)
        .exclude(month__gte=first, month__lte=last)
        .order_by("month")
        .values_list("month", flat=True)
        .distinct()
    )
    return list(months)


def budget_running_months(*, initiative: Initiative, fiscal_year: int) -> list[dt.date]:
    """The months of `fiscal_year` the initiative runs in, in order (none when it runs in another year)."""
    months = fiscal_year_months(fiscal_year)
    outside = set(budget_months_outside(start_date=initiative.start_date, end_date=initiative.end_date, months=months))
    return [month for month in months if month not in outside]


# --- the grid ------------------------------------------------------------------------------


def budget_spread_annual(
    *,
    initiative: Initiative,
    fiscal_year: int,
    annual: Decimal,
    locked: Iterable[dt.date],
    fixed: Mapping[dt.date, Decimal | None],
) -> dict[dt.date, Decimal]:
    """Spread `annual` evenly over the open months the initiative runs in `fiscal_year`, to the cent.

    Only the months of the fiscal year inside the initiative's dates take a share: a plan
    of twelve months for an initiative that starts in July would be six months of fake
    underspend. Locked months among them keep their amount (`fixed`); the rest of the
    annual amount is spread over the others with `spread_evenly` (leftover cents go to
    the first months), so the months add up exactly to `annual`.
    """
    if message := budget_amount_error(annual):
        raise ValidationError({"annual": message})
    months = budget_running_months(initiative=initiative, fiscal_year=fiscal_year)
    span = running_span_label(initiative.start_date, initiative.end_date)
    if not months:
        raise ValidationError(
            {"annual": f"{initiative.code} runs {span}: none of its months falls in {fiscal_year_label(fiscal_year)}."}
        )
    locked = set(locked)
    open_months = [month for month in months if month not in locked]
    if not open_months:
        raise ValidationError(
            {"annual": f"Every month {initiative.code} runs in {fiscal_year_label(fiscal_year)} is locked."}
        )
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
    _initiative_lock(initiative.pk)
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
    # A line is added or changed only in a month the initiative runs; removing one is always allowed.
    budget_dates_check(initiative_id=initiative.pk, months=[month for month, _ in result.added + result.updated])
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
    """Create or change the one line of (initiative, month, category); refused outside the
    initiative's dates and in a locked month."""
    month = month_start(month)
    if message := budget_amount_error(amount):
        raise ValidationError({"amount": message})
    if category not in Category.values:
        raise ValidationError({"category": "Unknown category."})
    _initiative_lock(initiative.pk)
    line = BudgetLine.objects.select_for_update().filter(initiative=initiative, month=month, category=category).first()
    if line is not None and line.amount == amount:
        return line
    budget_dates_check(initiative_id=initiative.pk, months=[month])
    period_lock_check(months=[month])
    if line is None:
        line = BudgetLine(initiative=initiative, month=month, category=category)
    line.amount = amount
    line._history_user = by
    line.save()
    return line


@transaction.atomic
def budget_line_update(*, line: BudgetLine, data: Mapping, by) -> BudgetLine:
    """Change a line's initiative, month, category or amount: the line must then lie within its
    initiative's dates, and both the old and the new month must be unlocked."""
    # A line moved to another initiative locks both rows, in id order: two lines moved the opposite
    # ways at once never wait for each other in a circle.
    moved_to = data.get("initiative")
    for initiative_id in sorted({line.initiative_id, getattr(moved_to, "pk", moved_to) or line.initiative_id}):
        _initiative_lock(initiative_id)
    current = BudgetLine.objects.select_for_update().get(pk=line.pk)
    stored_month = current.month
    changes = {name: value for name, value in data.items() if getattr(current, name) != value}
    if not changes:
        return current
    if "month" in changes:
        changes["month"] = month_start(changes["month"])
    if "amount" in changes and (message := budget_amount_error(changes["amount"])):
        raise ValidationError({"amount": message})
    for name, value in changes.items():
        setattr(current, name, value)
    budget_dates_check(initiative_id=current.initiative_id, months=[current.month])
    period_lock_check(months=[stored_month, current.month])
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
