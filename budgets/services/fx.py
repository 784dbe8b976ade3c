"""FX rates and the conversion of expenses to the reporting currency (PRODUCT.md §2).

`amount_in_reporting` is the one conversion rule: the rate of the expense's
currency and calendar month, rounded half away from zero to cents. The
reporting currency (`settings.REPORTING_CURRENCY`) has rate 1 implicitly and
never gets a row. Changing a rate recomputes the stored `amount_reporting` of
that currency-month's expenses in the same transaction, set-based.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max
from django.db.models.functions import Abs
from simple_history.utils import bulk_update_with_history

from budgets.amounts import MONEY_LIMIT
from budgets.currencies import currency_error
from budgets.models import Expense, FxRate
from budgets.months import month_bounds, month_label
from budgets.services.locks import period_lock_check
from portfolio.fiscal import month_start
from portfolio.money import round_half_up

ONE = Decimal(1)
RATE_MAX_DIGITS = FxRate._meta.get_field("rate").max_digits
RATE_DECIMAL_PLACES = FxRate._meta.get_field("rate").decimal_places

RateKey = tuple[str, dt.date]


class FxRateMissingError(ValidationError):
    """No rate for a currency and month: "No FX rate for EUR in March 2026"."""

    def __init__(self, currency: str, month: dt.date):
        self.currency, self.month = currency, month_start(month)
        super().__init__(fx_rate_missing_message(currency, month), code="fx_rate_missing")


def fx_rate_missing_message(currency: str, month: dt.date) -> str:
    return f"No FX rate for {currency} in {month_label(month_start(month))}: add it under FX rates first."


def reporting_currency() -> str:
    return settings.REPORTING_CURRENCY


def fx_rates_for(*, currencies: Iterable[str], months: Iterable[dt.date]) -> dict[RateKey, Decimal]:
    """Every known rate for those currencies and months, in one query, keyed by (currency, month).

    The reporting currency is included with rate 1 for every month asked.
    """
    currencies, months = set(currencies), {month_start(month) for month in months}
    rates: dict[RateKey, Decimal] = {}
    foreign = currencies - {reporting_currency()}
    if foreign and months:
        rows = FxRate.objects.filter(currency__in=foreign, month__in=months).values_list("currency", "month", "rate")
        rates = {(currency, month): rate for currency, month, rate in rows}
    if reporting_currency() in currencies:
        rates.update({(reporting_currency(), month): ONE for month in months})
    return rates


def fx_rate_for(*, currency: str, month: dt.date) -> Decimal:
    """The rate of `currency` in `month` (1 for the reporting currency); FxRateMissingError if none."""
    month = month_start(month)
    if currency == reporting_currency():
        return ONE
    rate = FxRate.objects.filter(currency=currency, month=month).values_list("rate", flat=True).first()
    if rate is None:
        raise FxRateMissingError(currency, month)
    return rate


def amount_in_reporting(
    *, amount: Decimal, currency: str, on: dt.date, rates: Mapping[RateKey, Decimal] | None = None
) -> Decimal:
    """`amount` of `currency` spent on day `on`, in reporting currency, half-up to cents.

    The one conversion rule. Pass `rates` (from `fx_rates_for`) when converting
    many amounts; without it the rate is read from the database.
    Raises FxRateMissingError when the month has no rate.
    """
    month = month_start(on)
    if rates is None:
        rate = fx_rate_for(currency=currency, month=month)
    else:
        rate = rates.get((currency, month))
        if rate is None:
            raise FxRateMissingError(currency, month)
    converted = round_half_up(amount * rate)
    if abs(converted) >= MONEY_LIMIT:
        raise ValidationError(
            f"{amount} {currency} is {converted} in {reporting_currency()}, more than an amount can hold.",
            code="amount_too_large",
        )
    return converted


def fx_rate_errors(*, currency: str, month: dt.date, rate: Decimal) -> dict[str, str]:
    """The one rule of an FX rate, field by field (currency code, not the reporting currency, first of a
    month, positive, precision): what the form, the API, the admin and the importer all report."""
    errors: dict[str, str] = {}
    if message := currency_error(currency):
        errors["currency"] = message
    elif currency == reporting_currency():
        errors["currency"] = f"{currency} is the reporting currency: its rate is always 1."
    if month.day != 1:
        errors["month"] = "An FX month is the first day of a calendar month."
    if not rate.is_finite() or rate <= 0:
        errors["rate"] = "A rate must be a positive number."
    elif rate >= Decimal(10) ** (RATE_MAX_DIGITS - RATE_DECIMAL_PLACES):  # before the places: exact at any size
        errors["rate"] = "That rate is too large."
    else:
        exponent = rate.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > RATE_DECIMAL_PLACES:
            errors["rate"] = f"A rate has at most {RATE_DECIMAL_PLACES} decimal places."
    return errors


def fx_rate_validate(*, currency: str, month: dt.date, rate: Decimal) -> None:
    """`fx_rate_errors` as a ValidationError keyed by field (the services, the admin)."""
    if errors := fx_rate_errors(currency=currency, month=month, rate=rate):
        raise ValidationError(errors)


def fx_recompute_expenses(*, currency: str, month: dt.date, rate: Decimal, by=None, reason: str = "") -> int:
    """Recompute `amount_reporting` of every expense of `currency` in `month`; return how many rows.

    Each expense whose amount in reporting currency changes gets a history entry (who:
    `by`, why: `reason`), as for any other change to an expense (PRODUCT.md §2).

    One set-based statement on PostgreSQL — an UPDATE whose RETURNING rows feed the
    INSERT of their history — whose round(numeric, 2) rounds halves away from zero
    exactly like `round_half_up`. SQLite would multiply binary floats (1.005 becomes
    1.00499…), so there the rows are converted in Python with Decimal and written back,
    with their history, in batches. Callers check the lock first.
    """
    first, after = month_bounds(month)
    expenses = Expense.objects.filter(currency=currency, incurred_on__gte=first, incurred_on__lt=after)
    found = expenses.aggregate(largest=Max(Abs("amount")), count=Count("id"))
    if not found["count"]:
        return 0
    if abs(round_half_up(found["largest"] * rate)) >= MONEY_LIMIT:
        raise ValidationError({"rate": "At that rate the largest expense of the month would not fit in an amount."})
    user_id = by.pk if by is not None else None
    if connection.vendor == "postgresql":
        _recompute_with_history_sql(
            currency=currency, first=first, after=after, rate=rate, user_id=user_id, reason=reason
        )
        return found["count"]
    changed = []
    for expense in expenses.iterator(chunk_size=5000):
        converted = round_half_up(expense.amount * rate)
        if converted != expense.amount_reporting:
            expense.amount_reporting = converted
            changed.append(expense)
    bulk_update_with_history(
        changed, Expense, ["amount_reporting"], batch_size=1000, default_user=by, default_change_reason=reason
    )
    return found["count"]


def _recompute_with_history_sql(
    *, currency: str, first: dt.date, after: dt.date, rate: Decimal, user_id: int | None, reason: str
) -> None:
    """PostgreSQL: convert the month's expenses again and record the changed ones' history, in one statement."""
    history = Expense.history.model
    columns = [field.column for field in Expense._meta.concrete_fields]
    listed = ", ".join(columns)
    converted = "round(amount * %(rate)s::numeric, 2)"
    sql = f"""
        WITH changed AS (
            UPDATE {Expense._meta.db_table}
            SET amount_reporting = {converted}
            WHERE currency = %(currency)s AND incurred_on >= %(first)s AND incurred_on < %(after)s
              AND amount_reporting IS DISTINCT FROM {converted}
            RETURNING {listed}
        )
        INSERT INTO {history._meta.db_table}
            ({listed}, history_date, history_change_reason, history_type, history_user_id)
        SELECT {listed}, statement_timestamp(), %(reason)s, '~', %(user)s FROM changed
    """  # noqa: S608 - table and column names come from the models; values are parameters  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {"rate": rate, "currency": currency, "first": first, "after": after, "reason": reason, "user": user_id},
        )


@transaction.atomic
def fx_rate_set(*, currency: str, month: dt.date, rate: Decimal, by) -> tuple[FxRate, bool, int]:
    """Create or change the rate of `currency` in `month`; return (rate, created, expenses recomputed).

    Refused if the month is locked. The expenses of that currency and month get
    their `amount_reporting` recomputed in the same transaction. The FX rate's
    history records who changed it from what to what, and each expense whose
    converted amount changed gets a history entry naming the new rate.
    """
    currency = (currency or "").strip().upper()
    month = month_start(month)
    fx_rate_validate(currency=currency, month=month, rate=rate)
    period_lock_check(months=[month])
    fx = FxRate.objects.select_for_update().filter(currency=currency, month=month).first()
    created = fx is None
    if created:
        fx = FxRate(currency=currency, month=month, rate=rate)
    elif fx.rate == rate:
        return fx, False, 0
    else:
        fx.rate = rate
    reason = f"FX rate {currency} {month:%Y-%m} {'set to' if created else 'changed to'} {rate}"
    recomputed = fx_recompute_expenses(currency=currency, month=month, rate=rate, by=by, reason=reason)
    fx._history_user = by
    fx._change_reason = f"{'Set' if created else 'Changed'}; {recomputed} expenses recomputed"
    fx.save()
    return fx, created, recomputed


def fx_rate_in_use(fx_rate: FxRate) -> bool:
    """Do expenses of that currency and month rely on this rate?"""
    first, after = month_bounds(fx_rate.month)
    return Expense.objects.filter(currency=fx_rate.currency, incurred_on__gte=first, incurred_on__lt=after).exists()


@transaction.atomic
def fx_rate_delete(*, fx_rate: FxRate, by) -> None:
    """Delete a rate. Refused if its month is locked or expenses of that currency-month rely on it."""
    period_lock_check(months=[fx_rate.month])
    if fx_rate_in_use(fx_rate):
        raise ValidationError(
            f"{fx_rate.currency} expenses of {month_label(fx_rate.month)} are converted with this rate; "
            "change it instead of deleting it.",
            code="fx_rate_in_use",
        )
    fx_rate._history_user = by
    fx_rate.delete()
