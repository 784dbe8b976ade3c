"""`/healthz` for load balancers and monitors: is this instance able to serve?

200 when the database answers `SELECT 1` and the Celery broker is reachable, 503 when
either is not. Apps add advisory checks with `register_check` from their AppConfig.ready()
(the split app: the age of the last successful recompute and a run past its time limit, `split.health`): each is
reported, with a warning when it is not ok, but never makes the instance unhealthy:
taking web servers out of rotation does not bring a recompute back. Portfolio imports
no app; the registry is how they reach this page.

Anonymous (load balancers do not sign in) and cheap: no session, no user, one query
for the database check and one per advisory check, a two-second bound on the broker.
Errors are reported by exception class only; the details go to the log, not to the
anonymous caller.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, JsonResponse
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


@dataclass(frozen=True)
class AdvisoryCheck:
    """An app's check: `run()` gives a dict with `ok` (it reads the database, so it runs only when the
    database answers); `warning(result)` says in one sentence what is wrong when `ok` is false."""

    run: Callable[[], dict[str, Any]]
    warning: Callable[[dict[str, Any]], str | list[str]]


ADVISORY_CHECKS: dict[str, AdvisoryCheck] = {}


def register_check(
    name: str, run: Callable[[], dict[str, Any]], *, warning: Callable[[dict[str, Any]], str | list[str]]
) -> None:
    """Report `run()` under `checks.<name>` of /healthz, and `warning(result)` when it is not ok (AppConfig.ready)."""
    ADVISORY_CHECKS[name] = AdvisoryCheck(run, warning)


def _advisory(check: AdvisoryCheck, database_ok: bool) -> tuple[dict[str, Any], list[str]]:
    # Without a database there is nothing to read; say so instead of failing a second time.
    if not database_ok:
        return {"ok": False, "error": "database unavailable"}, []
    try:
        result = check.run()
    except Exception as error:
        logger.warning("healthz: an advisory check failed: %s", error)
        result = {"ok": False, "error": type(error).__name__}
    if result["ok"]:
        return result, []
    warning = check.warning(result)
    return result, [warning] if isinstance(warning, str) else list(warning)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 `{"status": "ok", …}` when the database and the broker answer, else 503 `{"status": "unavailable", …}`."""
    database = check_database()
    broker = check_broker()
    checks = {"database": database, "broker": broker}
    warnings = []
    for name, check in ADVISORY_CHECKS.items():
        checks[name], check_warnings = _advisory(check, database["ok"])
        warnings.extend(check_warnings)
    healthy = database["ok"] and broker["ok"]
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "warnings": warnings}
    return JsonResponse(body, status=200 if healthy else 503)
