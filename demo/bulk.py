"""Writing many rows fast: COPY on PostgreSQL (chunked, prefetched, indexes rebuilt once), bulk_create elsewhere.

Also the small text formatters the COPY lines are built with (cents, dates, times,
quoted CSV text), each caching what it formatted: the same values repeat thousands of times.
"""

from __future__ import annotations

import datetime as dt
import io
import queue
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import batched

from django.db import connection, models
from tqdm import tqdm

COPY_CHUNK_ROWS = 100_000  # ~15 MB of CSV per COPY: bounded memory, few round trips
BULK_BATCH_ROWS = 2_000
# Below this many incoming rows, dropping and rebuilding indexes costs more than it saves.
SUSPEND_INDEXES_MIN_ROWS = 10_000


def copy_lines(
    model: type[models.Model],
    columns: Sequence[str],
    lines: Iterable[str],
    label: str,
    total: int,
    progress: bool,
) -> int:
    """Stream CSV lines into `model`'s table with COPY, one bounded chunk at a time."""
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN WITH (FORMAT csv)"
    written = 0
    with (
        indexes_and_foreign_keys_suspended(model, incoming=total),
        progress_bar(label, total, progress) as bar,
        connection.cursor() as cursor,
    ):
        raw = cursor.cursor  # the driver's cursor: COPY is not part of the DB-API
        for data, rows in _chunks_prefetched(lines, COPY_CHUNK_ROWS):
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, io.StringIO(data), size=1 << 20)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(data)
            written += rows
            bar.update(rows)
    return written


def _chunks_prefetched(lines: Iterable[str], size: int) -> Iterator[tuple[str, int]]:
    """Join `lines` into chunks of `size` in a background thread, while the caller sends the previous one.

    Generating rows (Python) and ingesting them (the PostgreSQL backend) each
    take about as long; the driver releases the GIL while it waits on the
    server, so overlapping them nearly halves a large load. Two chunks at most
    wait in the queue, which bounds memory. Only this thread consumes `lines`,
    so the random draws keep their order.
    """
    chunks: queue.Queue[tuple[str, int] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand_over(item: tuple[str, int] | BaseException | None) -> bool:
        # Give up when the caller has stopped listening (its COPY failed).
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in batched(lines, size):
                if not hand_over(("".join(chunk), len(chunk))):
                    return
            hand_over(None)
        except BaseException as error:  # re-raised in the caller's thread
            hand_over(error)

    producer = threading.Thread(target=produce, name="seed-demo-rows", daemon=True)
    producer.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


@contextmanager
def indexes_and_foreign_keys_suspended(model: type[models.Model], *, incoming: int) -> Iterator[None]:
    """Load into a PostgreSQL table without its plain indexes and foreign keys, then restore them exactly.

    Maintaining four B-trees row by row, and firing a deferred foreign-key
    check per row at commit, costs several times more than building each index
    once and validating each key with one join. Only worth it when the table
    holds fewer rows than are coming (on a big table the rebuild would cost
    more), and safe because it all happens in the caller's transaction: a
    failure rolls the drops back too. The table (and, briefly, the tables its
    keys reference) stays locked until commit, which a seed can afford. Unique
    indexes stay: they back constraints.
    """
    table = model._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # The table name comes from the model and is quoted; only the limit is a value.
        cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote(table)} LIMIT %s) AS sample", [incoming])  # noqa: S608  # nosec B608 - a quoted table name
        if incoming < SUSPEND_INDEXES_MIN_ROWS or cursor.fetchone()[0] >= incoming:
            yield
            return
        # Pending deferred checks of earlier inserts (initiatives → users) must
        # run now: PostgreSQL refuses to alter tables with queued trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            """
            SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid = %s::regclass AND NOT indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
            """,
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype = 'f'
            """,
            [table],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: already quoted and qualified as needed
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
        # Back to how Django declares its foreign keys: checked at commit.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def bulk_create_batched(
    model: type[models.Model], objects: Iterable[models.Model], label: str, total: int, progress: bool
) -> int:
    """bulk_create `objects` in batches, so a generator never has to be held in memory whole."""
    written = 0
    with progress_bar(label, total, progress) as bar:
        for batch in batched(objects, BULK_BATCH_ROWS):
            model.objects.bulk_create(batch)
            written += len(batch)
            bar.update(len(batch))
    return written


def progress_bar(label: str, total: int, enabled: bool) -> tqdm:
    # disable=None lets tqdm switch itself off when stderr is not a terminal (CI logs, tests).
    return tqdm(
        total=total,
        desc=f"{label:<12}",
        unit=" rows",
        unit_scale=True,
        file=sys.stderr,
        disable=None if enabled else True,
    )


def cents_text(cents: int) -> str:
    """12345 → "123.45", −5 → "-0.05": the decimal text PostgreSQL parses, without building a Decimal."""
    if cents < 0:
        return f"-{-cents // 100}.{-cents % 100:02d}"
    return f"{cents // 100}.{cents % 100:02d}"


class IsoDates(dict):
    """date → "YYYY-MM-DD", formatted once per distinct date."""

    def __missing__(self, day: dt.date) -> str:
        self[day] = text = day.isoformat()
        return text


class CsvQuoted(dict):
    """text → the CSV field for it (quoted, inner quotes doubled), built once per distinct text."""

    def __missing__(self, text: str) -> str:
        self[text] = field = '"' + text.replace('"', '""') + '"'
        return field


class IsoTimes(dict):
    """datetime → its ISO text, formatted once per distinct time (COPY lines repeat a few thousand times)."""

    def __missing__(self, moment: dt.datetime) -> str:
        self[moment] = text = moment.isoformat()
        return text
