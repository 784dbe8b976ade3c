"""The history (django-simple-history) the app would have recorded for the records a seed creates.

Bulk inserts write no history, so the seed writes what the app itself would have recorded,
for every record this run created and for none it did not:
- initiatives: one entry per timeline event that changed the initiative, by whoever acted,
  with the status, sign-off times and share as they were then (filed → "created" by the PM,
  then each workflow step or applied share change "changed"; a change's proposal and first
  approval leave it as it was); the platforms each entry links to, as simple_history keeps them;
- co-funding agreements: "created" when the second sponsor's signature completed them, by that
  sponsor, for the dual sign-off or the share change (`initiatives.agreements`' reasons);
- budget lines: "created" by finance in the budget grid the working day after the sponsors'
  sign-off (after filing for initiatives not signed off yet), and a later fiscal year's lines
  when that year opened; reason "Budget grid FY2026", the grid's own;
- ERP expenses: "created" by finance's nightly ERP import at 06:30 the morning after their
  posting day (their created_at too), reason "Import of erp-actuals-2026-03-14.csv";
- new FX rates: "created" by finance's import on the first morning of their month.
All of it is in the past (capped at `now`). The closed months' locks, freezes and settlements
are dated by `demo.closing`. Set-based where the rows are many: the initiatives' and the expenses' entries are one
INSERT … SELECT each (1,000,000 expenses take a few seconds); the budget lines' (one per line,
~13 per initiative) go through COPY.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone

from budgets.models import BudgetLine, Expense, FxRate
from demo.bulk import (
    BULK_BATCH_ROWS,
    IsoDates,
    IsoTimes,
    bulk_create_batched,
    copy_lines,
    indexes_and_foreign_keys_suspended,
)
from demo.finance import ERP_IMPORT_FILE_PREFIX, FX_IMPORT_TIME
from demo.initiatives import InitiativePlan
from demo.timelines import Timeline, office_time
from initiatives.choices import Action
from initiatives.models import CoFundingAgreement, Initiative, InitiativeChangeProposal, InitiativeTransition
from portfolio.fiscal import fiscal_year, fiscal_year_start

# The history tables the seed fills, for ANALYZE and the index tests.
HISTORY_MODELS: tuple[type[models.Model], ...] = (
    Initiative.history.model,
    Initiative.history.model.platforms.model,
    CoFundingAgreement.history.model,
    BudgetLine.history.model,
    Expense.history.model,
    FxRate.history.model,
)
# simple_history's own columns; every other column of a history table is the record's.
AGREEMENT_FIRST_REASON = "Dual sign-off"
AGREEMENT_CHANGE_REASON = "Share change approved: "  # + the proposal's reason
# Steps of a share change that leave the initiative as it was until the last approval applies it.
HISTORYLESS_ACTIONS = (Action.PROPOSE_CHANGE, Action.APPROVE_CHANGE)
_HISTORY_FIELDS = frozenset({"history_id", "history_date", "history_change_reason", "history_type", "history_user"})


def demo_history_write(
    rng: random.Random,
    *,
    plans: Sequence[InitiativePlan],
    timelines: Sequence[Timeline],
    new_fx_rates: Sequence[FxRate],
    finance_id: int,
    expense_count: int,
    now: dt.datetime,
    progress: bool = False,
) -> int:
    """Write the history entries of the records this run created (see the module docstring); return how many."""
    written = _fx_rate_history_write(rng, new_fx_rates, finance_id=finance_id, now=now)
    if not plans:
        return written
    # The run's initiatives got consecutive ids inside this transaction; their budget lines and
    # expenses are the only ones that point at them.
    first_id, last_id = min(plan.id for plan in plans), max(plan.id for plan in plans)
    written += _initiative_history_insert(first_id, last_id)
    written += _agreement_history_insert(first_id, last_id)
    written += _budget_line_history_write(rng, plans, timelines, finance_id=finance_id, now=now, progress=progress)
    written += _expense_history_insert(first_id, last_id, finance_id=finance_id, incoming=expense_count)
    return written


def _record_columns(history: type[models.Model]) -> list[str]:
    """The columns a history table copies from its record (all but simple_history's own)."""
    return [field.column for field in history._meta.concrete_fields if field.name not in _HISTORY_FIELDS]


def _initiative_history_insert(first_id: int, last_id: int) -> int:
    """One entry per timeline event (InitiativeTransition), as the workflow services record them."""
    history = Initiative.history.model
    quote = connection.ops.quote_name
    as_then = ("status", "marketing_approved_at", "it_approved_at", "marketing_share_pct")  # what events changed
    copied = [column for column in _record_columns(history) if column not in as_then]
    columns = ", ".join(quote(column) for column in (*copied, *as_then))
    values = ", ".join(f"i.{quote(column)}" for column in copied)
    agreements = quote(CoFundingAgreement._meta.db_table)
    # Only names from the models, quoted, go into the text; the values are parameters. The share
    # of the moment is the one in force then among the agreements signed by then (before the
    # first: the share the sponsors signed off). A proposal or a first approval of a change
    # leaves the initiative as it was: no entry, as in the app.
    sql = f"""
        INSERT INTO {quote(history._meta.db_table)}
            ({columns}, history_date, history_change_reason, history_type, history_user_id)
        SELECT {values}, t.to_status,
            CASE WHEN i.marketing_approved_at <= t.at THEN i.marketing_approved_at END,
            CASE WHEN i.it_approved_at <= t.at THEN i.it_approved_at END,
            COALESCE(
                (SELECT a.marketing_share_pct FROM {agreements} a
                 WHERE a.initiative_id = i.id AND a.created_at <= t.at AND a.effective_from <= t.at
                 ORDER BY a.effective_from DESC LIMIT 1),
                (SELECT a.marketing_share_pct FROM {agreements} a
                 WHERE a.initiative_id = i.id ORDER BY a.effective_from LIMIT 1),
                i.marketing_share_pct
            ),
            t.at, NULL, CASE WHEN t.action = %s THEN '+' ELSE '~' END, t.by_id
        FROM {quote(Initiative._meta.db_table)} i
        JOIN {quote(InitiativeTransition._meta.db_table)} t ON t.initiative_id = i.id
        WHERE i.id BETWEEN %s AND %s AND t.action NOT IN (%s, %s)
        ORDER BY t.at, t.id
    """  # noqa: S608  # nosec B608 - quoted model names only
    platforms = history.platforms.model
    links = f"""
        INSERT INTO {quote(platforms._meta.db_table)} (id, history_id, from_initiative_id, to_initiative_id)
        SELECT p.id, h.history_id, p.from_initiative_id, p.to_initiative_id
        FROM {quote(history._meta.db_table)} h
        JOIN {quote(Initiative.platforms.through._meta.db_table)} p ON p.from_initiative_id = h.id
        WHERE h.id BETWEEN %s AND %s
    """  # noqa: S608  # nosec B608 - quoted model names only
    with connection.cursor() as cursor:
        cursor.execute(sql, [Action.CREATE, first_id, last_id, *HISTORYLESS_ACTIONS])
        written = cursor.rowcount
        cursor.execute(links, [first_id, last_id])
    return written


def _agreement_history_insert(first_id: int, last_id: int) -> int:
    """A "created" entry per agreement, by the sponsor whose signature completed it, when it did.

    With the change reasons `initiatives.agreements` records: the dual sign-off, or the share change.
    """
    history = CoFundingAgreement.history.model
    quote = connection.ops.quote_name
    columns = _record_columns(history)
    listed = ", ".join(quote(column) for column in columns)
    values = ", ".join(f"a.{quote(column)}" for column in columns)
    sql = f"""
        INSERT INTO {quote(history._meta.db_table)}
            ({listed}, history_date, history_change_reason, history_type, history_user_id)
        SELECT {values}, a.created_at,
            CASE WHEN p.id IS NULL THEN %s ELSE SUBSTR(%s || p.reason, 1, 100) END, '+',
            CASE WHEN a.marketing_signed_at > a.it_signed_at THEN a.marketing_signed_by_id ELSE a.it_signed_by_id END
        FROM {quote(CoFundingAgreement._meta.db_table)} a
        LEFT JOIN {quote(InitiativeChangeProposal._meta.db_table)} p ON p.id = a.proposal_id
        WHERE a.initiative_id BETWEEN %s AND %s
        ORDER BY a.created_at, a.id
    """  # noqa: S608  # nosec B608 - quoted model names only
    with connection.cursor() as cursor:
        cursor.execute(sql, [AGREEMENT_FIRST_REASON, AGREEMENT_CHANGE_REASON, first_id, last_id])
        return cursor.rowcount


_BUDGET_LINE_COLUMNS = ("id", "initiative_id", "month", "category", "amount")


def _budget_line_history_write(
    rng: random.Random,
    plans: Sequence[InitiativePlan],
    timelines: Sequence[Timeline],
    *,
    finance_id: int,
    now: dt.datetime,
    progress: bool,
) -> int:
    """A "created" entry per budget line: finance saved the initiative's grid once per fiscal year."""
    tz = timezone.get_current_timezone()
    first_saved = {
        plan.id: _budget_first_saved_at(rng, timeline, tz) for plan, timeline in zip(plans, timelines, strict=True)
    }
    saves: dict[tuple[int, int], tuple[dt.datetime, str]] = {}

    def grid_save(initiative_id: int, month: dt.date) -> tuple[dt.datetime, str]:
        """(when, reason) of the grid save that entered this line; a later fiscal year's once it opened."""
        year = fiscal_year(month)
        key = (initiative_id, year)
        if key not in saves:
            opened = office_time(rng, fiscal_year_start(year), tz)
            saves[key] = (min(max(first_saved[initiative_id], opened), now), f"Budget grid FY{year}")
        return saves[key]

    # Read here, whole: COPY's helper thread must not touch the database (~13 small rows per initiative).
    rows = list(
        BudgetLine.objects.filter(initiative_id__gte=min(first_saved), initiative_id__lte=max(first_saved))
        .order_by("initiative_id", "month", "category")
        .values_list(*_BUDGET_LINE_COLUMNS)
    )
    history = BudgetLine.history.model
    if connection.vendor == "postgresql":
        iso_dates, iso_times = IsoDates(), IsoTimes()
        csv_lines = []
        for line_id, initiative_id, month, category, amount in rows:
            at, reason = grid_save(initiative_id, month)
            csv_lines.append(
                f"{line_id},{initiative_id},{iso_dates[month]},{category},{amount},"
                f"{iso_times[at]},{reason},+,{finance_id}\n"
            )
        columns = (*_BUDGET_LINE_COLUMNS, "history_date", "history_change_reason", "history_type", "history_user_id")
        return copy_lines(history, columns, csv_lines, "Budget history", len(csv_lines), progress)
    entries = (
        history(
            id=line_id,
            initiative_id=initiative_id,
            month=month,
            category=category,
            amount=amount,
            history_date=grid_save(initiative_id, month)[0],
            history_change_reason=grid_save(initiative_id, month)[1],
            history_type="+",
            history_user_id=finance_id,
        )
        for line_id, initiative_id, month, category, amount in rows
    )
    return bulk_create_batched(history, entries, "Budget history", len(rows), progress)


def _budget_first_saved_at(rng: random.Random, timeline: Timeline, tz: dt.tzinfo) -> dt.datetime:
    """When finance first saved the initiative's budget grid: the working morning after sign-off (or filing)."""
    signed_off = [at for at in (timeline.marketing_approved_at, timeline.it_approved_at) if at is not None]
    anchor = max(signed_off) if signed_off else timeline.filed_at
    day = timezone.localtime(anchor, tz).date() + dt.timedelta(days=1)
    while day.weekday() >= 5:  # Saturday, Sunday
        day += dt.timedelta(days=1)
    return office_time(rng, day, tz)


def _expense_history_insert(first_id: int, last_id: int, *, finance_id: int, incoming: int) -> int:
    """A "created" entry per ERP expense, by finance, when its nightly import ran (its created_at)."""
    history = Expense.history.model
    quote = connection.ops.quote_name
    columns = _record_columns(history)
    listed = ", ".join(quote(column) for column in columns)
    values = ", ".join(f"e.{quote(column)}" for column in columns)
    # The import file is named after the posting day: YYYY-MM-DD (SQLite keeps dates as that text).
    day = "to_char(e.incurred_on, 'YYYY-MM-DD')" if connection.vendor == "postgresql" else "e.incurred_on"
    sql = f"""
        INSERT INTO {quote(history._meta.db_table)}
            ({listed}, history_date, history_change_reason, history_type, history_user_id)
        SELECT {values}, e.created_at, 'Import of {ERP_IMPORT_FILE_PREFIX}' || {day} || '.csv', '+', %s
        FROM {quote(Expense._meta.db_table)} e
        WHERE e.initiative_id BETWEEN %s AND %s
    """  # noqa: S608  # nosec B608 - quoted model names and constants only
    suspended = (
        indexes_and_foreign_keys_suspended(history, incoming=incoming)
        if connection.vendor == "postgresql"
        else contextlib.nullcontext()
    )
    with suspended, connection.cursor() as cursor:
        cursor.execute(sql, [finance_id, first_id, last_id])
        return cursor.rowcount


def _fx_rate_history_write(rng: random.Random, rates: Sequence[FxRate], *, finance_id: int, now: dt.datetime) -> int:
    """A "created" entry per new FX rate: finance imported each month's rates on its first morning."""
    tz = timezone.get_current_timezone()
    imported: dict[dt.date, dt.datetime] = {}
    for month in sorted({rate.month for rate in rates}):
        opened = dt.datetime.combine(month, FX_IMPORT_TIME, tzinfo=tz) + dt.timedelta(minutes=rng.randint(0, 90))
        imported[month] = min(opened, now)
    history = FxRate.history.model
    entries = [
        history(
            id=rate.pk,
            currency=rate.currency,
            month=rate.month,
            rate=rate.rate,
            history_date=imported[rate.month],
            history_change_reason=f"Import of fx-rates-{rate.month:%Y-%m}.csv",
            history_type="+",
            history_user_id=finance_id,
        )
        for rate in rates
    ]
    history.objects.bulk_create(entries, batch_size=BULK_BATCH_ROWS)
    return len(entries)
