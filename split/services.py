"""The spend-split engine (PRODUCT.md §3): recompute the split table, record the run.

`split_recompute` is the one code path behind the nightly Celery task, the
`recompute_split` command and the "Recompute now" button:

1. claim the run (a `SplitRun` row, committed as `running` so the UI can show it);
2. in ONE transaction: take the single-flight lock (skip if another run holds it),
   delete the split table, rebuild it with one set-based aggregation over budget
   lines and expenses grouped by initiative and month, append the compact history
   (roll-ups by lane and fiscal month, computed from the new table in SQL) and mark
   the run succeeded. Readers see the old table or the new one, never a mix; a run
   killed halfway leaves the old table in place;
3. if anything fails, the transaction is rolled back and the failure is recorded in
   a transaction of its own, so finance sees it on /split/runs/.

On PostgreSQL the whole table is built by one `INSERT … SELECT` that does the §3
arithmetic in SQL (`round(numeric, 2)` rounds halves away from zero, like
`round_half_up`). SQLite's `round` works on floats, so there the database sums
integer cents per initiative and month and the rows go through
`split.arithmetic` in Python: still one grouped query, never one
expense row in Python.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from initiatives.choices import NotificationKind
from initiatives.models import Initiative
from initiatives.notifications import notifications_queue
from portfolio import fiscal
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, cents_to_amount, split_amounts
from split.choices import RunStatus
from split.models import OverspendAlert, SplitRow, SplitRun
from split.signals import split_recomputed

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key of the recompute ("SPLIT" in ASCII): any constant
# works as long as nothing else in the database uses it.
SPLIT_ADVISORY_LOCK_KEY = 0x53504C4954
# A queued run that no worker picked up within this many seconds is given up:
# the task message itself expires then (see split_recompute_request).
QUEUED_RUN_EXPIRES_SECONDS = 3600
TRIGGERS = ("schedule", "command", "ui", "api")
FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.SKIPPED)

SKIPPED_REASON = "Skipped: another recompute was running at the time; this one did nothing."
INTERRUPTED_REASON = "Interrupted: the worker stopped before the run finished; the previous split was kept."
EXPIRED_REASON = "Expired: no worker picked the run up within an hour. Start it again."
QUEUE_UNAVAILABLE = "Queue unavailable, try again."


class SplitRecomputeError(Exception):
    """A recompute could not be started or run; the message is meant for the user."""


class SplitQueueUnavailable(SplitRecomputeError):
    """The task could not be handed to the broker; the run was marked failed."""


# --- triggers ----------------------------------------------------------------


def split_run_queue(*, trigger: str, by: AbstractBaseUser | None = None) -> SplitRun:
    """Record a run as queued (the row the UI shows until a worker picks it up)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}; expected one of {', '.join(TRIGGERS)}")
    return SplitRun.objects.create(status=RunStatus.QUEUED, trigger=trigger, requested_by=by)


def split_recompute_request(*, by: AbstractBaseUser | None, trigger: str = "ui") -> SplitRun:
    """Queue a recompute for a person (the UI and the API): create the run, enqueue it after commit.

    The task is sent only once the run row is committed (`on_commit`), so the worker
    always finds it. If the broker cannot be reached, the run is marked failed and
    `SplitQueueUnavailable` is raised for the caller to show. Call it outside any
    transaction (views and API views are not atomic) so that the commit, and with it
    the sending and its error, happen inside this call.
    """
    with transaction.atomic():
        run = split_run_queue(trigger=trigger, by=by)
        transaction.on_commit(lambda: _enqueue(run), robust=False)
    run.refresh_from_db()
    return run


def _enqueue(run: SplitRun) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from split.tasks import split_recompute_task

    try:
        split_recompute_task.apply_async(
            kwargs={"run_id": str(run.pk)},
            expires=QUEUED_RUN_EXPIRES_SECONDS,
            # Fail fast when the broker is down: the person is waiting for the page.
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except (BrokerError, ConnectionError, OSError) as exc:
        logger.error("split run %s: could not queue the task: %s", run.pk, exc)
        SplitRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=f"{QUEUE_UNAVAILABLE} ({exc})"
        )
        raise SplitQueueUnavailable(
            "The recompute could not be queued: the task queue is unavailable. Try again in a minute."
        ) from exc


# --- the recompute -------------------------------------------------------------


class _Skipped(Exception):
    """Another run holds the single-flight lock."""


def split_recompute(
    *, run_id: uuid.UUID | str | None = None, trigger: str = "command", by: AbstractBaseUser | None = None
) -> SplitRun:
    """Recompute the whole split table and record the run; returns the run in its final state.

    With `run_id`, the queued run of that id is executed (the task path); without,
    a new run is recorded for `trigger`. A run that already succeeded or was
    skipped is returned untouched (a redelivered task message changes nothing).
    Raises the original exception after recording a failure.

    Deliberately not `@transaction.atomic`: it commits the claim, the rebuild and
    a failure record separately, so that others can see the run is running and a
    failure survives the rollback of the rebuild.
    """
    run = _claim(run_id=run_id, trigger=trigger, by=by)
    if run.status in FINAL_STATUSES:
        return run
    started = time.perf_counter()
    try:
        # The file lock (SQLite) is released by `held` only after the commit.
        with ExitStack() as held, transaction.atomic():
            if not _single_flight(held):
                raise _Skipped
            _close_abandoned_runs(current=run)
            row_count = _rebuild_split_table()
            _append_history(run)
            duration_ms = round((time.perf_counter() - started) * 1000)
            SplitRun.objects.filter(pk=run.pk).update(
                status=RunStatus.SUCCEEDED,
                finished_at=timezone.now(),
                duration_ms=duration_ms,
                row_count=row_count,
                error="",
            )
    except _Skipped:
        logger.warning("split run %s skipped: another recompute holds the lock", run.pk)
        _finish(run, status=RunStatus.SKIPPED, error=SKIPPED_REASON, started=started)
    except BaseException as exc:
        logger.exception("split run %s failed", run.pk)
        _finish(run, status=RunStatus.FAILED, error=_describe(exc), started=started)
        raise
    else:
        logger.info("split run %s: %s rows in %s ms", run.pk, row_count, duration_ms)
        _after_success(run)
    run.refresh_from_db()
    return run


def _after_success(run: SplitRun) -> None:
    """Make the first reads of the new table fast: fresh planner statistics, then a warm dashboard cache.

    The rebuild replaced every row, so PostgreSQL's statistics describe the previous
    table (or an empty one) until autovacuum gets to it, and plans chosen on them can
    be a hundred times slower. Neither step changes any figure: a failure is logged,
    and the run stays succeeded.
    """
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE budgets_splitrow, budgets_splithistory")
    except Exception:
        logger.warning("split recompute: refreshing statistics failed", exc_info=True)
    # The wings above (the dashboard) warm their caches; they import this module, not the reverse.
    for receiver, outcome in split_recomputed.send_robust(sender=SplitRun, run=run):
        if isinstance(outcome, Exception):
            logger.warning("split recompute: %s failed after the run", receiver, exc_info=outcome)


def _claim(*, run_id: uuid.UUID | str | None, trigger: str, by: AbstractBaseUser | None) -> SplitRun:
    now = timezone.now()
    with transaction.atomic():
        if run_id is None:
            if trigger not in TRIGGERS:
                raise ValueError(f"unknown trigger {trigger!r}")
            return SplitRun.objects.create(status=RunStatus.RUNNING, trigger=trigger, requested_by=by, started_at=now)
        run = SplitRun.objects.select_for_update().get(pk=run_id)
        if run.status in FINAL_STATUSES:
            return run
        # queued (first delivery), running (redelivered after a worker died) or failed (a retry)
        run.status, run.started_at, run.finished_at, run.error = RunStatus.RUNNING, now, None, ""
        run.save(update_fields=["status", "started_at", "finished_at", "error"])
        return run


def _finish(run: SplitRun, *, status: str, error: str, started: float) -> None:
    """Record a skipped or failed run after the rebuild's transaction was rolled back."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # a lost connection must not hide the failure
        SplitRun.objects.filter(pk=run.pk).update(
            status=status,
            finished_at=timezone.now(),
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
    except Exception:
        logger.exception("split run %s: could not record its %s state", run.pk, status)


def _describe(exc: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return "Failed: the recompute took longer than its time limit; the previous split was kept."
    return f"Failed: {type(exc).__name__}: {exc}".strip()[:2000]


def _close_abandoned_runs(*, current: SplitRun) -> None:
    """Runs the lock proves dead (`running` without the lock) or too old to start are closed."""
    now = timezone.now()
    SplitRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=current.started_at).exclude(pk=current.pk).update(
        status=RunStatus.FAILED, finished_at=now, error=INTERRUPTED_REASON
    )
    SplitRun.objects.filter(
        status=RunStatus.QUEUED, queued_at__lt=now - dt.timedelta(seconds=QUEUED_RUN_EXPIRES_SECONDS)
    ).update(status=RunStatus.FAILED, finished_at=now, error=EXPIRED_REASON)


# --- single flight ---------------------------------------------------------------


def _single_flight(held: ExitStack) -> bool:
    """Take the recompute lock for the current transaction; False if another run holds it.

    PostgreSQL: a transaction-scoped advisory lock, released by commit or rollback.
    Elsewhere (SQLite): an exclusive non-blocking file lock, released by `held`
    after the transaction has ended.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SPLIT_ADVISORY_LOCK_KEY])
            return bool(cursor.fetchone()[0])
    return held.enter_context(_file_lock()) is not None


@contextmanager
def _file_lock() -> Iterator[object | None]:
    name = str(connection.settings_dict["NAME"])
    path = Path(tempfile.gettempdir()) / f"portfolio-split-{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the set-based rebuild --------------------------------------------------------

# The split table's columns as the INSERT fills them: keys and denormalised facts, then
# the money columns in the export's order (split_arithmetic.SPLIT_AMOUNT_COLUMNS).
SPLIT_ROW_COLUMNS = (
    "initiative_id",
    "month",
    "fiscal_year",
    "fiscal_quarter",
    "initiative_code",
    "initiative_title",
    "lane",
    "status",
    "marketing_share_pct",
    *SPLIT_AMOUNT_COLUMNS,
)

# One statement: budget sums and expense sums per (initiative, month), full-outer
# joined, joined to the initiative's share, §3 arithmetic in numeric. Fiscal year
# and quarter follow portfolio/fiscal.py: with start month S > 1, months from S on
# belong to the next calendar year's fiscal year; Q1 holds S.
POSTGRESQL_REBUILD = f"""
INSERT INTO budgets_splitrow ({", ".join(SPLIT_ROW_COLUMNS)})
SELECT m.initiative_id, m.month,
       extract(year FROM m.month)::int
           + CASE WHEN %(start)s > 1 AND extract(month FROM m.month) >= %(start)s THEN 1 ELSE 0 END,
       mod(extract(month FROM m.month)::int - %(start)s + 12, 12) / 3 + 1,
       i.code, i.title, i.lane, i.status, i.marketing_share_pct,
       m.planned_total, s.planned_marketing, m.planned_total - s.planned_marketing,
       m.actual_total, s.actual_marketing, m.actual_total - s.actual_marketing,
       m.paid_marketing, m.paid_it,
       s.actual_marketing - m.paid_marketing,
       m.planned_total - m.actual_total
FROM (
    SELECT coalesce(b.initiative_id, e.initiative_id) AS initiative_id,
           coalesce(b.month, e.month) AS month,
           coalesce(b.planned_total, 0) AS planned_total,
           coalesce(e.actual_total, 0) AS actual_total,
           coalesce(e.paid_marketing, 0) AS paid_marketing,
           coalesce(e.paid_it, 0) AS paid_it
    FROM (
        SELECT initiative_id, month, sum(amount) AS planned_total
        FROM budgets_budgetline
        GROUP BY initiative_id, month
    ) b
    FULL OUTER JOIN (
        SELECT initiative_id, date_trunc('month', incurred_on)::date AS month,
               sum(amount_reporting) AS actual_total,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'marketing'), 0) AS paid_marketing,
               coalesce(sum(amount_reporting) FILTER (WHERE paid_by = 'it'), 0) AS paid_it
        FROM budgets_expense
        GROUP BY initiative_id, date_trunc('month', incurred_on)
    ) e ON e.initiative_id = b.initiative_id AND e.month = b.month
) m
JOIN initiatives_initiative i ON i.id = m.initiative_id
CROSS JOIN LATERAL (
    SELECT round(m.planned_total * i.marketing_share_pct * 0.01, 2) AS planned_marketing,
           round(m.actual_total * i.marketing_share_pct * 0.01, 2) AS actual_marketing
) s
"""  # noqa: S608 - built from this module's constants only  # nosec B608


def _rebuild_split_table() -> int:
    """Replace the split table's rows (inside the caller's transaction); returns the row count."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM budgets_splitrow")
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_REBUILD, {"start": settings.FISCAL_YEAR_START_MONTH})
            return cursor.rowcount
    return _rebuild_portable()


# The portable path: the database sums integer cents per (initiative, month) –
# exact on any engine – and Python applies split.arithmetic to each
# grouped row. UNION ALL + GROUP BY plays the part of the full outer join.
_PORTABLE_MONTH = {
    "postgresql": "date_trunc('month', incurred_on)::date",
    "sqlite": "date(incurred_on, 'start of month')",
}
_PORTABLE_CENTS = {
    "postgresql": "({column} * 100)::bigint",
    "sqlite": "CAST(round({column} * 100) AS INTEGER)",
}
PORTABLE_BATCH = 2000


def portable_grouped_sql(vendor: str) -> str:
    """The grouped query of the portable path (one row per initiative and month)."""
    month = _PORTABLE_MONTH[vendor]

    def cents(column: str) -> str:
        return _PORTABLE_CENTS[vendor].format(column=column)

    return f"""
    SELECT g.initiative_id, g.month, i.code, i.title, i.lane, i.status, {cents("i.marketing_share_pct")},
           sum(g.planned), sum(g.actual), sum(g.paid_marketing), sum(g.paid_it)
    FROM (
        SELECT initiative_id, month, {cents("amount")} AS planned,
               0 AS actual, 0 AS paid_marketing, 0 AS paid_it
        FROM budgets_budgetline
        UNION ALL
        SELECT initiative_id, {month}, 0, {cents("amount_reporting")},
               CASE WHEN paid_by = 'marketing' THEN {cents("amount_reporting")} ELSE 0 END,
               CASE WHEN paid_by = 'it' THEN {cents("amount_reporting")} ELSE 0 END
        FROM budgets_expense
    ) g
    JOIN initiatives_initiative i ON i.id = g.initiative_id
    GROUP BY g.initiative_id, g.month, i.code, i.title, i.lane, i.status, i.marketing_share_pct
    ORDER BY g.initiative_id, g.month
    """  # noqa: S608 - built from this module's constants only  # nosec B608


def _rebuild_portable() -> int:
    row_count = 0
    start_month = settings.FISCAL_YEAR_START_MONTH
    with connection.cursor() as cursor:
        cursor.execute(portable_grouped_sql(connection.vendor))
        while grouped := cursor.fetchmany(PORTABLE_BATCH):
            rows = [_split_row(values, start_month) for values in grouped]
            SplitRow.objects.bulk_create(rows)
            row_count += len(rows)
    return row_count


def _split_row(values: tuple, start_month: int) -> SplitRow:
    initiative_id, month, code, title, lane, status, share_hundredths, planned, actual, paid_m, paid_it = values
    if isinstance(month, str):
        month = dt.date.fromisoformat(month)
    share = cents_to_amount(share_hundredths)
    amounts = split_amounts(
        marketing_share_pct=share,
        planned_total=cents_to_amount(planned),
        actual_total=cents_to_amount(actual),
        paid_marketing=cents_to_amount(paid_m),
        paid_it=cents_to_amount(paid_it),
    )
    return SplitRow(
        initiative_id=initiative_id,
        month=month,
        fiscal_year=fiscal.fiscal_year(month, start_month),
        fiscal_quarter=fiscal.fiscal_quarter(month, start_month),
        initiative_code=code,
        initiative_title=title,
        lane=lane,
        status=status,
        marketing_share_pct=share,
        **amounts.as_dict(),
    )


# --- the compact history --------------------------------------------------------

HISTORY_AMOUNTS = (
    "planned_total",
    "planned_marketing",
    "actual_total",
    "actual_marketing",
    "paid_marketing",
    "true_up",
)


def money_sum_sql(column: str, vendor: str | None = None) -> str:
    """SQL for an exact sum of a money column: numeric on PostgreSQL, integer cents on SQLite."""
    if (vendor or connection.vendor) == "sqlite":
        return f"sum(CAST(round({column} * 100) AS INTEGER)) / 100.0"
    return f"sum({column})"


def _append_history(run: SplitRun) -> None:
    """Per-run roll-ups by lane and fiscal month, from the new split table (size: lanes × months)."""
    sums = ", ".join(money_sum_sql(column) for column in HISTORY_AMOUNTS)
    run_id = SplitRun._meta.pk.get_db_prep_value(run.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO budgets_splithistory (run_id, lane, month, fiscal_year, {", ".join(HISTORY_AMOUNTS)})
            SELECT %s, lane, month, fiscal_year, {sums}
            FROM budgets_splitrow
            GROUP BY lane, month, fiscal_year
            """,  # noqa: S608 - column names are constants of this module  # nosec B608
            [run_id],
        )


# --- overspend alerts -------------------------------------------------------------


@dataclass(frozen=True)
class Overspend:
    """An initiative whose fiscal-year-to-date actuals exceed its plan by more than the threshold."""

    initiative_id: int
    fiscal_year: int
    planned_total: Decimal
    actual_total: Decimal


def overspending_initiatives(*, today: dt.date, threshold_pct: int | Decimal) -> list[Overspend]:
    """From the latest split: FYTD actual_total > planned_total × (1 + threshold/100), and positive.

    Year to date means the months of today's fiscal year up to and including today's month.
    """
    from django.db.models import F, Value

    from split.selectors import MoneySum

    year = fiscal.fiscal_year(today)
    first_month, _ = fiscal.fiscal_year_bounds(year)
    factor = Decimal(1) + Decimal(threshold_pct) / 100
    rows = (
        SplitRow.objects.filter(month__gte=first_month, month__lte=fiscal.month_start(today))
        .values("initiative_id")
        .annotate(planned=MoneySum("planned_total"), actual=MoneySum("actual_total"))
        .filter(actual__gt=F("planned") * Value(factor))
        .filter(actual__gt=0)
        .order_by("initiative_id")
    )
    return [Overspend(r["initiative_id"], year, r["planned"], r["actual"]) for r in rows]


def overspend_alerts_send(*, today: dt.date | None = None) -> int:
    """Email owner and both sponsors of each overspending initiative, at most once per initiative a month.

    The alert row (unique per initiative and month) and its notifications are written in
    one transaction; the e-mails go out once it commits, through the notification tasks,
    which retry a mail server that is down and record each e-mail sent or failed
    (initiatives.notifications). Returns the number of alerts written.
    """
    today = today or timezone.localdate()
    month = fiscal.month_start(today)
    threshold = settings.OVERSPEND_ALERT_PCT
    candidates = overspending_initiatives(today=today, threshold_pct=threshold)
    already = set(
        OverspendAlert.objects.filter(month=month, initiative_id__in=[c.initiative_id for c in candidates]).values_list(
            "initiative_id", flat=True
        )
    )
    due = [c for c in candidates if c.initiative_id not in already]
    initiatives = Initiative.objects.select_related("owner", "marketing_sponsor", "it_sponsor").in_bulk(
        [c.initiative_id for c in due]
    )
    sent = 0
    for overspend in due:
        initiative = initiatives[overspend.initiative_id]
        with transaction.atomic():
            _, created = OverspendAlert.objects.get_or_create(
                initiative=initiative,
                month=month,
                defaults={
                    "fiscal_year": overspend.fiscal_year,
                    "planned_total": overspend.planned_total,
                    "actual_total": overspend.actual_total,
                },
            )
            if not created:
                continue
            _queue_overspend_email(initiative, overspend, threshold)
        sent += 1
    logger.info("overspend alerts: %s sent, %s already sent this month", sent, len(candidates) - len(due))
    return sent


def _queue_overspend_email(initiative: Initiative, overspend: Overspend, threshold: int) -> None:
    label = fiscal.fiscal_year_label(overspend.fiscal_year)
    planned, actual = overspend.planned_total, overspend.actual_total
    over = f"{(actual - planned) * 100 / planned:.1f} %" if planned else "no budget planned"
    currency = settings.REPORTING_CURRENCY
    notifications_queue(
        kind=NotificationKind.OVERSPEND,
        initiative=initiative,
        recipients=[initiative.owner, initiative.marketing_sponsor, initiative.it_sponsor],
        subject=f"Overspend: {initiative.code} {initiative.title} is over its {label} budget",
        body=(
            f"{initiative.code} {initiative.title} has spent more than planned this fiscal year.\n\n"
            f"{label} to date\n"
            f"  planned: {planned:,.2f} {currency}\n"
            f"  actual:  {actual:,.2f} {currency}\n"
            f"  over:    {actual - planned:,.2f} {currency} ({over}; the alert threshold is {threshold} %)\n\n"
            f"Figures as of the latest nightly recompute. You receive this as the initiative's owner or sponsor;\n"
            f"the alert is sent at most once a month.\n\n{settings.SITE_URL}\n"
        ),
    )
