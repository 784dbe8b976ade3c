"""CSV imports of actuals, budget lines and FX rates (PRODUCT.md §4).

One code path for the web upload (preview, then confirm) and the
`import_actuals` / `import_budget` commands. An import is all-or-nothing: the
whole file is validated first — every bad row is reported with its line,
column and reason — and only a clean file is written, in one transaction.

The importers live beside this module: `imports_actuals`, `imports_budget` and
`imports_fx`, on what they share in `imports_common` (reading the CSV, parsing
values, row errors, the report). This module runs an import, keeps uploads between
preview and confirm, and writes the errors for download.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from budgets.models import ImportRun
from budgets.services.imports_actuals import ActualsImporter
from budgets.services.imports_budget import BudgetImporter
from budgets.services.imports_common import (
    FILE_LEVEL,
    Importer,
    ImportFileError,
    RowError,
    Rows,
    read_csv,
)
from budgets.services.imports_fx import FxRateImporter
from portfolio.policy import can
from portfolio.text import spreadsheet_safe, storable

_ADVISORY_LOCK_KEY = 42_170_002


@dataclass
class ImportReport:
    """What an import found (preview) or did (confirmed). `errors` non-empty means nothing was saved."""

    kind: str
    file_name: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    saved: bool = False
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def nothing_new(self) -> bool:
        """A clean file whose every row is already stored as it is (re-importing it would change nothing)."""
        return self.ok and not self.new and not self.changed

    @property
    def label(self) -> str:
        return IMPORTERS[self.kind].label

    @property
    def message(self) -> str:
        """One sentence for a flash message or the command's last line."""
        things = IMPORTERS[self.kind].things
        if self.errors:
            count = len(self.errors)
            return f"{self.file_name} was not imported: {count} error{'s' if count != 1 else ''}. Nothing was saved."
        if self.nothing_new:
            singular, plural = IMPORTERS[self.kind].nothing_new_words
            if self.rows == 1:
                rows = f"the only row of {self.file_name} {singular}"
            else:
                rows = f"all {self.rows:,} rows of {self.file_name} {plural}"
            return f"Nothing new to import: {rows}. Nothing changed."
        verb = "Imported" if self.saved else "Ready to import"
        parts = [f"{self.new:,} new {things if self.new != 1 else IMPORTERS[self.kind].thing}"]
        if self.changed:
            parts.append(f"{self.changed:,} changed")
        if self.unchanged:
            parts.append(f"{self.unchanged:,} {IMPORTERS[self.kind].unchanged_words}")
        return f"{verb} {', '.join(parts)} from {self.file_name}."


IMPORTERS: dict[str, Importer] = {
    importer.kind: importer for importer in (ActualsImporter(), BudgetImporter(), FxRateImporter())
}


# --- running an import -----------------------------------------------------------


def import_run(*, kind: str, data: bytes, file_name: str, by, dry_run: bool = False, via: str = "web") -> ImportReport:
    """Validate a CSV file of `kind` and, unless `dry_run` or anything is wrong, import it all.

    Returns the report; when `report.errors` is not empty nothing was saved.
    `by` is the user (None for a command run without --user); a user the policy
    does not allow to run imports is refused with PermissionDenied.
    """
    importer = IMPORTERS[kind]
    if by is not None and not can(by, "imports.run"):
        raise PermissionDenied("Only finance may import files.")
    file_name = storable(file_name)  # it is stored with the run and in every history row's reason
    started = time.monotonic()
    report = ImportReport(kind=kind, file_name=file_name)
    try:
        columns, records = read_csv(data, columns=importer.columns)
    except ImportFileError as error:
        report.errors = error.errors
        return report
    if dry_run:
        rows = Rows(columns, records)
        importer.validate(rows, report)
        report.errors = sorted(rows.errors, key=lambda error: error.line)
    else:
        _import_atomically(importer, report, columns, records, data=data, by=by, via=via)
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


def _import_atomically(importer, report, columns, records, *, data: bytes, by, via: str) -> None:
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # One import at a time: the second sees the first one's refs as already imported.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
            rows = Rows(columns, records)
            plan = importer.validate(rows, report)
            if rows.errors:
                report.errors = sorted(rows.errors, key=lambda error: error.line)
                return
            if report.new or report.changed:
                reason = f"Import of {report.file_name}"[:100]
                importer.write(plan, by=by, reason=reason)
                report.saved = True
            ImportRun.objects.create(
                kind=importer.kind,
                file_name=report.file_name[:255],
                file_sha256=hashlib.sha256(data).hexdigest(),
                via=via,
                run_by=by,
                rows=report.rows,
                created=report.new,
                changed=report.changed,
                unchanged=report.unchanged,
            )
    except ValidationError as error:
        report.saved = False
        report.errors = [RowError(1, FILE_LEVEL, message) for message in error.messages]
    except IntegrityError:
        report.saved = False
        report.errors = [
            RowError(1, FILE_LEVEL, "Another change to the same records happened at the same time; import again.")
        ]


# --- uploads kept between preview and confirm ---------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def import_upload_store(*, data: bytes, kind: str, file_name: str, by) -> str:
    """Keep an uploaded file of a finance import `kind` until it is confirmed; return its token."""
    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}")
    return upload_store(data=data, kind=kind, file_name=file_name, by=by)


def upload_store(*, data: bytes, kind: str, file_name: str, by) -> str:
    """Keep an uploaded file of any import (`kind` is the caller's: the outcomes import's too) under
    MEDIA_ROOT/imports until it is confirmed, removing uploads never confirmed for a day; return its token."""
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _discard_stale(folder)
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.csv").write_bytes(data)
    meta = {"kind": kind, "file_name": Path(file_name).name, "user_id": by.pk, "stored_at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(meta))
    return token


def import_upload_load(*, token: str, by) -> tuple[dict, bytes]:
    """The metadata and bytes of a stored upload of `by`; LookupError if unknown, expired or someone else's."""
    if not _TOKEN.match(token or ""):
        raise LookupError("unknown upload")
    folder = upload_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
        data = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError):
        raise LookupError("unknown upload") from None
    if meta.get("user_id") != by.pk:
        raise LookupError("unknown upload")
    return meta, data


def import_upload_discard(*, token: str) -> None:
    if _TOKEN.match(token or ""):
        for suffix in (".csv", ".json"):
            (upload_dir() / f"{token}{suffix}").unlink(missing_ok=True)


def _discard_stale(folder: Path, max_age_seconds: int = 24 * 3600) -> None:
    """Uploads never confirmed are removed after a day."""
    cutoff = time.time() - max_age_seconds
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                import_upload_discard(token=path.stem)
        except OSError:
            continue


def report_errors_csv(report: ImportReport) -> str:
    """Every error of a report as CSV (line,column,reason) for download."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "column", "reason"])
    for error in report.errors:
        writer.writerow([error.line, error.column, spreadsheet_safe(error.message)])
    return out.getvalue()
