"""Enumerations of the split engine."""

from portfolio.jobs import JobStatus

# A recompute's status is the one job status (portfolio.jobs): queued, running, succeeded,
# failed, skipped (it found the lock taken and was told not to wait), interrupted (its worker died).
RunStatus = JobStatus
