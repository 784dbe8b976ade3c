"""/healthz for load balancers: anonymous JSON, 200 when the database and the broker answer, else 503."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.utils import timezone

from portfolio import health
from split.choices import RunStatus
from split.models import SplitRun

pytestmark = pytest.mark.django_db


def test_healthy_instance_answers_200_to_anonymous_load_balancers(client):
    SplitRun.objects.create(status=RunStatus.SUCCEEDED, finished_at=timezone.now() - dt.timedelta(hours=3))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["recompute"]["ok"] is True
    assert 3 * 3600 - 5 <= body["checks"]["recompute"]["age_seconds"] <= 3 * 3600 + 5
    assert body["warnings"] == []


def test_head_works_and_writes_are_refused(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_a_stale_or_missing_recompute_is_a_warning_not_a_failure(client, settings):
    settings.HEALTHZ_RECOMPUTE_MAX_AGE_HOURS = 26
    never = client.get("/healthz")
    assert never.status_code == 200
    assert never.json()["checks"]["recompute"] == {
        "ok": False,
        "last_success_at": None,
        "age_seconds": None,
        "max_age_hours": 26,
        "running_too_long_since": None,
        "time_limit_seconds": 20 * 60,
    }
    assert never.json()["warnings"] == ["The spend split has never been recomputed successfully."]

    SplitRun.objects.create(status=RunStatus.SUCCEEDED, finished_at=timezone.now() - dt.timedelta(hours=30))
    SplitRun.objects.create(status=RunStatus.FAILED, finished_at=timezone.now())  # a failure does not count
    stale = client.get("/healthz")
    assert stale.status_code == 200
    assert stale.json()["checks"]["recompute"]["ok"] is False
    assert stale.json()["warnings"] == ["The spend split was last recomputed more than 26 hours ago."]


def test_a_run_running_longer_than_its_time_limit_is_a_warning(client):
    SplitRun.objects.create(status=RunStatus.SUCCEEDED, finished_at=timezone.now() - dt.timedelta(hours=3))
    SplitRun.objects.create(status=RunStatus.RUNNING, started_at=timezone.now() - dt.timedelta(minutes=5))
    assert client.get("/healthz").json()["warnings"] == []  # running, within its limit

    since = timezone.now() - dt.timedelta(minutes=21)
    SplitRun.objects.create(status=RunStatus.RUNNING, started_at=since)
    response = client.get("/healthz")

    assert response.status_code == 200  # a warning: taking web servers out of rotation does not help
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["recompute"]["ok"] is False
    assert body["checks"]["recompute"]["running_too_long_since"] == since.isoformat()
    assert body["warnings"] == [
        f"A spend-split recompute has been running since {since.isoformat()}, longer than its 20-minute time "
        "limit: it or its worker is stuck."
    ]


def test_database_down_answers_503_without_details(client, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed: Connection refused')

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert "10.1.2.3" not in response.content.decode()  # anonymous callers learn no infrastructure
    assert body["checks"]["recompute"] == {"ok": False, "error": "database unavailable"}


def test_broker_down_answers_503(client, settings):
    # Nothing listens on port 1: refused at once, well within the two-second bound.
    settings.CELERY_BROKER_URL = "redis://:secret-password@127.0.0.1:1/0"
    response = client.get("/healthz")

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["transport"] == "redis"
    assert broker["error"] == "ConnectionError"
    assert broker["latency_ms"] < 2500
    assert "secret-password" not in response.content.decode()
    assert response.json()["checks"]["database"]["ok"] is True


def test_filesystem_broker_needs_its_queue_folder(client, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert client.get("/healthz").status_code == 200
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == "FileNotFoundError"


@pytest.mark.broker
def test_the_real_redis_broker_is_reachable(client):
    broker = health.check_broker()
    assert broker == {"transport": "redis", "ok": True, "latency_ms": broker["latency_ms"]}


def test_healthz_needs_no_session_and_sets_no_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.cookies


def test_apps_add_advisory_checks_without_portfolio_importing_them(client, monkeypatch):
    """portfolio.health imports no app: the split app registers its recompute check, any app may add one."""
    assert "recompute" in health.ADVISORY_CHECKS  # registered by SplitConfig.ready()
    monkeypatch.setattr(health, "ADVISORY_CHECKS", dict(health.ADVISORY_CHECKS))

    def broken():
        raise RuntimeError("the app's own table is missing")

    health.register_check("queue", lambda: {"ok": False, "depth": 9000}, warning=lambda r: f"{r['depth']} waiting.")
    health.register_check("broken", broken, warning=lambda result: "The broken check could not run.")
    response = client.get("/healthz")

    assert response.status_code == 200  # advisory: never unhealthy
    body = response.json()
    assert body["checks"]["queue"] == {"ok": False, "depth": 9000}
    assert body["checks"]["broken"] == {"ok": False, "error": "RuntimeError"}
    assert body["warnings"] == [
        "The spend split has never been recomputed successfully.",
        "9000 waiting.",
        "The broken check could not run.",
    ]
