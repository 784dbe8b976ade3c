"""The recompute's single-flight lock (PRODUCT.md §3): at most one split recompute runs at a time.

PostgreSQL: a session-level advisory lock. SQLite: an exclusive file lock. A worker
that dies mid-run cannot release the lock, but loses it all the same: PostgreSQL ends
the dead session and releases its advisory lock; the kernel drops a dead process's file
lock. So a `running` run while nobody holds the lock is dead (split.services).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.db import Error as DatabaseLayerError
from django.db import connection

from split.errors import SplitLockTimeout

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key of the recompute ("SPLIT" in ASCII): any constant
# works as long as nothing else in the database uses it.
SPLIT_ADVISORY_LOCK_KEY = 0x53504C4954
# A run waits at most this long for the running one to finish: longer than a run can hold the
# lock (its task's hard time limit, 20 minutes, kills it and its session releases the lock), so
# a follow-up that requests joined is never given up behind a slow run. A recompute takes
# seconds; one that runs for minutes is stuck, and /healthz says so.
LOCK_WAIT_SECONDS = 25 * 60
LOCK_POLL_SECONDS = 0.5


@contextmanager
def recompute_lock(*, wait: bool, on_wait: Callable[[], None] | None = None) -> Iterator[bool]:
    """Hold the recompute's single-flight lock for the block; yields False if it is taken and `wait` is off.

    PostgreSQL: a session-level advisory lock of this connection. SQLite: an exclusive
    file lock (the worker and the web share the machine with an SQLite database). The
    block's end releases it; so does the death of the process (PostgreSQL ends the
    session, the kernel closes the file). Waiting polls every LOCK_POLL_SECONDS and
    gives up with `SplitLockTimeout` after LOCK_WAIT_SECONDS.
    """
    lock = _AdvisoryLock() if connection.vendor == "postgresql" else _FileLock()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    waiting = False
    while not lock.acquire():
        if not wait:
            yield False
            return
        if not waiting:
            waiting = True
            if on_wait is not None:
                on_wait()
        if time.monotonic() >= deadline:
            raise SplitLockTimeout(
                f"gave up after waiting {LOCK_WAIT_SECONDS // 60} minutes for the running recompute to finish."
            )
        _pause()
    try:
        yield True
    finally:
        lock.release()


def recompute_lock_in_transaction() -> None:
    """Wait for a running recompute to finish, then keep any other from starting until this transaction ends.

    For the writes that must not interleave with a rebuild: freezing a month when it is locked,
    unfreezing it when it is unlocked (split.closing). PostgreSQL: the recompute's advisory key,
    taken at transaction level (a session-level and a transaction-level lock on one key conflict),
    waiting as long as it takes; a session that holds it already (the recompute freezing a month
    itself) gets it at once. Lock order: the period-lock advisory lock (budgets) first, then this
    one; the recompute never takes the period-lock one, so the two cannot deadlock. SQLite:
    nothing to take, its writers are serialised by the database (transaction_mode IMMEDIATE), and
    waiting here for the recompute's file lock while holding the write lock would deadlock.
    """
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("recompute_lock_in_transaction() needs a transaction: the lock is released at its end.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SPLIT_ADVISORY_LOCK_KEY])


def _pause() -> None:
    time.sleep(LOCK_POLL_SECONDS)


class _AdvisoryLock:
    def acquire(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SPLIT_ADVISORY_LOCK_KEY])
            return bool(cursor.fetchone()[0])

    def release(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SPLIT_ADVISORY_LOCK_KEY])
        except DatabaseLayerError:
            # The connection is gone, and with its session the lock.
            logger.warning("split recompute: could not release the lock; its session has ended", exc_info=True)


class _FileLock:
    def __init__(self) -> None:
        self.handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(_lock_path(), "a+")  # noqa: SIM115 - closed by release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _lock_path() -> Path:
    name = str(connection.settings_dict["NAME"])
    if connection.is_in_memory_db():  # private to this process (the tests): so is its lock
        name += f":{os.getpid()}"
    return Path(tempfile.gettempdir()) / f"portfolio-split-{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock"
