"""Would new dates strand budget lines, what is the plan, what is spent? The questions the initiatives ask of
the budgets.

A budget line lies in a month its initiative runs (`budgets.services.budgets.budget_dates_check`).
When an initiative's `start_date` or `end_date` changes, its existing lines must stay inside the
new dates: the change is refused, naming the months, until finance moves or removes those lines.
The budget lines are budgets', a layer above `initiatives`, which may not import it: `initiatives`
asks here and budgets answers, having registered its checker in `BudgetsConfig.ready()` (the model
is `portfolio.periods`). An unregistered checker is a configuration error, never "nothing stranded".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from portfolio.fiscal import month_label

if TYPE_CHECKING:
    from django.db.models import Expression


class StrandedMonths(Protocol):
    def __call__(self, initiative_id: int, start_date: dt.date, end_date: dt.date) -> list[dt.date]: ...


class PlanTotal(Protocol):
    def __call__(self, initiative_ref: str) -> Expression: ...


class ActualToDate(Protocol):
    def __call__(self, initiative_ref: str, *, on: dt.date) -> Expression: ...


_checker: StrandedMonths | None = None
_plan_total: PlanTotal | None = None
_actual_to_date: ActualToDate | None = None


def register(checker: StrandedMonths) -> None:
    """Install the one answer to "which months of this initiative's budget lines fall outside these dates?"."""
    global _checker
    _checker = checker


def stranded_budget_months(initiative_id: int, start_date: dt.date, end_date: dt.date) -> list[dt.date]:
    """The months (first days, in order) of the initiative's budget lines outside `start_date`–`end_date`.

    Ask it inside the transaction that changes the dates, with the initiative's row locked FOR
    UPDATE: budget writes lock the same row, so no line can be added between the answer and the change.
    """
    if _checker is None:
        raise ImproperlyConfigured("No budget-line month checker is registered (is the budgets app installed?).")
    return _checker(initiative_id, start_date, end_date)


def stranded_budget_message(months: list[dt.date]) -> str:
    """`This initiative has budget lines in March 2026 and April 2026, outside the new dates: …`."""
    labels = [month_label(month) for month in months]
    named = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
    return (
        f"This initiative has budget lines in {named}, outside the new dates: "
        "finance must move or remove them before the dates can change."
    )


def dates_change_errors(initiative_id: int, start_date: dt.date, end_date: dt.date) -> dict[str, str]:
    """Why the initiative's dates cannot become `start_date`–`end_date`, per field ({} when they can).

    Months before the new start are named under `start_date`, months after the new end under
    `end_date`: the one call `initiatives` makes before it saves new dates.
    """
    months = stranded_budget_months(initiative_id, start_date, end_date)
    first = start_date.replace(day=1)
    before = [month for month in months if month < first]
    after = [month for month in months if month >= first]
    errors = {}
    if before:
        errors["start_date"] = stranded_budget_message(before)
    if after:
        errors["end_date"] = stranded_budget_message(after)
    return errors


def register_plan_total(expression: PlanTotal) -> None:
    """Install the one answer to "what is this initiative's plan?" (budgets, at start-up): an ORM
    expression, the sum of the budget lines of the initiative `initiative_ref` points at (NULL: none)."""
    global _plan_total
    _plan_total = expression


def plan_total(initiative_ref: str = "pk") -> Expression:
    """The initiative's whole plan as an expression to annotate with (NULL before finance enters a line)."""
    if _plan_total is None:
        raise ImproperlyConfigured("No plan-total expression is registered (is the budgets app installed?).")
    return _plan_total(initiative_ref)


def register_actual_to_date(expression: ActualToDate) -> None:
    """Install the one answer to "what has this initiative spent so far?" (budgets, at start-up): an ORM
    expression, the sum of the `amount_reporting` of its expenses incurred on or before a day (NULL: none)."""
    global _actual_to_date
    _actual_to_date = expression


def actual_to_date(initiative_ref: str = "pk", *, on: dt.date | None = None) -> Expression:
    """The initiative's actual spend up to `on` (default: today) as an expression to annotate with
    (NULL before its first expense)."""
    if _actual_to_date is None:
        raise ImproperlyConfigured("No actual-to-date expression is registered (is the budgets app installed?).")
    return _actual_to_date(initiative_ref, on=on or timezone.localdate())
