"""Structured logs with request ids: X-Request-ID in and out, in every log line of the request, JSON on demand."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from portfolio.logging import JsonFormatter, RequestIdFilter
from portfolio.middleware import NO_REQUEST_ID, current_request_id

ROOT = Path(__file__).resolve().parents[2]
view_logger = logging.getLogger("tests.security.view")


def logging_view(request):
    view_logger.warning("inside the view", extra={"initiative_code": "INI-0042"})
    return HttpResponse("ok")


def failing_view(request):
    raise RuntimeError("boom")


urlpatterns = [path("log/", logging_view), path("fail/", failing_view)]


@pytest.fixture
def captured():
    """Records as the console handler sees them: through the request id filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root, access = logging.getLogger(), logging.getLogger("portfolio.request")
    levels = root.level, access.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access.setLevel(logging.INFO)  # production's REQUEST_LOG_LEVEL
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(levels[0])
    access.setLevel(levels[1])


def test_a_request_id_is_made_and_returned(client, db):
    first = client.get("/accounts/login/")
    second = client.get("/accounts/login/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_callers_request_id_is_kept(client, db):
    response = client.get("/accounts/login/", headers={"X-Request-ID": "lb-7f3a9c01-2b"})
    assert response["X-Request-ID"] == "lb-7f3a9c01-2b"


@pytest.mark.parametrize("incoming", ["", "a" * 129, "id with spaces", 'evil"\n{"level": "CRITICAL"}'])
def test_an_unusable_request_id_is_replaced(client, db, incoming):
    response = client.get("/accounts/login/", headers={"X-Request-ID": incoming})
    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32


@override_settings(ROOT_URLCONF=__name__)
def test_every_log_line_of_the_request_carries_its_id(client, admin_user, captured):
    client.force_login(admin_user)
    response = client.get("/log/", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 200
    lines = captured()
    inside = next(line for line in lines if line["message"] == "inside the view")
    assert inside["request_id"] == "req-123"
    assert inside["level"] == "WARNING"
    assert inside["logger"] == "tests.security.view"
    assert inside["initiative_code"] == "INI-0042"  # extra= fields become keys
    access = next(line for line in lines if line["logger"] == "portfolio.request")
    assert access["request_id"] == "req-123"
    assert access["status"] == 200
    assert access["path"] == "/log/"
    assert access["user_id"] == admin_user.pk
    assert access["duration_ms"] >= 0
    # After the response, the thread serves no request.
    assert current_request_id() == NO_REQUEST_ID


@override_settings(ROOT_URLCONF=__name__)
def test_errors_and_django_request_lines_carry_the_id_and_the_traceback(client, admin_user, captured):
    client.raise_request_exception = False
    client.force_login(admin_user)
    response = client.get("/fail/", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-500"
    error = next(line for line in captured() if line["logger"] == "django.request")
    assert error["request_id"] == "req-500"
    assert error["level"] == "ERROR"
    assert error["path"] == "/fail/"
    assert "RuntimeError: boom" in error["exception"]


def test_a_404_line_written_after_the_middleware_returned_still_has_the_id(client, admin_user, captured):
    client.force_login(admin_user)
    client.get("/initiatives/INI-9999/", headers={"X-Request-ID": "req-404"})
    not_found = next(line for line in captured() if line["logger"] == "django.request")
    assert not_found["message"].startswith("Not Found")
    assert not_found["request_id"] == "req-404"


def test_outside_a_request_lines_carry_a_dash(captured):
    logging.getLogger("tests.security.command").warning("from a command")
    assert captured()[-1]["request_id"] == "-"


def test_json_formatter_writes_one_object_per_line_with_the_time_in_utc():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "two\nlines %s", ("here",), None)
    record.request_id = "r1"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "two\nlines here"
    assert entry["time"].endswith("+00:00")
    assert entry["request_id"] == "r1"


def _logging_of(settings_module: str, **env: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('probe').warning('hello');"
        "from django.conf import settings as s;"
        "print(s.LOGGING['handlers']['console']['formatter'], s.LOGGING['loggers']['portfolio.request']['level'])"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": settings_module,
        "SECRET_KEY": "k" * 20 + "-production-secret-key-for-tests-only-0123456789",
        "ALLOWED_HOSTS": "portfolio.example.com",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_plain_logs_in_development_json_in_production_and_log_format_overrides():
    development = _logging_of("portfolio.settings.base")
    assert development.returncode == 0, development.stderr
    assert development.stdout.split() == ["plain", "WARNING"]
    assert "WARNING [-] probe hello" in development.stderr

    production = _logging_of("portfolio.settings.production")
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["json", "INFO"]
    hello = json.loads(production.stderr.strip().splitlines()[-1])
    assert hello["message"] == "hello"
    assert hello["request_id"] == "-"

    assert _logging_of("portfolio.settings.base", LOG_FORMAT="json").stdout.split()[0] == "json"
    assert _logging_of("portfolio.settings.production", LOG_FORMAT="plain").stdout.split()[0] == "plain"
    wrong = _logging_of("portfolio.settings.base", LOG_FORMAT="xml")
    assert wrong.returncode != 0
    assert "LOG_FORMAT must be one of plain, json" in wrong.stderr


def test_celery_logs_through_the_same_configuration():
    from portfolio.celery import app

    assert app.conf.worker_hijack_root_logger is False  # else the worker swaps in its own plain handler
