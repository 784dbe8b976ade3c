"""True-up settlements (PRODUCT.md §3 "True-up settlement"): the one place of their rules.

Finance settles one or more closed months against an ERP reference. The amount and the
per-initiative lines come from the months' frozen split rows (`SplitRow.closed`), summed in the
database; a month is in at most one active settlement (`SettlementMonth.month` is unique: the
database's guard), and a settlement is never edited, only reversed with a reason, which frees its
months. Every true-up figure is then settled, outstanding (closed, not settled) or accruing (open
months): `true_up_states` sums the three from the split rows.

Views, the API, the seed and the tests call these functions; none decides on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from budgets.models import PeriodLock
from budgets.months import month_label
from portfolio.fiscal import add_months, fiscal_quarter, fiscal_quarter_months, fiscal_year, month_start
from portfolio.money import CENT
from portfolio.text import unstorable_character_message
from split.models import ClosedMonth, Settlement, SettlementLine, SettlementMonth, SettlementStatus, SplitRow
from split.selectors import MoneySum, SplitFilters, split_rows, true_up_state_sums

MONEY = DecimalField(max_digits=18, decimal_places=2)
ZERO = Decimal("0.00")
REFERENCE_MAX_LENGTH = Settlement._meta.get_field("reference").max_length
MAX_MONTHS = 120  # ten years in one settlement is already far more than finance settles at once


def month_count(first: dt.date, last: dt.date) -> int:
    """How many months from `first` to `last`, both included (0 if `last` is before `first`)."""
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from `first` to `last` (any day in them), both included; empty if `last` is before `first`."""
    month, stop, months = month_start(first), month_start(last), []
    while month <= stop:
        months.append(month)
        month = add_months(month, 1)
    return months


def _settled_in(months: Iterable[dt.date]) -> dict[dt.date, str]:
    """The months among `months` that an active settlement holds → its reference (one query)."""
    return dict(SettlementMonth.objects.filter(month__in=list(months)).values_list("month", "settlement__reference"))


def _month_errors(months: list[dt.date]) -> tuple[list[str], dict[dt.date, ClosedMonth]]:
    """Why each month cannot be settled (in month order), and the closed months, locked for update."""
    locked = set(PeriodLock.objects.filter(month__in=months).values_list("month", flat=True))
    # Row locks in primary-key order (no deadlock with another settlement); an unfreeze of one of
    # these months waits for this transaction, and then the settlement's PROTECT refuses it.
    closed = {
        closed_month.month: closed_month
        for closed_month in ClosedMonth.objects.filter(month__in=months).order_by("pk").select_for_update()
    }
    settled = _settled_in(months)
    errors = []
    for month in months:
        if month not in locked:
            errors.append(f"{month_label(month)} is not locked: finance locks a month before settling it.")
        elif month not in closed:
            errors.append(f"{month_label(month)} is locked but its split is not closed: unlock and lock it again.")
        elif month in settled:
            errors.append(f"{month_label(month)} is already settled in {settled[month]}.")
    return errors, closed


def _reference_error(reference: str) -> str | None:
    if not reference:
        return "Enter the ERP reference of the settlement."
    if len(reference) > REFERENCE_MAX_LENGTH:
        return f"An ERP reference has at most {REFERENCE_MAX_LENGTH} characters."
    if (unstorable := unstorable_character_message(reference)) is not None:
        return unstorable
    if Settlement.objects.filter(reference=reference, status=SettlementStatus.ACTIVE).exists():
        return f"A settlement with the ERP reference {reference} already exists."
    return None


_LINES_SQL = """
INSERT INTO {line} (settlement_id, initiative_id, initiative_code, initiative_title, true_up)
SELECT %s, grouped.initiative_id, latest.initiative_code, latest.initiative_title, grouped.true_up
FROM (
    SELECT initiative_id, MAX(month) AS last_month, {sum} AS true_up
    FROM {row}
    WHERE closed = %s AND month IN ({months})
    GROUP BY initiative_id
) grouped
JOIN {row} latest ON latest.initiative_id = grouped.initiative_id AND latest.month = grouped.last_month
WHERE grouped.true_up <> 0
"""


def _insert_lines(settlement: Settlement, months: list[dt.date]) -> None:
    """One INSERT … SELECT: per initiative, the sum of its frozen true-up over the months (zero sums left out).

    Code and title are those of the initiative's latest settled month, as frozen then.
    """
    # SQLite keeps decimals as floats: sum whole cents there, as split.selectors.MoneySum does.
    total = "SUM(true_up)"
    if connection.vendor != "postgresql":
        total = "CAST(SUM(CAST(ROUND(true_up * 100) AS INTEGER)) AS REAL) / 100.0"
    sql = _LINES_SQL.format(
        line=SettlementLine._meta.db_table,
        row=SplitRow._meta.db_table,
        sum=total,
        months=", ".join(["%s"] * len(months)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [settlement.pk, True, *months])


@transaction.atomic
def settlement_create(*, months: Iterable[dt.date], reference: str, by, note: str = "") -> Settlement:
    """Settle the true-up of closed `months` (any day in them) under the ERP `reference`.

    Every month must be locked and its split closed, and in no other active settlement; the
    reference is required and unique among active settlements. The amount is the sum of the
    months' frozen `true_up` (positive: marketing pays IT), with one line per initiative.
    Raises ValidationError with `months` / `reference` messages naming what is wrong.
    """
    wanted = sorted({month_start(month) for month in months})
    reference = (reference or "").strip()
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not wanted:
        errors["months"] = ["Choose the months to settle."]
    elif len(wanted) > MAX_MONTHS:
        errors["months"] = [f"A settlement covers at most {MAX_MONTHS} months."]
    elif missing := sorted(set(months_between(wanted[0], wanted[-1])) - set(wanted)):
        # One settlement, one unbroken range (a quarter, or From–To): its first and last month say what it holds.
        named = ", ".join(month_label(month) for month in missing[:3]) + (" …" if len(missing) > 3 else "")
        errors["months"] = [
            f"A settlement covers consecutive months: {named} "
            f"{'is' if len(missing) == 1 else 'are'} missing between {month_label(wanted[0])} and "
            f"{month_label(wanted[-1])}. Settle the gap too, or the ranges separately."
        ]
    else:
        month_errors, closed = _month_errors(wanted)
        if month_errors:
            errors["months"] = month_errors
    if (message := _reference_error(reference)) is not None:
        errors["reference"] = [message]
    if errors:
        raise ValidationError(errors)
    frozen = SplitRow.objects.filter(closed=True, month__in=wanted)
    amount = frozen.aggregate(total=Coalesce(MoneySum("true_up"), ZERO, output_field=MONEY))["total"]
    settlement = Settlement(
        reference=reference,
        first_month=wanted[0],
        last_month=wanted[-1],
        months=[f"{month:%Y-%m}" for month in wanted],
        amount=Decimal(amount).quantize(CENT),
        note=note,
        created_by=by,
    )
    settlement._history_user = by
    settlement._change_reason = f"Settled {_months_text(wanted)}"[:100]
    try:
        with transaction.atomic():  # a concurrent settlement of a month or reference: the database refuses
            settlement.save()
            SettlementMonth.objects.bulk_create(
                SettlementMonth(settlement=settlement, closed_month=closed[month], month=month) for month in wanted
            )
    except IntegrityError as error:
        taken = sorted(_settled_in(wanted).items())
        if taken:
            messages = [f"{month_label(month)} is already settled in {ref}." for month, ref in taken]
            raise ValidationError({"months": messages}) from error
        message = f"A settlement with the ERP reference {reference} already exists."
        raise ValidationError({"reference": [message]}) from error
    _insert_lines(settlement, wanted)
    return settlement


@transaction.atomic
def settlement_reverse(*, settlement: Settlement, by, reason: str) -> Settlement:
    """Reverse an active settlement with a reason: recorded (who, when, why), and its months freed.

    Nothing else changes: the amount, lines and months stay as they were, for the record.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the settlement is being reversed."})
    current = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if current.status != SettlementStatus.ACTIVE:
        raise ValidationError(
            f"{current.reference} was already reversed on {timezone.localtime(current.reversed_at):%Y-%m-%d}."
        )
    current.status = SettlementStatus.REVERSED
    current.reversed_by = by
    current.reversed_at = timezone.now()
    current.reversal_reason = reason
    current._history_user = by
    current._change_reason = f"Reversed: {reason}"[:100]
    current.save(update_fields=["status", "reversed_by", "reversed_at", "reversal_reason"])
    SettlementMonth.objects.filter(settlement=current).delete()
    return current


def _months_text(months: list[dt.date]) -> str:
    if len(months) == 1:
        return month_label(months[0])
    return f"{month_label(months[0])} – {month_label(months[-1])}"


def settlement_months_text(settlement: Settlement) -> str:
    """`October 2026 – December 2026`, or the one month."""
    return _months_text(sorted({settlement.first_month, settlement.last_month}))


def settlement_audit_title(row) -> str:
    """A settlement (or one of its history rows) in the audit log: `ERP-123 · 2026-10 – 2026-12`."""
    months = list(row.months or [])
    span = months[0] if len(months) == 1 else f"{months[0]} – {months[-1]}" if months else ""
    return f"{row.reference} · {span}" if span else row.reference


# --- settled, outstanding, accruing -----------------------------------------------------------


def true_up_states(
    filters: SplitFilters | Mapping[str, Any] | None = None, *, rows: QuerySet[SplitRow] | None = None
) -> dict[str, Decimal]:
    """The true-up of the split rows `filters` cover (or the given `rows`), in its three states: one query.

    `settled` (closed months an active settlement holds), `outstanding` (closed, not settled),
    `accruing` (open months) and `total`, their sum: positive, marketing owes IT.
    """
    queryset = (rows if rows is not None else split_rows(filters)).order_by()
    return _states(queryset.aggregate(**true_up_state_sums()))


def true_up_states_by_quarter(rows: QuerySet[SplitRow]) -> dict[tuple[int, int], dict[str, Decimal]]:
    """`true_up_states` of `rows` per (fiscal year, fiscal quarter) they hold: one GROUP BY query.

    Quarters without rows are absent; each quarter's states add up to its `total`, as above.
    """
    grouped = rows.order_by().values("fiscal_year", "fiscal_quarter").annotate(**true_up_state_sums())
    return {(sums["fiscal_year"], sums["fiscal_quarter"]): _states(sums) for sums in grouped}


def _states(sums: Mapping[str, Any]) -> dict[str, Decimal]:
    """Settled, outstanding, accruing (from `true_up_state_sums`) in cents, and `total`, their sum."""
    states = {
        "settled": Decimal(sums["true_up_settled"]).quantize(CENT),
        "outstanding": Decimal(sums["true_up_outstanding"]).quantize(CENT),
        "accruing": Decimal(sums["true_up_accruing"]).quantize(CENT),
    }
    states["total"] = states["settled"] + states["outstanding"] + states["accruing"]
    return states


def settlements_exist() -> bool:
    """Has finance settled anything yet (an active settlement)? Until then a true-up is shown as its total."""
    return Settlement.objects.filter(status=SettlementStatus.ACTIVE).exists()


# --- what finance may settle, and what was settled ---------------------------------------------


def settleable_months() -> list[dt.date]:
    """Closed months (locked, split frozen) that no active settlement holds, oldest first."""
    return list(
        ClosedMonth.objects.filter(settlement_month__isnull=True).order_by("month").values_list("month", flat=True)
    )


def settleable_quarters(months: Iterable[dt.date] | None = None) -> list[tuple[int, int, list[dt.date]]]:
    """Whole fiscal quarters whose three months are all settleable: (fiscal year, quarter, months), oldest first."""
    available = set(settleable_months() if months is None else months)
    quarters = {(fiscal_year(month), fiscal_quarter(month)) for month in available}
    return [
        (year, quarter, quarter_months)
        for year, quarter in sorted(quarters)
        if set(quarter_months := fiscal_quarter_months(year, quarter)) <= available
    ]


def settlements() -> QuerySet[Settlement]:
    """Every settlement, newest months first, with who created and reversed it."""
    return Settlement.objects.select_related("created_by", "reversed_by").order_by("-first_month", "-created_at", "-pk")


def settled_month_references() -> dict[dt.date, str]:
    """Every month an active settlement holds → its ERP reference (one query)."""
    return dict(SettlementMonth.objects.values_list("month", "settlement__reference"))


def settlement_direction(amount: Decimal) -> str:
    """`Marketing pays IT`, `IT pays marketing`, or `Nothing to pay` (PRODUCT.md §3: positive, marketing pays IT)."""
    if amount > 0:
        return "Marketing pays IT"
    if amount < 0:
        return "IT pays marketing"
    return "Nothing to pay"
