"""The recompute's errors; their messages are meant for the user."""

from __future__ import annotations


class SplitRecomputeError(Exception):
    """A recompute could not be started or run; the message is meant for the user."""


class SplitQueueUnavailable(SplitRecomputeError):
    """The task could not be handed to the broker; the run was marked failed."""


class SplitLockTimeout(SplitRecomputeError):
    """The running recompute did not finish within split.locks.LOCK_WAIT_SECONDS; this one gave up waiting."""
