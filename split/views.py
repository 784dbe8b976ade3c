"""Pages of the spend-split engine: recent recompute runs and the "Recompute now" button.

Thin: the policy decides who may see and start runs, the selectors read, and
`split_recompute_request` queues the run (or joins the one already queued). After
"Recompute now" the page follows that run (`?run=<id>`): its notice lives in the
polled panel, so it changes to the outcome when the run ends.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portfolio.policy import can
from split.choices import HISTORY_ONLY_TRIGGER, RunStatus
from split.models import SplitRun
from split.selectors import active_runs, latest_successful_run, recent_runs
from split.services import SplitRecomputeError, split_recompute_request

POLL_SECONDS = 2
TRIGGER_LABELS = {
    "schedule": "Nightly schedule",
    "command": "Command line",
    "ui": "Recompute now",
    "api": "API",
    "retry": "Retry after an interruption",
    HISTORY_ONLY_TRIGGER: "Demo history (no table)",
}


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


def _followed_run(request: HttpRequest, known: list[SplitRun]) -> SplitRun | None:
    """The run named by `?run=` (the one "Recompute now" queued or joined); None if absent or not a run id."""
    try:
        run_id = uuid.UUID(request.GET.get("run", ""))
    except ValueError:
        return None
    run = next((run for run in known if run.pk == run_id), None)
    if run is None:
        run = SplitRun.objects.select_related("requested_by").filter(pk=run_id).first()
    if run is not None:
        run.duration_text = duration_text(run.duration_ms)
        run.joined = run.requested_by_id != request.user.pk  # the request joined a run queued before it
    return run


def _runs_context(request: HttpRequest) -> dict:
    active = active_runs()
    runs = recent_runs()
    for run in runs:
        run.duration_text = duration_text(run.duration_ms)
        run.trigger_label = TRIGGER_LABELS.get(run.trigger, run.trigger)
    latest = latest_successful_run()
    if latest is not None:
        latest.duration_text = duration_text(latest.duration_ms)
    followed = _followed_run(request, runs)
    if followed is not None:
        # A failed or interrupted run may have been made good since (its retry, the next run).
        followed.made_good = bool(
            latest
            and followed.finished_at
            and followed.status != RunStatus.SUCCEEDED
            and latest.finished_at > followed.finished_at
        )
    panel_url = reverse("split:runs_panel")
    if followed is not None:
        panel_url += "?" + urlencode({"run": followed.pk})
    return {
        "runs": runs,
        "latest": latest,
        "active": active,
        "running": next((run for run in active if run.status == RunStatus.RUNNING), None),
        "waiting": next((run for run in active if run.status == RunStatus.QUEUED), None),
        "followed": followed,
        "panel_url": panel_url,
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
    """Finance's "Recompute now": queue a run (or join the queued one), then follow it on the runs page."""
    _require(request, "split.recompute")
    try:
        run = split_recompute_request(by=request.user, trigger="ui")
    except SplitRecomputeError as exc:
        messages.error(request, str(exc))
        return redirect("split:runs")
    # No flash message: it would outlive the run. The followed run's notice is part of the polled panel.
    return redirect(f"{reverse('split:runs')}?{urlencode({'run': run.pk})}")
