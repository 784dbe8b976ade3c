"""CSV imports of actuals, budget lines and FX rates (PRODUCT.md §4).

One code path for the web upload (preview, then confirm) and the
`import_actuals` / `import_budget` commands. An import is all-or-nothing: the
whole file is validated first — every bad row is reported with its line,
column and reason — and only a clean file is written, in one transaction.

Speed (100,000 actuals well under 30 s): rows are validated in Python against
lookups loaded up front (initiative codes in one query, FX rates in one query,
locked months in one query, existing external refs in chunks), then written
with `bulk_create_with_history` in large batches, so every imported expense
still gets its "created" history entry with who imported it and from which
file (see bench/import_actuals.py for the figures).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
import json
import re
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgets.amounts import MONEY_WHOLE_DIGITS, budget_amount_error, expense_amount_error
from budgets.choices import Category, Payer
from budgets.currencies import is_iso_4217
from budgets.models import BudgetLine, Expense, ImportRun
from budgets.months import month_label, parse_year_month
from budgets.services.fx import (
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    amount_in_reporting,
    fx_rate_missing_message,
    fx_rate_set,
    fx_rates_for,
    reporting_currency,
)
from budgets.services.locks import locked_months, period_lock_check, period_locked_message
from initiatives.models import Initiative
from portfolio.fiscal import month_start
from portfolio.policy import can
from portfolio.text import canonical_code, choice_value, storable, unstorable_character, unstorable_character_message

ERP_SOURCE = "erp"
BATCH_SIZE = 5000
LOOKUP_CHUNK = 5000
FILE_LEVEL = "—"  # the column of an error about the whole file
_ADVISORY_LOCK_KEY = 42_170_002

ACTUALS_COLUMNS = (
    "initiative_code",
    "incurred_on",
    "amount",
    "currency",
    "paid_by",
    "category",
    "vendor",
    "description",
    "external_ref",
)
BUDGET_COLUMNS = ("initiative_code", "month", "category", "amount")
FX_COLUMNS = ("currency", "month", "rate")

_PLAIN_AMOUNT = re.compile(r"^-?\d+(?:\.\d+)?$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOT_A_NUMBER = {"nan", "+nan", "-nan", "snan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MAX_LENGTH = {name: Expense._meta.get_field(name).max_length for name in ("vendor", "description", "external_ref")}
CATEGORY_LIST = ", ".join(Category.values)
SHOWN_CHARACTERS = 40  # how much of a bad value a message repeats


# --- results -----------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One reason a file is refused: its line (1 is the header), column and a plain-words reason."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


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


class ImportFileError(Exception):
    """The file cannot even be read as a CSV of the expected shape (size, encoding, header)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


# --- reading the file --------------------------------------------------------


def read_csv(data: bytes, *, columns: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    """Decode and parse a CSV file; return (column → index, [(line, values)]) or raise ImportFileError.

    UTF-8 with or without a byte-order mark; any other encoding is refused with
    the line of the first bad byte. The header must hold exactly `columns` (in
    any order). Blank lines are skipped.
    """
    if len(data) > settings.IMPORT_MAX_BYTES:
        limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
        raise ImportFileError(
            [RowError(1, FILE_LEVEL, f"The file is {len(data) / (1024 * 1024):.1f} MB; the limit is {limit:g} MB.")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ImportFileError(
            [
                RowError(
                    line,
                    _column_at(data, error.start, columns),
                    f"The file is not UTF-8 text (byte 0x{data[error.start]:02X} cannot be read); "
                    "save it as CSV UTF-8 and upload it again.",
                )
            ]
        ) from None
    if not text.strip():
        raise ImportFileError([RowError(1, FILE_LEVEL, "The file is empty: it needs a header row and data rows.")])

    # A field may be as long as the file: an over-long value is refused by its column's check, by name.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader)
        line = reader.line_num
        for values in reader:
            start, line = line + 1, reader.line_num
            if not values or all(not value.strip() for value in values):
                continue
            records.append((start, values))
    except csv.Error as error:
        raise ImportFileError([RowError(reader.line_num, FILE_LEVEL, f"The CSV is malformed: {error}.")]) from None

    unstorable = [
        RowError(1, f"column {index}", f"The header's {message}.")
        for index, name in enumerate(header, start=1)
        if (message := unstorable_character_message(name))
    ]
    if unstorable:
        raise ImportFileError(unstorable)
    names = [name.strip() for name in header]
    errors = [RowError(1, name, f"Unknown column {_shown(name)}.") for name in names if name not in columns]
    errors += [
        RowError(1, name, f"Column {_shown(name)} appears {count} times.")
        for name, count in Counter(names).items()
        if count > 1
    ]
    errors += [RowError(1, name, f"Missing column '{name}'.") for name in columns if name not in names]
    if errors:
        errors.append(RowError(1, FILE_LEVEL, f"The header must be: {','.join(columns)}"))
        raise ImportFileError(errors)
    if not records:
        raise ImportFileError([RowError(1, FILE_LEVEL, "The file has a header row but no data rows.")])
    return {name: names.index(name) for name in columns}, records


def _column_at(data: bytes, position: int, columns: tuple[str, ...]) -> str:
    """Best guess of the column holding byte `position` (counts commas on its line)."""
    line_start = data.rfind(b"\n", 0, position) + 1
    index = data.count(b",", line_start, position)
    return columns[index] if index < len(columns) else FILE_LEVEL


# --- parsing values ----------------------------------------------------------


def _shown(value: str) -> str:
    """A value quoted for a message; a long one is cut, with its length (a message never repeats a megabyte)."""
    if len(value) <= SHOWN_CHARACTERS:
        return f"'{value}'"
    return f"'{value[:SHOWN_CHARACTERS]}…' ({len(value):,} characters)"


def parse_amount(text: str, *, places: int = 2, whole_digits: int = MONEY_WHOLE_DIGITS) -> Decimal:
    """A plain decimal like `1234.56` or `-12`; ValueError in plain words for anything else.

    Refused: thousands separators (`1,234.00`), currency symbols (`$12`),
    `NaN`/`Infinity`, scientific notation (`1e400`), more than `places` decimals,
    more than `whole_digits` digits before the point (the column's size: a money
    column holds 12; counted on the text, so a million digits cost no arithmetic).
    """
    value = text.strip()
    if not value:
        raise ValueError("A value is required")
    if _PLAIN_AMOUNT.match(value):
        whole, _, fraction = value.removeprefix("-").partition(".")
        if len(whole.lstrip("0")) > whole_digits:
            raise ValueError(f"{_shown(value)} is too large: at most {whole_digits} digits before the decimal point")
        if len(fraction) > places:
            raise ValueError(f"{_shown(value)} has {len(fraction):,} decimal places; at most {places} are allowed")
        return Decimal(value)
    if value.lower() in _NOT_A_NUMBER:
        raise ValueError(f"{_shown(value)} is not a number")
    if _THOUSANDS.match(value):
        raise ValueError(f"{_shown(value)} has a thousands separator; write {_shown(value.replace(',', ''))} instead")
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is not None and "e" in value.lower():
        raise ValueError(f"{_shown(value)} is in scientific notation; write the amount in plain digits like 1234.56")
    symbols = "".join(sorted({char for char in value if not (char.isdigit() or char in ".-")}))
    if symbols and any(char.isdigit() for char in value):
        raise ValueError(
            f"{_shown(value)} contains {_shown(symbols)}; write only digits, a decimal point and a leading minus sign"
        )
    raise ValueError(f"{_shown(value)} is not an amount like 1234.56")


def parse_rate(text: str) -> Decimal:
    """An FX rate: a plain decimal of the rate column's size (8 decimals)."""
    return parse_amount(text, places=RATE_DECIMAL_PLACES, whole_digits=RATE_MAX_DIGITS - RATE_DECIMAL_PLACES)


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date:
    """`2026-03-15` → a date; ValueError in plain words otherwise (cached: a file repeats its dates)."""
    value = text.strip()
    if not _ISO_DATE.match(value):
        raise ValueError(f"{_shown(value)} is not a date like 2026-03-15 (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a real date") from None


def parse_month(text: str) -> dt.date:
    if len(text) > SHOWN_CHARACTERS:
        raise ValueError(f"{_shown(text)} is not a month like 2026-03 (YYYY-MM)")
    return parse_year_month(text)


# --- the importers ------------------------------------------------------------


class _Rows:
    """Collects errors while walking the records of a file."""

    def __init__(self, columns: dict[str, int], records: list[tuple[int, list[str]]]):
        self.columns, self.records, self.errors = columns, records, []

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        width = len(self.columns)
        names = list(self.columns)
        in_order = [self.columns[name] for name in names] == list(range(width))
        for line, values in self.records:
            if len(values) != width:
                self.error(line, FILE_LEVEL, f"Expected {width} values, found {len(values)}.")
                continue
            if in_order:  # the usual case: columns in the documented order
                row = dict(zip(names, values, strict=True))
            else:
                row = {name: values[index] for name, index in self.columns.items()}
            # PostgreSQL cannot store a NUL in text (COPY would fail at confirm): refused here, by column.
            # One search per record keeps this cheap; the columns are looked at only when it finds one.
            if unstorable_character("".join(values)) is not None:
                for name, value in row.items():
                    if message := unstorable_character_message(value):
                        self.error(line, name, f"{message} from the file")
                continue
            yield line, row

    def error(self, line: int, column: str, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def initiative(self, line: int, row: dict[str, str], ids: dict[str, int]) -> tuple[str, int | None]:
        """The row's initiative code (any case) and id (None, with the error noted, when empty or unknown)."""
        code = canonical_code(row["initiative_code"])
        if not code:
            self.error(line, "initiative_code", "A value is required")
        elif code not in ids:
            self.error(line, "initiative_code", f"Unknown initiative code {_shown(row['initiative_code'].strip())}")
        return code, ids.get(code)

    def choice(self, line: int, row: dict[str, str], column: str, choices: type, refusal: str) -> str | None:
        """The value of the row's choice in `column`, given by value or label in any case; None (noted) if none."""
        value = choice_value(choices, row[column])
        if value is None:
            self.error(line, column, refusal.format(_shown(row[column].strip())))
        return value

    def parse(self, line: int, column: str, parser: Callable[[str], Any], text: str) -> Any:
        try:
            return parser(text)
        except ValueError as error:
            self.error(line, column, str(error))
            return None


def _initiative_ids() -> dict[str, int]:
    """Every initiative code → id, in one query (20,000 rows is a few milliseconds)."""
    return dict(Initiative.objects.values_list("code", "id"))


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Importer:
    kind: ClassVar[str]
    label: ClassVar[str]
    thing: ClassVar[str]
    things: ClassVar[str]
    unchanged_words: ClassVar[str] = "unchanged"
    nothing_new_words: ClassVar[tuple[str, str]] = ("matches what is stored", "match what is stored")
    columns: ClassVar[tuple[str, ...]]

    def validate(self, rows: _Rows, report: ImportReport) -> Any:
        raise NotImplementedError

    def write(self, plan: Any, *, by, reason: str) -> None:
        raise NotImplementedError


class ActualsImporter(Importer):
    """ERP actuals: idempotent by (source `erp`, `external_ref`): a reference already imported is skipped."""

    kind = "actuals"
    label = "Actuals"
    thing, things = "expense", "expenses"
    unchanged_words = "already imported"
    nothing_new_words = ("was already imported", "were already imported")
    columns = ACTUALS_COLUMNS

    def validate(self, rows: _Rows, report: ImportReport) -> list[dict]:
        initiative_ids = _initiative_ids()
        parsed: list[dict] = []
        first_line_of_ref: dict[str, int] = {}
        for line, row in rows:
            errors_before = len(rows.errors)
            _, initiative_id = rows.initiative(line, row, initiative_ids)
            incurred_on = rows.parse(line, "incurred_on", parse_date, row["incurred_on"])
            amount = rows.parse(line, "amount", parse_amount, row["amount"])
            # The expense rule of the forms, the API and the services (never zero: a credit is negative).
            if amount is not None and (message := expense_amount_error(amount)):
                rows.error(line, "amount", message)
            currency = canonical_code(row["currency"])
            if not is_iso_4217(currency):
                rows.error(line, "currency", f"{_shown(row['currency'].strip())} is not an ISO 4217 currency code")
            paid_by = rows.choice(line, row, "paid_by", Payer, "{} is not a payer: use marketing or it")
            category = rows.choice(line, row, "category", Category, "Unknown category {}: use one of " + CATEGORY_LIST)
            vendor, description = row["vendor"].strip(), row["description"].strip()
            for column, value in (("vendor", vendor), ("description", description)):
                if len(value) > _MAX_LENGTH[column]:
                    rows.error(line, column, f"At most {_MAX_LENGTH[column]} characters (found {len(value)})")
            ref = row["external_ref"].strip()
            if not ref:
                rows.error(
                    line, "external_ref", "A value is required: external_ref keeps a document from being imported twice"
                )
            elif len(ref) > _MAX_LENGTH["external_ref"]:
                rows.error(line, "external_ref", f"At most {_MAX_LENGTH['external_ref']} characters")
            elif ref in first_line_of_ref:
                rows.error(line, "external_ref", f"{_shown(ref)} also appears on line {first_line_of_ref[ref]}")
            else:
                first_line_of_ref[ref] = line
            parsed.append(
                {
                    "line": line,
                    "ok": len(rows.errors) == errors_before,
                    "initiative_id": initiative_id,
                    "incurred_on": incurred_on,
                    "month": month_start(incurred_on) if incurred_on else None,
                    "amount": amount,
                    "currency": currency if is_iso_4217(currency) else None,
                    "paid_by": paid_by,
                    "category": category,
                    "vendor": vendor,
                    "description": description,
                    "external_ref": ref,
                }
            )
        report.rows = len(rows.records)

        # Rows whose document is already imported are skipped; the others are checked against
        # the locks and the FX rates even when another of their fields is wrong, so the report
        # names every problem of the file at once.
        existing = self._existing_refs([row["external_ref"] for row in parsed if row["external_ref"]])
        report.unchanged = sum(1 for row in parsed if row["ok"] and row["external_ref"] in existing)
        new_rows = [row for row in parsed if row["external_ref"] not in existing]
        locked = locked_months()
        rates = fx_rates_for(
            currencies={row["currency"] for row in new_rows if row["currency"]},
            months={row["month"] for row in new_rows if row["month"]},
        )
        by_payer: dict[str, Decimal] = defaultdict(Decimal)
        by_month: dict[dt.date, dict[str, Any]] = {}
        plan = []
        for row in new_rows:
            line, month = row["line"], row["month"]
            if month is not None and month in locked:
                rows.error(line, "incurred_on", period_locked_message([month]))
                row["ok"] = False
            if month is not None and row["currency"] and (row["currency"], month) not in rates:
                rows.error(line, "currency", fx_rate_missing_message(row["currency"], month))
                row["ok"] = False
            if not row["ok"]:
                continue
            try:
                row["amount_reporting"] = amount_in_reporting(
                    amount=row["amount"], currency=row["currency"], on=row["incurred_on"], rates=rates
                )
            except ValidationError as error:
                rows.error(line, "amount", error.messages[0])
                continue
            plan.append(row)
            by_payer[row["paid_by"]] += row["amount_reporting"]
            totals = by_month.setdefault(month, {"month": month, "rows": 0, "marketing": Decimal(0), "it": Decimal(0)})
            totals["rows"] += 1
            totals[row["paid_by"]] += row["amount_reporting"]
        report.new = len(plan)
        report.summary = {
            "currency": reporting_currency(),
            "by_payer": {payer: by_payer.get(payer, Decimal(0)) for payer in Payer.values},
            "total": sum(by_payer.values(), Decimal(0)),
            "by_month": [
                {**totals, "label": month_label(month), "total": totals["marketing"] + totals["it"]}
                for month, totals in sorted(by_month.items())
            ],
            "currencies": dict(Counter(row["currency"] for row in plan).most_common()),
        }
        return plan

    @staticmethod
    def _existing_refs(refs: list[str]) -> set[str]:
        existing: set[str] = set()
        for chunk in _chunks(refs):
            existing.update(
                Expense.objects.filter(source=ERP_SOURCE, external_ref__in=chunk).values_list("external_ref", flat=True)
            )
        return existing

    def write(self, plan: list[dict], *, by, reason: str) -> None:
        period_lock_check(months={row["incurred_on"] for row in plan})
        if connection.vendor == "postgresql":
            _copy_expenses_with_history(plan, by=by, reason=reason)
            return
        expenses = [Expense(**_expense_values(row)) for row in plan]
        bulk_create_with_history(
            expenses, Expense, batch_size=BATCH_SIZE, default_user=by, default_change_reason=reason
        )


_EXPENSE_COLUMNS = ("initiative_id", *Expense.RECORD_FIELDS)


def _expense_values(row: dict) -> dict:
    values = {name: row[name] for name in _EXPENSE_COLUMNS if name != "source"}
    values["source"] = ERP_SOURCE
    return values


def _copy_expenses_with_history(plan: list[dict], *, by, reason: str) -> None:
    """PostgreSQL: COPY the expenses, then COPY one "created" history row per expense.

    The same rows `bulk_create_with_history` would write (the history row holds
    who imported it, when and from which file), at COPY speed: ids are drawn
    from the table's sequence first, so each history row can name its expense.
    """
    now = timezone.now()
    user_id = by.pk if by is not None else None
    table = Expense._meta.db_table
    history_table = Expense.history.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(plan)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        expense_rows = []
        history_rows = []
        for expense_id, row in zip(ids, plan, strict=True):
            values = [row[name] if name != "source" else ERP_SOURCE for name in _EXPENSE_COLUMNS]
            expense_rows.append([expense_id, *values, now])
            history_rows.append([expense_id, *values, now, now, reason, "+", user_id])
        text_columns = ("vendor", "description")
        _copy(cursor, table, ["id", *_EXPENSE_COLUMNS, "created_at"], expense_rows, not_null=text_columns)
        _copy(
            cursor,
            history_table,
            [
                "id",
                *_EXPENSE_COLUMNS,
                "created_at",
                "history_date",
                "history_change_reason",
                "history_type",
                "history_user_id",
            ],
            history_rows,
            not_null=(*text_columns, "history_change_reason"),
        )


def _copy(cursor, table: str, columns: list[str], rows: list[list], *, not_null: tuple[str, ...] = ()) -> None:
    """COPY rows into a table in CSV format (written by the C csv module: fast and correctly quoted).

    None is written as an unquoted empty field, which COPY reads as NULL; the
    `not_null` text columns read an empty field as the empty string instead.
    """
    quote = connection.ops.quote_name
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    options = "FORMAT csv"
    if not_null:
        options += f", FORCE_NOT_NULL ({', '.join(quote(column) for column in not_null)})"
    sql = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN WITH ({options})"
    raw = cursor.cursor
    if hasattr(raw, "copy_expert"):  # psycopg2
        raw.copy_expert(sql, buffer)
    else:  # psycopg 3
        with raw.copy(sql) as copy:
            copy.write(buffer.getvalue())


class BudgetImporter(Importer):
    """Budget lines: each row sets the amount of (initiative, month, category); equal rows change nothing."""

    kind = "budget"
    label = "Budget lines"
    thing, things = "budget line", "budget lines"
    columns = BUDGET_COLUMNS

    def validate(self, rows: _Rows, report: ImportReport) -> dict[str, list]:
        initiative_ids = _initiative_ids()
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
        locked = locked_months()
        plan: dict[str, list] = {"new": [], "changed": []}
        by_month: dict[dt.date, Decimal] = defaultdict(Decimal)
        by_category: dict[str, Decimal] = defaultdict(Decimal)
        for line, initiative_id, month, category, amount in parsed:
            line_now = existing.get((initiative_id, month, category))
            if line_now is not None and line_now.amount == amount:
                report.unchanged += 1
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
        for chunk in _chunks(initiative_ids):
            for line in BudgetLine.objects.filter(initiative_id__in=chunk, month__in=months):
                found[(line.initiative_id, line.month, line.category)] = line
        return found

    def write(self, plan: dict[str, list], *, by, reason: str) -> None:
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


class FxRateImporter(Importer):
    """FX rates: each row sets the rate of (currency, month); changed rates recompute their expenses."""

    kind = "fx_rates"
    label = "FX rates"
    thing, things = "rate", "rates"
    columns = FX_COLUMNS

    def validate(self, rows: _Rows, report: ImportReport) -> list[tuple]:
        parsed = []
        first_line: dict[tuple, int] = {}
        for line, row in rows:
            errors_before = len(rows.errors)
            currency = canonical_code(row["currency"])
            if not is_iso_4217(currency):
                rows.error(line, "currency", f"{_shown(row['currency'].strip())} is not an ISO 4217 currency code")
            elif currency == reporting_currency():
                rows.error(line, "currency", f"{currency} is the reporting currency: its rate is always 1")
            month = rows.parse(line, "month", parse_month, row["month"])
            rate = rows.parse(line, "rate", parse_rate, row["rate"])
            if rate is not None and rate <= 0:
                rows.error(line, "rate", "A rate must be greater than zero")
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
        rows = _Rows(columns, records)
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
            rows = _Rows(columns, records)
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
    """Keep an uploaded file under MEDIA_ROOT/imports until it is confirmed; return its token."""
    if kind not in IMPORTERS:
        raise ValueError(f"unknown import kind {kind!r}")
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
        writer.writerow([error.line, error.column, _safe_cell(error.message)])
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """Never let a spreadsheet read a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_as_dict(report: ImportReport) -> dict:
    return asdict(report)
