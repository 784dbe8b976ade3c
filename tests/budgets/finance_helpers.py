"""Helpers shared by the finance tests: CSV files, initiatives with known codes, admin users."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from budgets.services.imports_actuals import ACTUALS_COLUMNS
from budgets.services.imports_budget import BUDGET_COLUMNS
from tests.factories import FxRateFactory, InitiativeFactory, UserFactory

MARCH = dt.date(2026, 3, 1)  # the month most finance tests record in
GOOD_ACTUAL = {
    "initiative_code": "INI-0001",
    "incurred_on": "2026-03-15",
    "amount": "1250.50",
    "currency": "EUR",
    "paid_by": "marketing",
    "category": "agency",
    "vendor": "Studio Nord",
    "description": "Campaign assets",
    "external_ref": "ERP-1",
}


def csv_bytes(columns, rows, *, bom: bool = False) -> bytes:
    """A CSV file: the header, then each row (a dict; missing keys are blank)."""
    lines = [",".join(columns)] + [",".join(str(row.get(column, "")) for column in columns) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def actuals_csv(*rows: dict, columns=ACTUALS_COLUMNS, bom: bool = False) -> bytes:
    return csv_bytes(columns, [{**GOOD_ACTUAL, **row} for row in rows], bom=bom)


def budget_csv(*rows: dict) -> bytes:
    base = {"initiative_code": "INI-0001", "month": "2026-03", "category": "labor", "amount": "1000.00"}
    return csv_bytes(BUDGET_COLUMNS, [{**base, **row} for row in rows])


def with_nul(value: str) -> str:
    """`value` with a NUL character as its third character (PostgreSQL text cannot hold one)."""
    return value[:2] + "\x00" + value[2:]


def initiative_with_code(code: str = "INI-0001", **kwargs):
    """An initiative whose code is known (the sequence would otherwise hand out the next number)."""
    initiative = InitiativeFactory(**kwargs)
    type(initiative).objects.filter(pk=initiative.pk).update(code=code)
    initiative.refresh_from_db()
    return initiative


def eur_rate(month: dt.date = dt.date(2026, 3, 1), rate: str = "1.10000000"):
    return FxRateFactory(currency="EUR", month=month, rate=Decimal(rate))


def grid_post(initiative, fiscal_year=2026, **cells):
    """Form data for the budget grid: every cell as stored, then `cells` (cell_YYYYMM_category=value) on top."""
    from budgets.forms import BudgetGridForm
    from budgets.selectors import budget_grid

    grid = budget_grid(initiative=initiative, fiscal_year=fiscal_year)
    form = BudgetGridForm(grid=grid)
    data = {"version": grid.version, "action": "save"}
    for name, field in form.fields.items():
        if name.startswith("cell_") and field.initial is not None:
            data[name] = f"{field.initial:.2f}"
    data.update(cells)
    return data


def admin_user():
    return UserFactory(username="root", role="admin", side="", is_staff=True, is_superuser=True)


def finance_in_admin():
    """A finance user let into the Django admin (`is_staff`): there the policy gives it what it gives finance."""
    return UserFactory(username="finance.staff", role="finance", side="", is_staff=True)
