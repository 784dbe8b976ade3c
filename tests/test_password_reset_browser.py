"""In a real browser: forgot the password → the e-mail's link → a new password → signed in with it.

Playwright for Python drives Debian's Chromium; the live server runs in this process, so the in-memory
mailer's outbox holds the e-mail. Screenshots go to test-artifacts/. Skipped locally without Chromium
or Playwright, a failure under CI=true.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import mail

from portfolio import password_reset
from tests.conftest import ARTIFACTS
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a-brand-new-pass-2026"


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"reset-{name}.png"), full_page=True)


def test_forgot_password_to_signed_in_with_the_new_one(browser, live_server, transactional_db, settings, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr(password_reset, "KEY_PREFIX", f"password-reset-test-{uuid.uuid4().hex}")
    settings.SITE_URL = live_server.url
    UserFactory(username="dana", email="dana@example.com", first_name="Dana", last_name="Ng")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(f"{live_server.url}/accounts/login/")
    page.click("text=Forgot your password?")
    expect(page.locator("h2")).to_have_text("Reset your password")
    page.fill("#id_email", "dana@example.com")
    _shot(page, "request")
    page.click("button[type=submit]")
    expect(page.locator("h2")).to_have_text("Check your inbox")
    assert page.url == f"{live_server.url}/accounts/password-reset/sent/"
    _shot(page, "sent")

    assert len(mail.outbox) == 1
    link = re.search(r"http\S+/accounts/password-reset/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    expect(page.locator("h2")).to_have_text("Choose a new password")
    assert page.url.endswith("/set-password/")  # Django took the token out of the address
    page.fill("#id_new_password1", "short")
    page.fill("#id_new_password2", "short")
    page.click("button[type=submit]")
    expect(page.locator(".invalid-feedback").first).to_contain_text("too short")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    _shot(page, "set-password")
    page.click("button[type=submit]")
    expect(page.locator("h2")).to_have_text("Password changed")

    page.click("#reset-sign-in")
    page.fill("#id_username", "dana")
    page.fill("#id_password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/"

    page.goto(link)  # used: it does not work again
    expect(page.locator("h2")).to_have_text("This link is not valid")
    assert refused == []
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
