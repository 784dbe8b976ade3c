"""The split report as CSV (PRODUCT.md §4): its lines, their SQL twin for COPY, and the streaming.

The CSV takes its columns from `SPLIT_COLUMNS` (split/arithmetic.py, defined once) and
reads the split table of the latest recompute through `split_rows`, so its figures are
the dashboard's to the cent; each cell is written as `reports.cells` says.

The CSV is streamed in chunks, memory flat whatever the size. On PostgreSQL the
database formats the rows itself (`COPY (SELECT …) TO STDOUT WITH (FORMAT csv)`,
escaping included) and a producer thread hands its output to the response
through a bounded queue; elsewhere a Python formatter over a chunked iterator
writes the same bytes. The two paths are held to each other byte for byte by the
tests on PostgreSQL. `lines_in_chunks` is also how the true-up journal is streamed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connection

from reports.cells import FORMULA_TRIGGERS, TEXT_COLUMNS, csv_text, decimal_text, fiscal_year_text, month_text
from split.arithmetic import SPLIT_COLUMNS
from split.selectors import SplitFilters, split_rows

CSV_HEADER = ",".join(SPLIT_COLUMNS) + "\n"


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


def sql_text_cell(name: str) -> str:
    """`csv_text` in SQL: a text column as COPY … CSV writes it like the Python path (formula-safe, empty unquoted)."""
    return f"CASE WHEN ascii({name}) IN ({_SQL_TRIGGER_CODES}) THEN '''' || {name} ELSE nullif({name}, '') END"


def _sql_cell(column: str) -> str:
    name = f"r.{column}"
    if column == "fiscal_year":
        return f"'FY' || {name}"
    if column == "month":
        return f"to_char({name}, 'YYYY-MM')"
    if column in TEXT_COLUMNS:
        return sql_text_cell(name)
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


# --- streaming -------------------------------------------------------------

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
    yield from report_csv_chunks(
        CSV_HEADER,
        copy_select=lambda: split_csv_select(filters),
        python_lines=lambda: (
            split_csv_line(values)
            for values in split_rows(filters).values_list(*SPLIT_COLUMNS).iterator(chunk_size=ITERATOR_CHUNK_ROWS)
        ),
        method=method,
        progress=progress,
    )


def report_csv_chunks(
    header: str,
    *,
    copy_select: Callable[[], tuple[str, list]],
    python_lines: Callable[[], Iterable[str]],
    method: str | None,
    progress: Callable[[int], None] | None,
) -> Iterator[bytes]:
    """A report's CSV as byte chunks, the header first: PostgreSQL's COPY of `copy_select()` (the
    default there) or `python_lines()` formatted here (elsewhere, and whenever `progress` is given).
    The split report and the forecast report both stream through here."""
    if method is None:
        method = "copy" if connection.vendor == "postgresql" and progress is None else "python"
    if method not in ("copy", "python"):
        raise ValueError(f"unknown CSV method {method!r}: use copy or python")
    if method == "copy" and progress is not None:
        raise ValueError("the copy method holds the connection: it cannot report progress")
    yield header.encode()
    if method == "copy":
        sql, params = copy_select()
        yield from copy_csv_chunks(sql, params)
    else:
        yield from lines_in_chunks(python_lines(), progress)


def lines_in_chunks(lines: Iterable[str], progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
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
