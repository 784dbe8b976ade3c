"""The budget-lines importer (PRODUCT.md §4): each row sets the amount of (initiative, month, category).

A row outside its initiative's dates is refused on its `month`, naming the month, by the budgets
rule (`budgets.services.budgets`): the same as the grid, the API and the admin.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgets.amounts import budget_amount_error
from budgets.choices import Category
from budgets.models import BudgetLine
from budgets.months import month_label
from budgets.services.budgets import budget_dates_check, budget_months_outside, budget_outside_dates_message
from budgets.services.fx import (
    reporting_currency,
)
from budgets.services.imports_common import (
    BATCH_SIZE,
    CATEGORY_LIST,
    Importer,
    Rows,
    chunks,
    initiative_ids_by_code,
    parse_amount,
    parse_month,
)
from budgets.services.locks import locked_months, period_lock_check, period_locked_message
from initiatives.models import Initiative

if TYPE_CHECKING:
    from budgets.services.imports import ImportReport


BUDGET_COLUMNS = ("initiative_code", "month", "category", "amount")


class BudgetImporter(Importer):
    """Budget lines: each row sets the amount of (initiative, month, category); equal rows change nothing."""

    kind = "budget"
    label = "Budget lines"
    thing, things = "budget line", "budget lines"
    columns = BUDGET_COLUMNS

    def validate(self, rows: Rows, report: ImportReport) -> dict[str, list]:
        initiative_ids = initiative_ids_by_code()
        parsed = []
        first_line_of_cell: dict[tuple, int] = {}
        for line, row in rows:
            errors_before = len(rows.errors)
            code, initiative_id = rows.initiative(line, row, initiative_ids)
            month = rows.parse(line, "month", parse_month, row["month"])
            category = rows.choice(line, row, "category", Category, "Unknown category {}: use one of " + CATEGORY_LIST)
            amount = rows.parse(line, "amount", parse_amount, row["amount"])
            # The budget rule of the grid and the API (≥ 0: zero is a plan of nothing, and sets a line to it).
            if amount is not None and (message := budget_amount_error(amount)):
                rows.error(line, "amount", message)
            cell = (code, month, category)
            if len(rows.errors) == errors_before:
                if cell in first_line_of_cell:
                    rows.error(
                        line,
                        "month",
                        f"{code} {month:%Y-%m} {category} also appears on line {first_line_of_cell[cell]}",
                    )
                    continue
                first_line_of_cell[cell] = line
                parsed.append((line, initiative_id, month, category, amount))
        report.rows = len(rows.records)

        existing = self._existing(parsed)
        dates = self._dates(parsed)
        locked = locked_months()
        plan: dict[str, list] = {"new": [], "changed": []}
        by_month: dict[dt.date, Decimal] = defaultdict(Decimal)
        by_category: dict[str, Decimal] = defaultdict(Decimal)
        for line, initiative_id, month, category, amount in parsed:
            line_now = existing.get((initiative_id, month, category))
            if line_now is not None and line_now.amount == amount:
                report.unchanged += 1
                continue
            code, start_date, end_date = dates[initiative_id]
            if budget_months_outside(start_date=start_date, end_date=end_date, months=[month]):
                message = budget_outside_dates_message(
                    code=code, start_date=start_date, end_date=end_date, months=[month]
                )
                rows.error(line, "month", message)
                continue
            if month in locked:
                rows.error(line, "month", period_locked_message([month]))
                continue
            if line_now is None:
                plan["new"].append(
                    BudgetLine(initiative_id=initiative_id, month=month, category=category, amount=amount)
                )
            else:
                by_month[month] -= line_now.amount
                by_category[category] -= line_now.amount
                line_now.amount = amount
                plan["changed"].append(line_now)
            by_month[month] += amount
            by_category[category] += amount
        report.new, report.changed = len(plan["new"]), len(plan["changed"])
        report.summary = {
            "currency": reporting_currency(),
            "by_month": [
                {"month": month, "label": month_label(month), "delta": delta}
                for month, delta in sorted(by_month.items())
            ],
            "by_category": [
                {"category": category, "label": Category(category).label, "delta": by_category[category]}
                for category in Category.values
                if category in by_category
            ],
            "total": sum(by_month.values(), Decimal(0)),
        }
        return plan

    @staticmethod
    def _existing(parsed: list[tuple]) -> dict[tuple, BudgetLine]:
        found: dict[tuple, BudgetLine] = {}
        initiative_ids = sorted({row[1] for row in parsed})
        months = {row[2] for row in parsed}
        for chunk in chunks(initiative_ids):
            for line in BudgetLine.objects.filter(initiative_id__in=chunk, month__in=months):
                found[(line.initiative_id, line.month, line.category)] = line
        return found

    @staticmethod
    def _dates(parsed: list[tuple]) -> dict[int, tuple]:
        """initiative id → (code, start_date, end_date) of the file's initiatives."""
        found: dict[int, tuple] = {}
        for chunk in chunks(sorted({row[1] for row in parsed})):
            for pk, *dates in Initiative.objects.filter(pk__in=chunk).values_list(
                "pk", "code", "start_date", "end_date"
            ):
                found[pk] = tuple(dates)
        return found

    def write(self, plan: dict[str, list], *, by, reason: str) -> None:
        months_by_initiative: dict[int, set[dt.date]] = defaultdict(set)
        for line in plan["new"] + plan["changed"]:
            months_by_initiative[line.initiative_id].add(line.month)
        # Again, with each initiative's row locked (in primary-key order): its dates cannot have
        # changed since the rows were checked, nor change before this import commits.
        for initiative_id in sorted(months_by_initiative):
            budget_dates_check(initiative_id=initiative_id, months=months_by_initiative[initiative_id])
        period_lock_check(months={line.month for line in plan["new"] + plan["changed"]})
        if plan["new"]:
            bulk_create_with_history(
                plan["new"], BudgetLine, batch_size=BATCH_SIZE, default_user=by, default_change_reason=reason
            )
        if plan["changed"]:
            bulk_update_with_history(
                plan["changed"],
                BudgetLine,
                ["amount"],
                batch_size=BATCH_SIZE,
                default_user=by,
                default_change_reason=reason,
            )
