"""Finance exports (PRODUCT.md §4): the split report as CSV and XLSX, and the true-up journal.

Every export reads the split table of the latest recompute through the split
selectors (`split_rows`, `split_summary`), so its figures are the dashboard's to
the cent, and takes its columns from `SPLIT_COLUMNS`, defined once in
budgets/split_arithmetic.py.

Safe for spreadsheets: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading apostrophe in CSV and is written as a string cell
(`write_string`) in XLSX, so no spreadsheet ever evaluates it; numbers stay numbers.

The CSV is streamed in chunks, memory flat whatever the size. On PostgreSQL the
database formats the rows itself (`COPY (SELECT …) TO STDOUT WITH (FORMAT csv)`,
escaping included) and a producer thread hands its output to the response
through a bounded queue; elsewhere a Python formatter over a chunked iterator
writes the same bytes. The two paths are held to each other byte for byte by the
tests on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from initiatives.choices import Lane, Status
from portfolio import fiscal
from reports.choices import ExportFormat, ExportStatus
from reports.models import ExportJob
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS
from split.models import SplitRow
from split.selectors import SplitFilters, latest_successful_run, split_rows, split_summary

logger = logging.getLogger(__name__)

# --- spreadsheet safety ----------------------------------------------------------

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice or Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """`text` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# --- the cells of a split row ----------------------------------------------------

# How each export column is written. Keyed by name so the column ORDER stays that of
# SPLIT_COLUMNS; a column added there without a kind here fails at import time.
TEXT_COLUMNS = frozenset({"initiative_code", "initiative_title", "lane", "status"})
DECIMAL_COLUMNS = frozenset({"marketing_share_pct", *SPLIT_AMOUNT_COLUMNS})
_UNTYPED = set(SPLIT_COLUMNS) - TEXT_COLUMNS - DECIMAL_COLUMNS - {"fiscal_year", "month"}
if _UNTYPED:  # pragma: no cover - guards the one list of columns
    raise ImportError(f"reports.exports does not know how to write {sorted(_UNTYPED)}")

CSV_HEADER = ",".join(SPLIT_COLUMNS) + "\n"
_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def csv_text(text: str | None) -> str:
    """A CSV field for text, quoted like PostgreSQL's COPY … CSV does (only when needed)."""
    if not text:
        return ""
    text = spreadsheet_safe(text)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def decimal_text(value: Decimal) -> str:
    """Two places, no thousands separators, never `-0.00`."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def month_text(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def fiscal_year_text(year: int) -> str:
    return fiscal.fiscal_year_label(year)


def _csv_formatter(column: str) -> Callable[[Any], str]:
    if column == "fiscal_year":
        return fiscal_year_text
    if column == "month":
        return month_text
    if column in TEXT_COLUMNS:
        return csv_text
    return decimal_text


CSV_FORMATTERS: tuple[Callable[[Any], str], ...] = tuple(_csv_formatter(column) for column in SPLIT_COLUMNS)


def split_csv_line(values: Iterable[Any]) -> str:
    """One CSV line of a split row (`values` in SPLIT_COLUMNS order), newline included."""
    return ",".join([format_cell(value) for format_cell, value in zip(CSV_FORMATTERS, values, strict=True)]) + "\n"


# The same formatting in PostgreSQL, for COPY. ascii() is the code of the first
# character (0 for ''): = + - @ tab CR. NULLIF makes an empty text unquoted, as the
# Python path writes it. Money columns are numeric(14, 2), whose text has two places.
_SQL_TRIGGER_CODES = ", ".join(str(ord(character)) for character in FORMULA_TRIGGERS)


def _sql_cell(column: str) -> str:
    name = f"r.{column}"
    if column == "fiscal_year":
        return f"'FY' || {name}"
    if column == "month":
        return f"to_char({name}, 'YYYY-MM')"
    if column in TEXT_COLUMNS:
        return f"CASE WHEN ascii({name}) IN ({_SQL_TRIGGER_CODES}) THEN '''' || {name} ELSE nullif({name}, '') END"
    return f"{name}::text"


def split_csv_select(filters: SplitFilters) -> tuple[str, list[Any]]:
    """The SELECT whose COPY … CSV output is the split CSV's body: split_rows' filters and order.

    The rows are sorted in the inner query (narrow tuples) and formatted in the
    outer one; the outer ORDER BY repeats the inner, which PostgreSQL sees is
    already satisfied, so it costs nothing and guarantees the order.
    """
    rows = split_rows(filters).values_list(*SPLIT_COLUMNS)
    inner_sql, params = rows.query.sql_with_params()
    order = ", ".join(
        f"r.{name.removeprefix('-')}{' DESC' if name.startswith('-') else ''}" for name in rows.query.order_by
    )
    cells = ", ".join(_sql_cell(column) for column in SPLIT_COLUMNS)
    return f"SELECT {cells} FROM ({inner_sql}) AS r ORDER BY {order}", list(params)  # noqa: S608 - constants  # nosec B608


# --- streaming the CSV -------------------------------------------------------------

CHUNK_BYTES = 256 * 1024  # what the response is handed at a time
QUEUE_CHUNKS = 8  # chunks the COPY may run ahead of the client: memory bound ≈ 2 MB
ITERATOR_CHUNK_ROWS = 5000  # rows per fetch of the server-side cursor (portable paths)


def split_csv_chunks(
    filters: SplitFilters,
    *,
    method: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The split CSV as byte chunks: the exact header, then the rows of `split_rows(filters)`.

    `method` is `copy` (PostgreSQL formats the rows; the default there) or `python`
    (the portable path; the default elsewhere, and whenever `progress` is given).
    `progress(rows_so_far)` is called after each chunk; the background task records
    it in the database, which it could not do on a connection busy with a COPY.
    """
    if method is None:
        method = "copy" if connection.vendor == "postgresql" and progress is None else "python"
    yield CSV_HEADER.encode()
    if method == "copy":
        if progress is not None:
            raise ValueError("the copy method holds the connection: it cannot report progress")
        sql, params = split_csv_select(filters)
        yield from copy_csv_chunks(sql, params)
    elif method == "python":
        rows = split_rows(filters).values_list(*SPLIT_COLUMNS).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
        yield from _lines_in_chunks((split_csv_line(values) for values in rows), progress)
    else:
        raise ValueError(f"unknown CSV method {method!r}: use copy or python")


def _lines_in_chunks(lines: Iterable[str], progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    parts: list[str] = []
    size = count = 0
    for line in lines:
        parts.append(line)
        size += len(line)
        count += 1
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode()
            parts, size = [], 0
            if progress is not None:
                progress(count)
    if parts:
        yield "".join(parts).encode()
    if progress is not None:
        progress(count)


_DONE = object()


class _ChunkSink:
    """The file psycopg2's `copy_expert` writes to: gathers rows into chunks for a bounded queue.

    When the consumer has gone (the client disconnected), data is dropped instead of
    queued, so COPY can end (it is also cancelled) and the connection stays usable.
    """

    def __init__(self, chunks: queue.Queue, stopped: threading.Event):
        self.chunks = chunks
        self.stopped = stopped
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            chunk = b"".join(self.parts)
            self.parts, self.size = [], 0
            self.put(chunk)

    def put(self, item: object) -> None:
        while not self.stopped.is_set():
            try:
                self.chunks.put(item, timeout=0.2)
                return
            except queue.Full:
                continue


def copy_csv_chunks(select_sql: str, params: list[Any]) -> Iterator[bytes]:
    """`COPY (select_sql) TO STDOUT WITH (FORMAT csv)` as byte chunks, on Django's PostgreSQL connection.

    psycopg2 can only push COPY output into a file, so the COPY runs in a producer
    thread on this request's connection (which sees the same data and transaction)
    and writes into a bounded queue that this generator drains. Closing the generator
    early (a client that goes away) cancels the COPY and waits for the thread.
    """
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        copy_sql = f"COPY ({cursor.mogrify(select_sql, params).decode()}) TO STDOUT WITH (FORMAT csv)"
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    stopped = threading.Event()
    sink = _ChunkSink(chunks, stopped)

    def produce() -> None:
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(copy_sql, sink)
            sink.flush()
            outcome: object = _DONE
        except BaseException as exc:  # handed to the consumer, which re-raises it
            outcome = exc
        sink.put(outcome)

    producer = threading.Thread(target=produce, name="split-csv-copy", daemon=True)
    producer.start()
    finished = False
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                finished = True
                return
            if isinstance(item, BaseException):
                finished = True
                raise item
            yield item
    finally:
        if not finished:
            stopped.set()
            if producer.is_alive():
                raw.cancel()
        producer.join()
        if not finished and connection.in_atomic_block:
            connection.needs_rollback = True  # the cancelled COPY aborted the transaction


# --- what is exported: filters, as-of, names -----------------------------------------


@dataclass(frozen=True)
class SplitExport:
    """One export's filters and the as-of time of the figures it shows."""

    filters: SplitFilters = field(default_factory=SplitFilters)
    as_of: dt.datetime | None = None

    @classmethod
    def prepare(cls, params: Mapping[str, Any] | SplitFilters | None) -> SplitExport:
        """From query parameters (bad ones raise SplitFilterError) and the latest successful recompute."""
        filters = params if isinstance(params, SplitFilters) else SplitFilters.parse(params)
        run = latest_successful_run()
        return cls(filters=filters, as_of=run.finished_at if run else None)

    @property
    def as_of_local(self) -> dt.datetime | None:
        return timezone.localtime(self.as_of) if self.as_of else None

    def query_params(self) -> dict[str, str]:
        """The filters as query parameters, canonical (FY2027, Q3, codes)."""
        f = self.filters
        values = {
            "fiscal_year": fiscal_year_text(f.fiscal_year) if f.fiscal_year else "",
            "quarter": f"Q{f.quarter}" if f.quarter else "",
            "lane": f.lane or "",
            "status": f.status or "",
            "initiative": f.initiative or "",
        }
        return {name: value for name, value in values.items() if value}

    def filter_labels(self) -> list[tuple[str, str]]:
        """(filter, chosen value in words) for every filter, "All" where none is set."""
        f = self.filters
        return [
            ("Fiscal year", fiscal_year_text(f.fiscal_year) if f.fiscal_year else "All"),
            ("Quarter", f"Q{f.quarter}" if f.quarter else "All"),
            ("Lane", Lane(f.lane).label if f.lane else "All"),
            ("Status", Status(f.status).label if f.status else "All"),
            ("Initiative", f.initiative or "All"),
        ]

    def filename(self, kind: str, extension: str) -> str:
        """E.g. `split-report_FY2027_Q3_fast-lane_as-of-2026-07-09.csv`: names the filters and the as-of date."""
        parts = [kind]
        params = self.query_params()
        for name in ("fiscal_year", "quarter", "lane", "status", "initiative"):
            if name in params:
                parts.append(re.sub(r"[^A-Za-z0-9-]+", "-", params[name].replace("_", "-")).strip("-"))
        if len(parts) == 1:
            parts.append("all")
        local = self.as_of_local
        parts.append(f"as-of-{local:%Y-%m-%d}" if local else "not-computed")
        return "_".join(parts) + "." + extension

    def row_count(self) -> int:
        return split_rows(self.filters).count()

    def totals(self) -> dict[str, Any]:
        """`rows` and the ten amounts summed over the export (split_summary, whole selection)."""
        return split_summary(None, self.filters)[0]


def export_fiscal_years() -> list[int]:
    """The fiscal years present in the split table, newest first (the reports page offers them)."""
    return list(SplitRow.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct())


# --- the true-up journal --------------------------------------------------------------

JOURNAL_COLUMNS: tuple[str, ...] = (
    "date",
    "debit_side",
    "credit_side",
    "amount",
    "currency",
    "initiative_code",
    "memo",
)
JOURNAL_HEADER = ",".join(JOURNAL_COLUMNS) + "\n"
_JOURNAL_FIELDS = ("fiscal_year", "month", "initiative_code", "initiative_title", "marketing_share_pct")
_JOURNAL_FIELDS += ("actual_total", "actual_marketing", "paid_marketing", "true_up")
MEMO_TITLE_CHARS = 60


def month_end(month: dt.date) -> dt.date:
    return fiscal.add_months(month, 1) - dt.timedelta(days=1)


def settlement(true_up: Decimal) -> tuple[str, str, Decimal]:
    """(debit side, credit side, positive amount) of a true-up.

    Positive: marketing owes IT, so marketing's cost centre is charged (debit) and
    IT's relieved (credit); negative: the other way round.
    """
    if true_up >= 0:
        return "marketing", "it", true_up
    return "it", "marketing", -true_up


def settlement_label(true_up: Decimal) -> str:
    """ "Marketing owes IT", "IT owes Marketing" or "Settled"."""
    if true_up > 0:
        return "Marketing owes IT"
    if true_up < 0:
        return "IT owes Marketing"
    return "Settled"


def journal_line(values: tuple, currency: str) -> str:
    year, month, code, title, share, actual_total, actual_marketing, paid_marketing, true_up = values
    debit, credit, amount = settlement(true_up)
    short_title = title if len(title) <= MEMO_TITLE_CHARS else title[: MEMO_TITLE_CHARS - 1] + "…"
    memo = (
        f"Spend split true-up {fiscal_year_text(year)} {month_text(month)} {code} {short_title}: "
        f"marketing share {decimal_text(share)}% of actual {decimal_text(actual_total)} = "
        f"{decimal_text(actual_marketing)}, paid by marketing {decimal_text(paid_marketing)}"
    )
    cells = (
        month_end(month).isoformat(),
        debit,
        credit,
        decimal_text(amount),
        currency,
        csv_text(code),
        csv_text(memo),
    )
    return ",".join(cells) + "\n"


def journal_rows(filters: SplitFilters):
    """The split rows with a non-zero true-up, in export order (month, then initiative)."""
    return split_rows(filters).exclude(true_up=0).values_list(*_JOURNAL_FIELDS)


def journal_csv_chunks(filters: SplitFilters, *, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The true-up journal for the ERP: per month, one line per initiative whose true-up is not zero."""
    currency = settings.REPORTING_CURRENCY
    yield JOURNAL_HEADER.encode()
    rows = journal_rows(filters).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
    yield from _lines_in_chunks((journal_line(values, currency) for values in rows), progress)


def write_chunks(chunks: Iterable[bytes], target: IO[bytes]) -> int:
    """Write byte chunks to a file; returns the bytes written."""
    written = 0
    for chunk in chunks:
        target.write(chunk)
        written += len(chunk)
    return written


# --- the XLSX workbook ------------------------------------------------------------------

XLSX_PROGRESS_ROWS = 10_000
AMOUNT_LABELS = {
    "planned_total": "Planned total",
    "planned_marketing": "Planned marketing",
    "planned_it": "Planned IT",
    "actual_total": "Actual total",
    "actual_marketing": "Actual marketing",
    "actual_it": "Actual IT",
    "paid_marketing": "Paid by marketing",
    "paid_it": "Paid by IT",
    "true_up": "True-up",
    "variance": "Variance",
}
SPLIT_SHEET = "Split"
LANE_MONTH_SHEET = "By lane and month"
TRUE_UP_SHEET = "True-up by quarter"
COVER_SHEET = "Cover"
_COLUMN_WIDTHS = {"initiative_title": 52, "initiative_code": 14, "fiscal_year": 11, "month": 9}


class _Formats:
    """The workbook's cell formats, made once per workbook."""

    def __init__(self, workbook, currency: str):
        money = f'#,##0.00 "{currency}";[Red]-#,##0.00 "{currency}"'
        header = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#14213D", "valign": "vcenter", "border": 0}
        total = {"bold": True, "top": 2, "bg_color": "#EEF2FF"}
        self.header = workbook.add_format(header)
        self.header_right = workbook.add_format({**header, "align": "right"})
        self.money = workbook.add_format({"num_format": money})
        self.percent = workbook.add_format({"num_format": "0.00"})
        self.integer = workbook.add_format({"num_format": "#,##0"})
        self.total = workbook.add_format(total)
        self.total_money = workbook.add_format({**total, "num_format": money})
        self.total_percent = workbook.add_format({**total, "num_format": "0.00"})
        self.total_integer = workbook.add_format({**total, "num_format": "#,##0"})
        self.title = workbook.add_format({"bold": True, "font_size": 18, "font_color": "#14213D"})
        self.subtitle = workbook.add_format({"font_color": "#6B7280", "italic": True})
        self.section = workbook.add_format({"bold": True, "font_size": 12, "font_color": "#14213D", "bottom": 1})
        self.label = workbook.add_format({"font_color": "#4B5563"})
        self.value = workbook.add_format({"bold": True})
        self.value_money = workbook.add_format({"bold": True, "num_format": money})
        self.value_integer = workbook.add_format({"bold": True, "num_format": "#,##0", "align": "left"})
        self.owes = workbook.add_format({"bold": True, "font_color": "#B45309", "indent": 1})
        self.total_owes = workbook.add_format({**total, "indent": 1})
        self.note = workbook.add_format({"font_color": "#6B7280", "text_wrap": True, "valign": "top"})


def _number(value: Decimal | None) -> float:
    return float(value or 0)


def write_split_xlsx(
    export: SplitExport,
    target: str | IO[bytes],
    *,
    requested_by: str = "",
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the split report workbook to `target` (a path or a binary file); returns the data rows.

    Sheets: Cover (filters, as-of, reporting currency, totals), Split (the export
    columns, one row per initiative and month, totals row), By lane and month, and
    True-up by quarter (who owes whom). Written with xlsxwriter's constant_memory
    mode: each row goes to disk as soon as the next begins, so memory stays flat.
    """
    import xlsxwriter

    currency = settings.REPORTING_CURRENCY
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    workbook.set_properties(
        {
            "title": "Spend split report",
            "subject": "Marketing versus IT spend split",
            "author": requested_by or "Right-Speed Portfolio",
            "company": "Right-Speed Portfolio",
        }
    )
    formats = _Formats(workbook, currency)
    # Tab order is the order of creation; constant_memory lets each sheet be filled later, top to bottom.
    # The split rows come first: a script that reads "the first sheet" gets the §4 columns.
    split_sheet = workbook.add_worksheet(SPLIT_SHEET)
    lane_month = workbook.add_worksheet(LANE_MONTH_SHEET)
    true_up = workbook.add_worksheet(TRUE_UP_SHEET)
    cover = workbook.add_worksheet(COVER_SHEET)
    split_sheet.activate()
    for sheet in (cover, split_sheet, lane_month, true_up):
        _print_setup(sheet, landscape=sheet is not cover)

    totals = export.totals()
    rows = _write_split_sheet(split_sheet, export, formats, totals, progress)
    _write_lane_month_sheet(lane_month, split_summary(["month", "lane"], export.filters), formats)
    _write_true_up_sheet(true_up, split_summary("quarter", export.filters), totals, formats)
    _write_cover(cover, export, totals, formats, currency=currency, requested_by=requested_by)
    workbook.close()
    return rows


def _print_setup(sheet, *, landscape: bool) -> None:
    """Printable as-is: one page wide, the header row on every page, the sheet name in the footer."""
    if landscape:
        sheet.set_landscape()
        sheet.repeat_rows(0)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer("&L&A&RPage &P of &N")


def _write_header(sheet, labels: Iterable[str], formats: _Formats, numeric: Iterable[int]) -> None:
    """The bold, frozen header row; the headers of number columns are right-aligned like their numbers."""
    numeric = set(numeric)
    for col, label in enumerate(labels):
        sheet.write_string(0, col, label, formats.header_right if col in numeric else formats.header)
    sheet.set_row(0, 22)
    sheet.freeze_panes(1, 0)


def _write_split_sheet(sheet, export: SplitExport, formats: _Formats, totals: dict, progress) -> int:
    kinds = []
    for col, column in enumerate(SPLIT_COLUMNS):
        if column in DECIMAL_COLUMNS:
            money = column != "marketing_share_pct"
            kinds.append("money" if money else "percent")
            sheet.set_column(col, col, max(len(column) + 3, 19 if money else 12))
        else:
            kinds.append(column if column in ("fiscal_year", "month") else "text")
            sheet.set_column(col, col, _COLUMN_WIDTHS.get(column, max(len(column) + 3, 13)))
    first_number = SPLIT_COLUMNS.index("marketing_share_pct")
    _write_header(sheet, SPLIT_COLUMNS, formats, range(first_number, len(SPLIT_COLUMNS)))

    write_string, write_number = sheet.write_string, sheet.write_number
    money_format, percent_format = formats.money, formats.percent
    row = 0
    source = split_rows(export.filters).values_list(*SPLIT_COLUMNS).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
    for values in source:
        row += 1
        for col, value in enumerate(values):
            kind = kinds[col]
            if kind == "money":
                write_number(row, col, float(value), money_format)
            elif kind == "text":
                if value:
                    write_string(row, col, value)  # a string cell: never a formula
            elif kind == "percent":
                write_number(row, col, float(value), percent_format)
            elif kind == "fiscal_year":
                write_string(row, col, fiscal_year_text(value))
            else:
                write_string(row, col, month_text(value))
        if progress is not None and row % XLSX_PROGRESS_ROWS == 0:
            progress(row)
    last_data_row = row
    sheet.autofilter(0, 0, max(last_data_row, 1), len(SPLIT_COLUMNS) - 1)

    # Totals: values (the split_summary of the same selection), not formulas, so any
    # reader shows them without recalculating.
    row += 1
    for col, column in enumerate(SPLIT_COLUMNS):
        if column in SPLIT_AMOUNT_COLUMNS:
            write_number(row, col, _number(totals[column]), formats.total_money)
        elif column == "fiscal_year":
            write_string(row, col, "Total", formats.total)
        elif column == "initiative_title":
            write_string(row, col, f"{totals['rows']:,} rows", formats.total)
        else:
            sheet.write_blank(row, col, None, formats.total)
    if progress is not None:
        progress(last_data_row)
    return last_data_row


def _write_lane_month_sheet(sheet, groups: list[dict], formats: _Formats) -> None:
    labels = ["Fiscal year", "Month", "Lane", "Rows", *AMOUNT_LABELS.values(), "Marketing share of actual %"]
    _write_header(sheet, labels, formats, range(3, len(labels)))
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 10)
    sheet.set_column(2, 2, 13)
    sheet.set_column(3, 3, 9)
    sheet.set_column(4, 4 + len(AMOUNT_LABELS) - 1, 19)
    sheet.set_column(4 + len(AMOUNT_LABELS), 4 + len(AMOUNT_LABELS), 28)
    sums = dict.fromkeys(SPLIT_AMOUNT_COLUMNS, Decimal("0.00"))
    count = 0
    row = 0
    for group in groups:
        row += 1
        sheet.write_string(row, 0, fiscal_year_text(group["fiscal_year"]))
        sheet.write_string(row, 1, month_text(group["month"]))
        sheet.write_string(row, 2, Lane(group["lane"]).label if group["lane"] in Lane.values else group["lane"])
        sheet.write_number(row, 3, group["rows"], formats.integer)
        for offset, column in enumerate(SPLIT_AMOUNT_COLUMNS):
            sheet.write_number(row, 4 + offset, _number(group[column]), formats.money)
            sums[column] += group[column]
        share = group["marketing_share_of_actual"]
        if share is not None:
            sheet.write_number(row, 4 + len(SPLIT_AMOUNT_COLUMNS), float(share), formats.percent)
        count += group["rows"]
    if row:
        sheet.autofilter(0, 0, row, len(labels) - 1)
    row += 1
    sheet.write_string(row, 0, "Total", formats.total)
    sheet.write_blank(row, 1, None, formats.total)
    sheet.write_blank(row, 2, None, formats.total)
    sheet.write_number(row, 3, count, formats.total_integer)
    for offset, column in enumerate(SPLIT_AMOUNT_COLUMNS):
        sheet.write_number(row, 4 + offset, _number(sums[column]), formats.total_money)
    share = _share(sums["actual_marketing"], sums["actual_total"])
    if share is not None:
        sheet.write_number(row, 4 + len(SPLIT_AMOUNT_COLUMNS), float(share), formats.total_percent)
    else:
        sheet.write_blank(row, 4 + len(SPLIT_AMOUNT_COLUMNS), None, formats.total)


def _share(marketing: Decimal, total: Decimal) -> Decimal | None:
    from split.arithmetic import marketing_share_of_actual

    return marketing_share_of_actual(marketing, total)


TRUE_UP_COLUMNS = ("actual_total", "actual_marketing", "paid_marketing", "actual_it", "paid_it", "true_up")


def quarter_months_text(year: int, quarter: int) -> str:
    """E.g. "Jan–Mar 2026" (or "Nov 2026–Jan 2027" across a calendar year)."""
    months = fiscal.fiscal_quarter_months(year, quarter)
    first, last = months[0], months[-1]
    if first.year == last.year:
        return f"{first:%b}–{last:%b} {last.year}"
    return f"{first:%b %Y}–{last:%b %Y}"


def _write_true_up_sheet(sheet, quarters: list[dict], totals: dict, formats: _Formats) -> None:
    labels = ["Fiscal year", "Quarter", "Months", *(AMOUNT_LABELS[c] for c in TRUE_UP_COLUMNS)]
    labels += ["Settlement", "Amount to settle"]
    settlement_col = 3 + len(TRUE_UP_COLUMNS)
    _write_header(sheet, labels, formats, [*range(3, settlement_col), settlement_col + 1])
    sheet.set_column(0, 1, 11)
    sheet.set_column(2, 2, 24)
    sheet.set_column(3, settlement_col - 1, 19)
    sheet.set_column(settlement_col, settlement_col, 22)
    sheet.set_column(settlement_col + 1, settlement_col + 1, 19)
    row = 0
    for quarter in quarters:
        row += 1
        year, number = quarter["fiscal_year"], quarter["fiscal_quarter"]
        sheet.write_string(row, 0, fiscal_year_text(year))
        sheet.write_string(row, 1, f"Q{number}")
        sheet.write_string(row, 2, quarter_months_text(year, number))
        _write_settlement(sheet, row, quarter, formats, total=False)
    row += 1
    sheet.write_string(row, 0, "Total", formats.total)
    sheet.write_blank(row, 1, None, formats.total)
    sheet.write_string(row, 2, "Net over the selection", formats.total)
    _write_settlement(sheet, row, totals, formats, total=True)


def _write_settlement(sheet, row: int, amounts: dict, formats: _Formats, *, total: bool) -> None:
    money = formats.total_money if total else formats.money
    for offset, column in enumerate(TRUE_UP_COLUMNS):
        sheet.write_number(row, 3 + offset, _number(amounts[column]), money)
    col = 3 + len(TRUE_UP_COLUMNS)
    sheet.write_string(row, col, settlement_label(amounts["true_up"]), formats.total_owes if total else formats.owes)
    sheet.write_number(row, col + 1, _number(abs(amounts["true_up"])), money)


def _write_cover(sheet, export: SplitExport, totals: dict, formats: _Formats, *, currency: str, requested_by: str):
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 34)
    sheet.set_column(2, 2, 60)
    sheet.hide_gridlines(2)
    sheet.write_string(0, 0, "Spend split report", formats.title)
    sheet.set_row(0, 28)
    sheet.write_string(
        1, 0, "Right-Speed Portfolio · marketing versus IT spend, per initiative and month", formats.subtitle
    )

    as_of = export.as_of_local
    generated = timezone.localtime()
    facts = [
        ("Figures as of", f"{as_of:%d %b %Y, %H:%M} ({settings.TIME_ZONE})" if as_of else "Not computed yet"),
        ("Reporting currency", currency),
        ("Fiscal year starts", dt.date(2000, settings.FISCAL_YEAR_START_MONTH, 1).strftime("%B")),
        ("Generated", f"{generated:%d %b %Y, %H:%M} ({settings.TIME_ZONE})"),
        ("Generated by", requested_by or "—"),
    ]
    row = 3
    for label, value in facts:
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.value)
        row += 1
    sheet.write_string(row, 0, "Rows", formats.label)
    sheet.write_number(row, 1, totals["rows"], formats.value_integer)

    row += 2
    sheet.write_string(row, 0, "Filters", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    for label, value in export.filter_labels():
        row += 1
        sheet.write_string(row, 0, label, formats.label)
        sheet.write_string(row, 1, value, formats.value)

    row += 2
    sheet.write_string(row, 0, f"Totals ({currency})", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    for column in SPLIT_AMOUNT_COLUMNS:
        row += 1
        sheet.write_string(row, 0, AMOUNT_LABELS[column], formats.label)
        sheet.write_number(row, 1, _number(totals[column]), formats.value_money)
    row += 1
    sheet.write_string(row, 0, "Settlement", formats.label)
    sheet.write_string(
        row, 1, f"{settlement_label(totals['true_up'])} {abs(totals['true_up']):,.2f} {currency}", formats.value
    )

    row += 2
    sheet.write_string(row, 0, "Sheets", formats.section)
    sheet.write_blank(row, 1, None, formats.section)
    notes = [
        (SPLIT_SHEET, "One row per initiative and month: the columns of the CSV export, with a totals row."),
        (LANE_MONTH_SHEET, "The rows summed per fiscal month and lane."),
        (TRUE_UP_SHEET, "Per fiscal quarter, who owes whom: true-up = actual marketing − paid by marketing."),
    ]
    for name, note in notes:
        row += 1
        sheet.write_string(row, 0, name, formats.value)
        sheet.write_string(row, 1, note, formats.label)
    row += 2
    sheet.write_string(
        row,
        0,
        "Marketing + IT equals the total in every row and every roll-up. Text that looks like a formula "
        "is stored as text.",
        formats.subtitle,
    )


# --- exports in the background ------------------------------------------------------------
#
# Above EXPORT_ASYNC_ROWS rows the reports page does not make the person wait: an
# ExportJob row is recorded, its task is queued once that row is committed, and the
# task writes the file under MEDIA_ROOT/exports/, recording its progress as it goes.
# Files are kept EXPORT_KEEP_DAYS days, then removed by a nightly task.

EXPORT_KINDS: dict[str, tuple[str, str]] = {
    ExportFormat.CSV: ("split-report", "csv"),
    ExportFormat.XLSX: ("split-report", "xlsx"),
    ExportFormat.JOURNAL: ("true-up-journal", "csv"),
}
EXPORTS_FOLDER = "exports"
EXPORT_KEEP_DAYS = 7
# A queued export no worker picked up within this many seconds is dropped by the broker.
QUEUED_EXPORT_EXPIRES_SECONDS = 3600
PROGRESS_EVERY_SECONDS = 0.5
QUEUE_UNAVAILABLE = "Queue unavailable, try again."


class ExportQueueUnavailable(Exception):
    """The export task could not be handed to the broker; the job is kept, marked failed, and can be retried."""


def export_row_count(export: SplitExport, export_format: str) -> int:
    """How many data rows the file will have (journal: the rows with a true-up)."""
    if export_format == ExportFormat.JOURNAL:
        return journal_rows(export.filters).count()
    return export.row_count()


def export_job_request(*, export_format: str, params: Mapping[str, Any], by) -> ExportJob:
    """Record a background export for `by` and queue its task once the job row is committed.

    Bad filters raise SplitFilterError and record nothing. If the broker cannot be
    reached the job stays (failed, with its filters) and ExportQueueUnavailable is
    raised for the caller to show; `export_job_retry` queues it again.

    Deliberately not `@transaction.atomic`: the task is sent after the commit, and a
    failure to send it is recorded in its own transaction.
    """
    if export_format not in EXPORT_KINDS:
        raise ValueError(f"unknown export format {export_format!r}; use one of {', '.join(EXPORT_KINDS)}")
    export = SplitExport.prepare(params)
    kind, extension = EXPORT_KINDS[export_format]
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=by,
            format=export_format,
            filters=export.query_params(),
            row_count=export_row_count(export, export_format),
            as_of=export.as_of,
            file_name=export.filename(kind, extension),
        )
        transaction.on_commit(lambda: _enqueue_export(job), robust=False)
    job.refresh_from_db()
    return job


def export_job_retry(*, job: ExportJob, by) -> ExportJob:
    """Queue a failed export of `by` again (same filters); other jobs are left alone."""
    if job.requested_by_id != by.pk or job.status != ExportStatus.FAILED:
        return job
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FAILED).update(
            status=ExportStatus.QUEUED, error="", progress=0, rows_written=0, started_at=None, finished_at=None
        )
        transaction.on_commit(lambda: _enqueue_export(job), robust=False)
    job.refresh_from_db()
    return job


def _enqueue_export(job: ExportJob) -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from reports.tasks import export_job_task

    try:
        export_job_task.apply_async(
            kwargs={"job_id": str(job.pk)},
            expires=QUEUED_EXPORT_EXPIRES_SECONDS,
            # Fail fast when the broker is down: the person is waiting for the page.
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except (BrokerError, ConnectionError) as exc:
        logger.error("export %s: could not queue the task: %s", job.pk, exc)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, finished_at=timezone.now(), error=f"{QUEUE_UNAVAILABLE} ({exc})"
        )
        raise ExportQueueUnavailable(
            "The export could not be queued: the task queue is unavailable. Nothing was lost — try again in a minute."
        ) from exc


class _ProgressRecorder:
    """Records rows written on the job now and then (at most every PROGRESS_EVERY_SECONDS)."""

    def __init__(self, job: ExportJob):
        self.job_id = job.pk
        self.total = job.row_count or 0
        self.rows = 0
        self.recorded_at = 0.0

    def __call__(self, rows: int) -> None:
        self.rows = rows
        now = time.monotonic()
        if now - self.recorded_at >= PROGRESS_EVERY_SECONDS:
            self.recorded_at = now
            percent = min(99, rows * 100 // self.total) if self.total else 0
            ExportJob.objects.filter(pk=self.job_id).update(rows_written=rows, progress=percent)


def export_file_path(job: ExportJob) -> Path:
    """Where the job's file is (or will be) on disk."""
    return Path(settings.MEDIA_ROOT) / (job.file or f"{EXPORTS_FOLDER}/{job.pk}.{EXPORT_KINDS[job.format][1]}")


def export_job_run(*, job_id: uuid.UUID | str) -> ExportJob:
    """Write the file of a queued export, recording progress; returns the job in its final state.

    A job that already succeeded is returned untouched (a redelivered message
    changes nothing). The file is written under a temporary name and renamed when
    complete, so a download never sees half a file. Failures are recorded on the
    job and raised.
    """
    job = _claim_export(job_id)
    if job.status == ExportStatus.SUCCEEDED:
        return job
    kind, extension = EXPORT_KINDS[job.format]
    relative = f"{EXPORTS_FOLDER}/{job.pk}.{extension}"
    final = Path(settings.MEDIA_ROOT) / relative
    partial = final.with_name(final.name + ".part")
    try:
        export = SplitExport.prepare(job.filters)  # the latest recompute when the file is written
        final.parent.mkdir(parents=True, exist_ok=True)
        progress = _ProgressRecorder(job)
        with open(partial, "wb") as target:
            if job.format == ExportFormat.XLSX:
                requested_by = job.requested_by.get_full_name() or job.requested_by.get_username()
                rows = write_split_xlsx(export, target, requested_by=requested_by, progress=progress)
            elif job.format == ExportFormat.CSV:
                write_chunks(split_csv_chunks(export.filters, progress=progress), target)
                rows = progress.rows
            else:
                write_chunks(journal_csv_chunks(export.filters, progress=progress), target)
                rows = progress.rows
        os.replace(partial, final)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.SUCCEEDED,
            progress=100,
            rows_written=rows,
            row_count=rows,
            file=relative,
            file_size=final.stat().st_size,
            file_name=export.filename(kind, extension),
            as_of=export.as_of,
            error="",
            finished_at=timezone.now(),
        )
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=_describe_failure(exc), finished_at=timezone.now()
        )
        raise
    logger.info("export %s: %s rows, %s", job.pk, rows, final.name)
    job.refresh_from_db()
    return job


def _claim_export(job_id) -> ExportJob:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("requested_by").get(pk=job_id)
        if job.status != ExportStatus.SUCCEEDED:
            job.status, job.started_at, job.finished_at, job.error = ExportStatus.RUNNING, timezone.now(), None, ""
            job.progress, job.rows_written = 0, 0
            job.save(update_fields=["status", "started_at", "finished_at", "error", "progress", "rows_written"])
        return job


def _describe_failure(exc: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return "Failed: the export took longer than its time limit. Try a narrower selection."
    return f"Failed: {type(exc).__name__}: {exc}".strip()[:2000]


def export_files_purge(*, now: dt.datetime | None = None, keep_days: int = EXPORT_KEEP_DAYS) -> int:
    """Remove the exports (files and jobs) older than `keep_days` days; returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days)
    folder = (Path(settings.MEDIA_ROOT) / EXPORTS_FOLDER).resolve()
    removed = 0
    for job in ExportJob.objects.filter(created_at__lt=cutoff).only("pk", "file", "format"):
        path = export_file_path(job).resolve()
        if path.parent == folder:  # only ever delete inside the exports folder
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".part").unlink(missing_ok=True)
        job.delete()
        removed += 1
    if removed:
        logger.info("exports: removed %s older than %s days", removed, keep_days)
    return removed


def export_jobs_for(user, *, limit: int = 50) -> list[ExportJob]:
    """The person's exports, newest first (each person sees only their own)."""
    return list(ExportJob.objects.filter(requested_by=user).order_by("-created_at")[:limit])


def export_expires_at(job: ExportJob) -> dt.datetime:
    return job.created_at + dt.timedelta(days=EXPORT_KEEP_DAYS)
