"""Shared fixtures: role users, and the rule that CI never skips a missing service."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import PASSWORD, UserFactory

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # the browser tests' screenshots


def service_missing(message: str) -> None:
    """A service, program or browser a test needs is not there: skipped locally, a failure under CI=true."""
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `postgres` need PostgreSQL: skipped on SQLite locally, failed in CI."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        service_missing("needs PostgreSQL (set DATABASE_URL=postgres://…)")
    if item.get_closest_marker("broker"):
        from django.conf import settings

        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            service_missing("needs a Redis broker (set CELERY_BROKER_URL=redis://…)")


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium driven by Playwright for Python (never a downloaded browser), headless."""
    # Playwright's sync API runs an event loop in this thread; Django must still allow the ORM here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright for Python is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        service_missing(f"Chromium is missing at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def browser_sign_in(page, base_url: str, username: str, path: str = "/accounts/login/", wait: str = "load") -> None:
    """Open `path` signed out (the login page, or a page that sends there) and sign in as `username`."""
    page.goto(f"{base_url}{path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state(wait)
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"


@pytest.fixture(autouse=True)
def _rows_the_migrations_made(request):
    """Put back the role groups and the code sequence for transactional tests.

    A transactional test flushes the whole database when it ends, rows created
    by data migrations included, so the next one would find none.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.contrib.auth.models import Group

    from initiatives.choices import Role
    from initiatives.models import CodeSequence
    from initiatives.services import INITIATIVE_SEQUENCE

    for role in Role.values:
        Group.objects.get_or_create(name=role)
    CodeSequence.objects.get_or_create(name=INITIATIVE_SEQUENCE)


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploaded and generated files go to a directory of this test's own (MEDIA_ROOT)."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def pm(db):
    return UserFactory(username="pm.marketing", role="pm", side="marketing")


@pytest.fixture
def other_pm(db):
    return UserFactory(username="pm.it", role="pm", side="it")


@pytest.fixture
def executive_marketing(db):
    return UserFactory(username="cmo", role="executive", side="marketing")


@pytest.fixture
def executive_it(db):
    return UserFactory(username="cio", role="executive", side="it")


@pytest.fixture
def finance(db):
    return UserFactory(username="finance", role="finance", side="")


class MailServer:
    """The test mail server (Django's in-memory backend), which a test can take down and bring back."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch
        self.refused = 0

    def down(self, error: Exception) -> None:
        from django.core.mail.backends.locmem import EmailBackend

        def refuse(backend, messages):
            self.refused += len(messages)
            raise error

        self._monkeypatch.setattr(EmailBackend, "send_messages", refuse)

    def up(self) -> None:
        self._monkeypatch.undo()


@pytest.fixture
def mail_server(monkeypatch) -> MailServer:
    return MailServer(monkeypatch)


def assert_assets_served_here(html: str) -> None:
    """Every script and stylesheet of the page comes from this site (the site works with no internet)."""
    assets = re.findall(r'<script[^>]*\ssrc="([^"]*)"', html) + re.findall(r'<link[^>]*\shref="([^"]*)"', html)
    foreign = [url for url in assets if not (url.startswith(("/", "data:")) and not url.startswith("//"))]
    assert assets and not foreign, foreign
