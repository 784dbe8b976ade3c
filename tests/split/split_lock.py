"""The recompute's single-flight lock held by someone else: another process, as far as the code can tell."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from split import locks


class HeldElsewhere:
    """The lock, taken on a connection (PostgreSQL) or a file handle (SQLite) of its own; `release()` lets go."""

    def __init__(self) -> None:
        self.held = False
        if connection.vendor == "postgresql":
            self.other = connection.copy()
            self.other.connect()
            with self.other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [locks.SPLIT_ADVISORY_LOCK_KEY])
        else:
            self.file_lock = locks._FileLock()
            assert self.file_lock.acquire()
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        if connection.vendor == "postgresql":
            with self.other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [locks.SPLIT_ADVISORY_LOCK_KEY])
            self.other.close()
        else:
            self.file_lock.release()
        self.held = False


@pytest.fixture
def lock_held_elsewhere() -> Iterator[HeldElsewhere]:
    """Another process holds the recompute lock (a live run, as far as this process can tell)."""
    lock = HeldElsewhere()
    try:
        yield lock
    finally:
        lock.release()


@pytest.fixture
def released_while_waiting(monkeypatch, lock_held_elsewhere) -> list[int]:
    """The lock is held elsewhere and let go at the first pause of a run waiting for it (deterministic, no timing).

    Returns the list of pauses taken, so a test can check that the run did wait.
    """
    pauses: list[int] = []

    def pause() -> None:
        pauses.append(1)
        lock_held_elsewhere.release()

    monkeypatch.setattr(locks, "_pause", pause)
    return pauses
