"""Pages of the spend-split engine: recent recompute runs and the "Recompute now" button.

Thin: the policy decides who may see and start runs, the selectors read, and
`split_recompute_request` queues the run.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portfolio.policy import can
from split.selectors import active_runs, latest_successful_run, recent_runs
from split.services import SplitRecomputeError, split_recompute_request

POLL_SECONDS = 2
TRIGGER_LABELS = {"schedule": "Nightly schedule", "command": "Command line", "ui": "Recompute now", "api": "API"}


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied


def duration_text(milliseconds: int | None) -> str:
    """1234 → "1.23 s", 83000 → "1 min 23 s"; blank when unknown."""
    if milliseconds is None:
        return ""
    if milliseconds < 60_000:
        return f"{milliseconds / 1000:.2f} s"
    minutes, seconds = divmod(round(milliseconds / 1000), 60)
    return f"{minutes} min {seconds} s"


def _runs_context(request: HttpRequest) -> dict:
    active = active_runs()
    runs = recent_runs()
    for run in runs:
        run.duration_text = duration_text(run.duration_ms)
        run.trigger_label = TRIGGER_LABELS.get(run.trigger, run.trigger)
    latest = latest_successful_run()
    if latest is not None:
        latest.duration_text = duration_text(latest.duration_ms)
    return {
        "runs": runs,
        "latest": latest,
        "active": active,
        "can_recompute": can(request.user, "split.recompute"),
        "poll_seconds": POLL_SECONDS,
        "schedule_hour": settings.SPLIT_RECOMPUTE_HOUR,
        "time_zone": settings.TIME_ZONE,
    }


@require_GET
def split_runs(request: HttpRequest) -> HttpResponse:
    """/split/runs/: the latest runs with status, as-of, duration, rows and errors."""
    _require(request, "split.view")
    return render(request, "split/runs.html", _runs_context(request))


@require_GET
def split_runs_panel(request: HttpRequest) -> HttpResponse:
    """The part of the runs page that HTMX polls while a run is queued or running."""
    _require(request, "split.view")
    return render(request, "split/_runs_panel.html", _runs_context(request))


@require_POST
def split_recompute_now(request: HttpRequest) -> HttpResponse:
    """Finance's "Recompute now": queue a run, then watch it on the runs page."""
    _require(request, "split.recompute")
    try:
        split_recompute_request(by=request.user, trigger="ui")
    except SplitRecomputeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Recompute queued. This page follows it until it finishes.")
    return redirect("split:runs")
