"""The split engine's advisory check on /healthz (registered by SplitConfig.ready, see portfolio.health).

As of when the split figures are: the last successful recompute and its age. A stale or missing
recompute is a warning, never a failure of the instance.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from .selectors import latest_successful_run

logger = logging.getLogger(__name__)


def check_recompute() -> dict[str, Any]:
    """The last successful recompute and its age in seconds; ok while younger than HEALTHZ_RECOMPUTE_MAX_AGE_HOURS."""
    max_age_hours = settings.HEALTHZ_RECOMPUTE_MAX_AGE_HOURS
    try:
        run = latest_successful_run()
    except Exception as error:
        logger.warning("healthz: could not read the last recompute: %s", error)
        return {"ok": False, "error": type(error).__name__, "max_age_hours": max_age_hours}
    if run is None or run.finished_at is None:
        return {"ok": False, "last_success_at": None, "age_seconds": None, "max_age_hours": max_age_hours}
    age_seconds = max(0, round((timezone.now() - run.finished_at).total_seconds()))
    return {
        "ok": age_seconds <= max_age_hours * 3600,
        "last_success_at": run.finished_at.isoformat(),
        "age_seconds": age_seconds,
        "max_age_hours": max_age_hours,
    }


def recompute_warning(recompute: dict[str, Any]) -> str:
    if recompute.get("age_seconds") is not None:
        return f"The spend split was last recomputed more than {recompute['max_age_hours']} hours ago."
    if recompute.get("error"):
        return "The last spend-split recompute could not be read."
    return "The spend split has never been recomputed successfully."
