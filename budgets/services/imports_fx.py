"""The FX-rates importer (PRODUCT.md §4): each row sets the rate of (currency, month)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from budgets.months import month_label
from budgets.services.fx import (
    fx_rate_errors,
    fx_rate_set,
    fx_rates_for,
)
from budgets.services.imports_common import Importer, Rows, parse_month, parse_rate
from budgets.services.locks import locked_months, period_locked_message
from portfolio.text import canonical_code

if TYPE_CHECKING:
    from budgets.services.imports import ImportReport


FX_COLUMNS = ("currency", "month", "rate")
# A first of a month for the rate rule when the row's month did not parse (that error is reported).
ANY_MONTH = dt.date(2000, 1, 1)


class FxRateImporter(Importer):
    """FX rates: each row sets the rate of (currency, month); changed rates recompute their expenses."""

    kind = "fx_rates"
    label = "FX rates"
    thing, things = "rate", "rates"
    columns = FX_COLUMNS

    def validate(self, rows: Rows, report: ImportReport) -> list[tuple]:
        parsed = []
        first_line: dict[tuple, int] = {}
        for line, row in rows:
            errors_before = len(rows.errors)
            currency = canonical_code(row["currency"])
            month = rows.parse(line, "month", parse_month, row["month"])
            rate = rows.parse(line, "rate", parse_rate, row["rate"])
            # The rate's one rule (fx_rate_errors), as in the form, the API and the admin.
            checks = fx_rate_errors(
                currency=currency,
                month=month if month is not None else ANY_MONTH,
                rate=rate if rate is not None else Decimal(1),  # unparsed: its parse error is reported instead
            )
            for column in ("currency", "rate"):
                if column in checks and (column == "currency" or rate is not None):
                    rows.error(line, column, checks[column])
            if len(rows.errors) == errors_before:
                if (currency, month) in first_line:
                    rows.error(
                        line, "month", f"{currency} {month:%Y-%m} also appears on line {first_line[(currency, month)]}"
                    )
                    continue
                first_line[(currency, month)] = line
                parsed.append((line, currency, month, rate))
        report.rows = len(rows.records)
        existing = fx_rates_for(currencies={row[1] for row in parsed}, months={row[2] for row in parsed})
        locked = locked_months()
        plan = []
        for line, currency, month, rate in parsed:
            before = existing.get((currency, month))
            if before == rate:
                report.unchanged += 1
                continue
            if month in locked:
                rows.error(line, "month", period_locked_message([month]))
                continue
            plan.append((currency, month, rate))
            if before is None:
                report.new += 1
            else:
                report.changed += 1
        report.summary = {
            "rates": [
                {
                    "currency": currency,
                    "month": month,
                    "label": month_label(month),
                    "rate": rate,
                    "before": existing.get((currency, month)),
                }
                for currency, month, rate in plan[:200]
            ]
        }
        return plan

    def write(self, plan: list[tuple], *, by, reason: str) -> None:
        for currency, month, rate in plan:
            fx_rate_set(currency=currency, month=month, rate=rate, by=by)
