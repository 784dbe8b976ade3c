"""Enumerations of the split engine."""

from portfolio.jobs import JobStatus

# A recompute's status is the one job status (portfolio.jobs): queued, running, succeeded,
# failed, skipped (it found the lock taken and was told not to wait), interrupted (its worker died).
RunStatus = JobStatus

# A succeeded run with this trigger wrote a compact history and no split table: the demo's past
# year of recomputes (`demo.split_history`). It is never the current table (`split.selectors.
# latest_successful_run`, the dashboard's freshness): only a point of the share trend.
HISTORY_ONLY_TRIGGER = "seed"
