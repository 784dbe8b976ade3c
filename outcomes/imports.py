"""CSV import of outcome measurements (PRODUCT.md §3b and §4): `initiative_code,kpi,measured_on,value`.

One code path for the web page (`/outcomes/import/`: preview, then confirm) and the `import_outcomes`
command. Like every import it is all-or-nothing: the whole file is validated first — every bad row is
reported with its line, column and reason — and only a clean file is written, in one transaction.
Reading the file and the row errors are the budget importers' (`budgets.services.imports_common`).

- `kpi` is the KPI's name within the initiative, in any case;
- each row is checked by the measurement's one rule (`outcomes.services.measurement_errors`);
- only the initiative's owner records its measurements, from its approval on (`outcome.measure`): a row of
  anyone else's initiative is a row error; finance, executives and admins may not import at all;
- a (KPI, day) already stored with the same value is unchanged, with another value it is corrected: the
  same file imported again adds nothing. Period locks do not apply (a measurement is not money).

The writes are batched — new rows and their history rows by COPY on PostgreSQL (`bulk_create_with_history`
elsewhere), changed ones by `bulk_update_with_history` — then each touched KPI's measured figures are
refreshed once (`kpis_refresh`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgets.services.imports import upload_store
from budgets.services.imports_actuals import copy_rows  # COPY of rows in CSV, quoting done right
from budgets.services.imports_common import (
    AMOUNT_TEXT_LENGTH,
    BATCH_SIZE,
    FILE_LEVEL,
    ImportFileError,
    RowError,
    Rows,
    chunks,
    read_csv,
    shown,
)
from initiatives.models import Initiative
from initiatives.rules import visible_initiatives
from portfolio import policy
from portfolio.text import canonical_code, storable

from .models import OutcomeKpi, OutcomeMeasurement
from .services import kpis_refresh, measurement_errors, today

COLUMNS = ("initiative_code", "kpi", "measured_on", "value")
UPLOAD_KIND = "outcomes"


@dataclass
class OutcomesImportReport:
    """What an import found (preview) or did (confirmed). `errors` non-empty means nothing was saved."""

    file_name: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    kpis: int = 0
    errors: list[RowError] = field(default_factory=list)
    saved: bool = False
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def nothing_new(self) -> bool:
        return self.ok and not self.new and not self.changed

    @property
    def message(self) -> str:
        if self.errors:
            count = len(self.errors)
            return f"{self.file_name} was not imported: {count} error{'s' if count != 1 else ''}. Nothing was saved."
        if self.nothing_new:
            return f"Nothing new to import: every row of {self.file_name} matches what is stored. Nothing changed."
        verb = "Imported" if self.saved else "Ready to import"
        parts = [f"{self.new:,} new measurement{'s' if self.new != 1 else ''}"]
        if self.changed:
            parts.append(f"{self.changed:,} changed")
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        kpis = f"{self.kpis:,} KPI{'s' if self.kpis != 1 else ''}"
        return f"{verb} {', '.join(parts)} of {kpis} from {self.file_name}."


def may_import(user) -> bool:
    """Project managers import measurements (of their own initiatives, checked per row)."""
    return bool(user and user.is_authenticated and policy.is_pm(user))


def outcomes_import(*, data: bytes, file_name: str, by, dry_run: bool = False) -> OutcomesImportReport:
    """Validate a measurements CSV and, unless `dry_run` or anything is wrong, import it all.

    Returns the report; when `report.errors` is not empty nothing was saved. Anyone but a PM is refused
    with PermissionDenied.
    """
    if not may_import(by):
        raise PermissionDenied("Only project managers import measurements, of their own initiatives.")
    started = time.monotonic()
    report = OutcomesImportReport(file_name=storable(file_name))
    try:
        columns, records = read_csv(data, columns=COLUMNS)
    except ImportFileError as error:
        report.errors = error.errors
        return report
    report.rows = len(records)
    try:
        with transaction.atomic():
            rows = Rows(columns, records)
            plan = _validate(rows, report, by=by)
            if rows.errors:
                report.errors = sorted(rows.errors, key=lambda error: error.line)
            elif not dry_run and (plan.new or plan.changed):
                _write(plan, by=by, reason=f"Import of {report.file_name}"[:100])
                report.saved = True
    except IntegrityError:
        report.saved = False
        report.errors = [
            RowError(1, FILE_LEVEL, "Another change to the same measurements happened at the same time; import again.")
        ]
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


@dataclass
class _Plan:
    new: list[OutcomeMeasurement] = field(default_factory=list)
    changed: list[OutcomeMeasurement] = field(default_factory=list)
    kpi_ids: set[int] = field(default_factory=set)


def _initiatives(rows: Rows, by) -> dict[str, Initiative]:
    """The initiatives the file names that `by` may see, by code, each row locked (primary-key order)."""
    index = rows.columns["initiative_code"]
    codes = {canonical_code(values[index]) for _, values in rows.records if index < len(values)}
    found: dict[str, Initiative] = {}
    for chunk in chunks(sorted(codes)):
        visible = visible_initiatives(by, Initiative.objects.filter(code__in=chunk))
        for initiative in visible.select_for_update().order_by("pk").only("pk", "code", "status", "owner_id"):
            found[initiative.code] = initiative
    return found


def _kpis(initiative_ids: set[int]) -> dict[tuple[int, str], int]:
    """(initiative id, KPI name in lower case) → KPI id."""
    found: dict[tuple[int, str], int] = {}
    for chunk in chunks(sorted(initiative_ids)):
        for pk, initiative_id, name in OutcomeKpi.objects.filter(initiative_id__in=chunk).values_list(
            "pk", "initiative_id", "name"
        ):
            found[(initiative_id, name.lower())] = pk
    return found


def _value_errors(measured_on: str, value: str) -> tuple[dt.date | None, Decimal | None, dict[str, str]]:
    """`measurement_errors`, with the import's words for a value too long to read or written with a comma."""
    if len(value.strip()) > AMOUNT_TEXT_LENGTH:
        day, _, errors = measurement_errors(measured_on, "0")
        errors["value"] = f"{shown(value.strip())} is too long to be a value: at most {AMOUNT_TEXT_LENGTH} characters."
        return day, None, errors
    if "," in value:  # refused by the services too; in a file 3,95 is most likely a decimal comma: say so
        day, _, errors = measurement_errors(measured_on, "0")
        errors["value"] = f"{shown(value.strip())} has a comma: write the value with a decimal point and no separators."
        return day, None, errors
    return measurement_errors(measured_on, value)


def _validate(rows: Rows, report: OutcomesImportReport, *, by) -> _Plan:
    initiatives = _initiatives(rows, by)
    measurable = {code: policy.can(by, "outcome.measure", initiative) for code, initiative in initiatives.items()}
    kpis = _kpis({initiative.pk for code, initiative in initiatives.items() if measurable[code]})
    parsed: dict[tuple[int, dt.date], tuple[int, Decimal]] = {}  # (kpi, day) → (line, value)
    now = today()
    for line, row in rows:
        code = canonical_code(row["initiative_code"])
        initiative = initiatives.get(code)
        kpi_id = None
        if not code:
            rows.error(line, "initiative_code", "A value is required")
        elif initiative is None:
            rows.error(line, "initiative_code", f"Unknown initiative code {shown(row['initiative_code'].strip())}")
        elif not measurable[code]:
            rows.error(line, "initiative_code", _refusal(initiative, by))
        else:
            name = row["kpi"].strip()
            kpi_id = kpis.get((initiative.pk, name.lower()))
            if not name:
                rows.error(line, "kpi", "A value is required")
            elif kpi_id is None:
                rows.error(line, "kpi", f"{initiative.code} has no KPI named {shown(name)}")
        day, value, errors = _value_errors(row["measured_on"], row["value"])
        for column in ("measured_on", "value"):
            if column in errors:
                rows.error(line, column, errors[column])
        if kpi_id is None or errors or day is None or value is None or day > now:
            continue
        if (kpi_id, day) in parsed:
            first = parsed[(kpi_id, day)][0]
            rows.error(line, "measured_on", f"This KPI's measurement of {day:%Y-%m-%d} also appears on line {first}")
            continue
        parsed[(kpi_id, day)] = (line, value)
    plan = _Plan()
    if rows.errors:
        return plan
    stored = _stored(parsed)
    for (kpi_id, day), (_, value) in parsed.items():
        before = stored.get((kpi_id, day))
        if before is None:
            plan.new.append(OutcomeMeasurement(kpi_id=kpi_id, measured_on=day, value=value, recorded_by=by))
        elif before.value == value:
            report.unchanged += 1
            continue
        else:
            before.value, before.recorded_by = value, by
            plan.changed.append(before)
        plan.kpi_ids.add(kpi_id)
    report.new, report.changed, report.kpis = len(plan.new), len(plan.changed), len(plan.kpi_ids)
    return plan


def _refusal(initiative: Initiative, by) -> str:
    if initiative.owner_id != by.pk:
        return f"{initiative.code} is not your initiative: only its owner records its measurements"
    status = initiative.get_status_display().lower()
    return f"{initiative.code} is {status}: measurements are recorded from its approval on"


def _stored(parsed: dict[tuple[int, dt.date], tuple[int, Decimal]]) -> dict[tuple[int, dt.date], OutcomeMeasurement]:
    """The measurements already stored for the file's (KPI, day) pairs: one query per chunk of KPIs."""
    days_by_kpi: dict[int, list[dt.date]] = defaultdict(list)
    for kpi_id, day in parsed:
        days_by_kpi[kpi_id].append(day)
    found: dict[tuple[int, dt.date], OutcomeMeasurement] = {}
    for chunk in chunks(sorted(days_by_kpi), 1000):
        first = min(min(days_by_kpi[kpi_id]) for kpi_id in chunk)
        last = max(max(days_by_kpi[kpi_id]) for kpi_id in chunk)
        for measurement in OutcomeMeasurement.objects.filter(kpi_id__in=chunk, measured_on__range=(first, last)).only(
            "pk", "kpi_id", "measured_on", "value", "recorded_by_id", "created_at"
        ):
            key = (measurement.kpi_id, measurement.measured_on)
            if key in parsed:
                found[key] = measurement
    return found


def _write(plan: _Plan, *, by, reason: str) -> None:
    if plan.new and connection.vendor == "postgresql":
        _copy_with_history(plan.new, by=by, reason=reason)
    elif plan.new:
        bulk_create_with_history(
            plan.new, OutcomeMeasurement, batch_size=BATCH_SIZE, default_user=by, default_change_reason=reason
        )
    if plan.changed:
        bulk_update_with_history(
            plan.changed,
            OutcomeMeasurement,
            ["value", "recorded_by"],
            batch_size=BATCH_SIZE,
            default_user=by,
            default_change_reason=reason,
        )
    kpis_refresh(plan.kpi_ids)


_COLUMNS = ["id", "kpi_id", "measured_on", "value", "recorded_by_id", "created_at"]
_HISTORY = ["history_date", "history_change_reason", "history_type", "history_user_id"]


def _copy_with_history(measurements: list[OutcomeMeasurement], *, by, reason: str) -> None:
    """PostgreSQL: COPY the new measurements, then one "created" history row each — the rows
    `bulk_create_with_history` would write, at COPY speed (as the actuals importer does): ids are drawn
    from the table's sequence first, so each history row names its measurement."""
    now = timezone.now()
    table = OutcomeMeasurement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(measurements)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        rows = [[pk, m.kpi_id, m.measured_on, m.value, by.pk, now] for pk, m in zip(ids, measurements, strict=True)]
        copy_rows(cursor, table, _COLUMNS, rows)
        history = [[*row, now, reason, "+", by.pk] for row in rows]
        copy_rows(cursor, OutcomeMeasurement.history.model._meta.db_table, _COLUMNS + _HISTORY, history)


def outcomes_upload_store(*, data: bytes, file_name: str, by) -> str:
    """Keep an uploaded measurements file until it is confirmed, beside the finance uploads (same store:
    `import_upload_load` / `import_upload_discard` read and remove it); return its token."""
    return upload_store(data=data, kind=UPLOAD_KIND, file_name=file_name, by=by)
