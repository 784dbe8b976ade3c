"""`/healthz` for load balancers and monitors: is this instance able to serve?

200 when the database answers `SELECT 1` and the Celery broker is reachable, 503 when
either is not. The age of the last successful split recompute is reported too, with a
warning when it is older than `HEALTHZ_RECOMPUTE_MAX_AGE_HOURS`, and so is a recompute
`running` for longer than its time limit (stuck, or its worker is), with a warning; neither
makes the instance unhealthy: taking web servers out of rotation does not bring a
recompute back.

Anonymous (load balancers do not sign in) and cheap: no session, no user, one query
for the database check and two for the recompute, a two-second bound on the broker.
Errors are reported by exception class only; the details go to the log, not to the
anonymous caller.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def check_database() -> dict[str, Any]:
    """`SELECT 1` on the default database."""
    started = time.perf_counter()
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        logger.warning("healthz: database unreachable: %s", error)
        return {"ok": False, "error": type(error).__name__, "latency_ms": _elapsed_ms(started)}
    return {"ok": True, "latency_ms": _elapsed_ms(started)}


def _ping_broker(url: str) -> None:
    """Raise if the broker at `url` cannot be reached within BROKER_TIMEOUT_SECONDS."""
    scheme = urlsplit(url).scheme
    if scheme == "filesystem":
        # Kombu's filesystem transport: the queue is a folder this process must be able to write.
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")
        if not (folder and os.path.isdir(folder) and os.access(folder, os.W_OK)):
            raise FileNotFoundError("the filesystem broker's queue folder is missing or read-only")
    elif scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=BROKER_TIMEOUT_SECONDS, socket_timeout=BROKER_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
    else:
        from kombu import Connection

        with Connection(url, connect_timeout=BROKER_TIMEOUT_SECONDS) as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def check_broker() -> dict[str, Any]:
    """The Celery broker (CELERY_BROKER_URL) answers; only its transport is reported, never the URL."""
    url = settings.CELERY_BROKER_URL
    started = time.perf_counter()
    result: dict[str, Any] = {"transport": urlsplit(url).scheme}
    try:
        _ping_broker(url)
    except Exception as error:
        logger.warning("healthz: broker unreachable (%s): %s", result["transport"], error)
        return {**result, "ok": False, "error": type(error).__name__, "latency_ms": _elapsed_ms(started)}
    return {**result, "ok": True, "latency_ms": _elapsed_ms(started)}


def check_recompute() -> dict[str, Any]:
    """As of when the split figures are (the last successful recompute, its age in seconds), and since
    when a recompute has been running past its time limit (`running_too_long_since`, else null)."""
    from budgets.spend_split import RUN_TIME_LIMIT_SECONDS
    from budgets.split_selectors import latest_successful_run, overrunning_run

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


def _recompute_warnings(recompute: dict[str, Any]) -> list[str]:
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


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 `{"status": "ok", …}` when the database and the broker answer, else 503 `{"status": "unavailable", …}`."""
    database = check_database()
    broker = check_broker()
    # Without a database there is no run to read; say so instead of failing a second time.
    recompute = check_recompute() if database["ok"] else {"ok": False, "error": "database unavailable"}
    healthy = database["ok"] and broker["ok"]
    warnings = [] if recompute["ok"] or not database["ok"] else _recompute_warnings(recompute)
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {"database": database, "broker": broker, "recompute": recompute},
        "warnings": warnings,
    }
    return JsonResponse(body, status=200 if healthy else 503)
