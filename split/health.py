"""The split engine's advisory check on /healthz (registered by SplitConfig.ready, see portfolio.health).

As of when the split figures are (the last successful recompute and its age), and since when a
recompute has been `running` past its time limit (it, or its worker, is stuck). Either is a
warning, never a failure of the instance: taking web servers out of rotation does not bring a
recompute back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from split.selectors import latest_successful_run, overrunning_run
from split.services import RUN_TIME_LIMIT_SECONDS

logger = logging.getLogger(__name__)


def check_recompute() -> dict[str, Any]:
    """The last successful recompute, its age in seconds, and `running_too_long_since` (else null)."""
    max_age_hours = settings.HEALTHZ_RECOMPUTE_MAX_AGE_HOURS
    try:
        run = latest_successful_run()
        overrunning = overrunning_run(limit_seconds=RUN_TIME_LIMIT_SECONDS)
    except Exception as error:
        logger.warning("healthz: could not read the last recompute: %s", error)
        return {"ok": False, "error": type(error).__name__, "max_age_hours": max_age_hours}
    result: dict[str, Any] = {"last_success_at": None, "age_seconds": None, "max_age_hours": max_age_hours}
    if run is not None and run.finished_at is not None:
        result["last_success_at"] = run.finished_at.isoformat()
        result["age_seconds"] = max(0, round((timezone.now() - run.finished_at).total_seconds()))
    result["running_too_long_since"] = overrunning.started_at.isoformat() if overrunning else None
    result["time_limit_seconds"] = RUN_TIME_LIMIT_SECONDS
    fresh = result["age_seconds"] is not None and result["age_seconds"] <= max_age_hours * 3600
    return {"ok": fresh and overrunning is None, **result}


def recompute_warnings(recompute: dict[str, Any]) -> list[str]:
    if recompute.get("error"):
        return ["The last spend-split recompute could not be read."]
    warnings = []
    if recompute["age_seconds"] is None:
        warnings.append("The spend split has never been recomputed successfully.")
    elif recompute["age_seconds"] > recompute["max_age_hours"] * 3600:
        warnings.append(f"The spend split was last recomputed more than {recompute['max_age_hours']} hours ago.")
    if recompute["running_too_long_since"]:
        warnings.append(
            f"A spend-split recompute has been running since {recompute['running_too_long_since']}, longer than "
            f"its {recompute['time_limit_seconds'] // 60}-minute time limit: it or its worker is stuck."
        )
    return warnings
