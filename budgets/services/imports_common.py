"""What the CSV importers share (PRODUCT.md §4): reading the file, parsing values, row errors.

The importers (`imports_actuals`, `imports_budget`, `imports_fx`) build on it; running
an import (all-or-nothing, one transaction), its report, the uploads kept between
preview and confirm, and the error download are `budgets.services.imports`.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from django.conf import settings

from budgets.choices import Category
from budgets.months import parse_year_month
from initiatives.models import Initiative
from portfolio.text import canonical_code, choice_value, unstorable_character, unstorable_character_message

BATCH_SIZE = 5000
LOOKUP_CHUNK = 5000
FILE_LEVEL = "—"  # the column of an error about the whole file

_PLAIN_AMOUNT = re.compile(r"^-?\d+(?:\.\d+)?$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOT_A_NUMBER = {"nan", "+nan", "-nan", "snan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
CATEGORY_LIST = ", ".join(Category.values)
SHOWN_CHARACTERS = 40  # how much of a bad value a message repeats
# Longest amount text parsed: room for a MONEY column's digits, cents, a sign and some leading zeros.
AMOUNT_TEXT_LENGTH = 40


# --- results -----------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One reason a file is refused: its line (1 is the header), column and a plain-words reason."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


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
    errors = [RowError(1, name, f"Unknown column {shown(name)}.") for name in names if name not in columns]
    errors += [
        RowError(1, name, f"Column {shown(name)} appears {count} times.")
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


def shown(value: str) -> str:
    """A value quoted for a message; a long one is cut, with its length (a message never repeats a megabyte)."""
    if len(value) <= SHOWN_CHARACTERS:
        return f"'{value}'"
    return f"'{value[:SHOWN_CHARACTERS]}…' ({len(value):,} characters)"


def parse_amount(text: str) -> Decimal:
    """A plain decimal like `1234.56` or `-12`; ValueError in plain words for anything else.

    Only parsing: refused are thousands separators (`1,234.00`), currency symbols (`$12`),
    `NaN`/`Infinity`, scientific notation (`1e400`), and text longer than AMOUNT_TEXT_LENGTH
    (a million digits cost no arithmetic). Places and size are the amount rule's
    (`budgets.amounts.budget_amount_error` / `expense_amount_error`), asked by the importer per row.
    """
    return _plain_decimal(text, "an amount")


def parse_rate(text: str) -> Decimal:
    """An FX rate as a plain decimal; only parsing, like `parse_amount` (the rate's rule is
    `budgets.services.fx.fx_rate_errors`, asked by the importer per row)."""
    return _plain_decimal(text, "a rate")


def _plain_decimal(text: str, what: str) -> Decimal:
    """`text` as a plain decimal, or the ValueError naming why not (`what`: "an amount", "a rate")."""
    value = text.strip()
    if not value:
        raise ValueError("A value is required")
    if len(value) > AMOUNT_TEXT_LENGTH:
        raise ValueError(f"{shown(value)} is too long to be {what}: at most {AMOUNT_TEXT_LENGTH} characters")
    if _PLAIN_AMOUNT.match(value):
        return Decimal(value)
    _refuse_number(value)


def _refuse_number(value: str) -> NoReturn:
    """Why `value`, not a plain decimal, is not a number: the ValueError the importers report."""
    if value.lower() in _NOT_A_NUMBER:
        raise ValueError(f"{shown(value)} is not a number")
    if _THOUSANDS.match(value):
        raise ValueError(f"{shown(value)} has a thousands separator; write {shown(value.replace(',', ''))} instead")
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = None
    if number is not None and "e" in value.lower():
        raise ValueError(f"{shown(value)} is in scientific notation; write the amount in plain digits like 1234.56")
    symbols = "".join(sorted({char for char in value if not (char.isdigit() or char in ".-")}))
    if symbols and any(char.isdigit() for char in value):
        raise ValueError(
            f"{shown(value)} contains {shown(symbols)}; write only digits, a decimal point and a leading minus sign"
        )
    raise ValueError(f"{shown(value)} is not an amount like 1234.56")


@functools.lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date:
    """`2026-03-15` → a date; ValueError in plain words otherwise (cached: a file repeats its dates)."""
    value = text.strip()
    if not _ISO_DATE.match(value):
        raise ValueError(f"{shown(value)} is not a date like 2026-03-15 (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not a real date") from None


def parse_month(text: str) -> dt.date:
    if len(text) > SHOWN_CHARACTERS:
        raise ValueError(f"{shown(text)} is not a month like 2026-03 (YYYY-MM)")
    return parse_year_month(text)


# --- the importers ------------------------------------------------------------


class Rows:
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
            self.error(line, "initiative_code", f"Unknown initiative code {shown(row['initiative_code'].strip())}")
        return code, ids.get(code)

    def choice(self, line: int, row: dict[str, str], column: str, choices: type, refusal: str) -> str | None:
        """The value of the row's choice in `column`, given by value or label in any case; None (noted) if none."""
        value = choice_value(choices, row[column])
        if value is None:
            self.error(line, column, refusal.format(shown(row[column].strip())))
        return value

    def parse(self, line: int, column: str, parser: Callable[[str], Any], text: str) -> Any:
        try:
            return parser(text)
        except ValueError as error:
            self.error(line, column, str(error))
            return None


def initiative_ids_by_code() -> dict[str, int]:
    """Every initiative code → id, in one query (20,000 rows is a few milliseconds)."""
    return dict(Initiative.objects.values_list("code", "id"))


def chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


if TYPE_CHECKING:
    from budgets.services.imports import ImportReport


class Importer:
    kind: ClassVar[str]
    label: ClassVar[str]
    thing: ClassVar[str]
    things: ClassVar[str]
    unchanged_words: ClassVar[str] = "unchanged"
    nothing_new_words: ClassVar[tuple[str, str]] = ("matches what is stored", "match what is stored")
    columns: ClassVar[tuple[str, ...]]

    def validate(self, rows: Rows, report: ImportReport) -> Any:
        raise NotImplementedError

    def write(self, plan: Any, *, by, reason: str) -> None:
        raise NotImplementedError
