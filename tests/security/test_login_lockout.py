"""Brute-force protection on sign-in (django-axes): 5 failures per username and address, 15 minutes.

Axes is off in the test settings (client.login() passes no request); these tests turn it on.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True


@pytest.fixture
def olivia(db):
    return UserFactory(username="olivia", role="pm", side="marketing")


def sign_in(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client, username: str, times: int, ip: str = "10.0.0.1"):
    return [sign_in(client, username, "wrong-password", ip).status_code for _ in range(times)]


def test_four_failures_still_let_the_right_password_in(client, olivia):
    assert fail(client, "olivia", 4) == [200, 200, 200, 200]  # the form again, with its error
    response = sign_in(client, "olivia", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").wsgi_request.user == olivia


def test_the_fifth_failure_locks_the_username_on_that_address_with_a_clear_page(client, olivia):
    assert fail(client, "olivia", 5) == [200, 200, 200, 200, 429]
    response = sign_in(client, "olivia", PASSWORD)  # even the right password now
    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "After 5 wrong passwords for <strong>olivia</strong>" in page
    assert "paused for 15 minutes" in page
    assert not client.get("/").wsgi_request.user.is_authenticated


def test_the_lockout_is_per_username_and_address(client, olivia):
    UserFactory(username="lucas", role="pm", side="marketing")
    fail(client, "olivia", 5, ip="10.0.0.1")
    # Someone else on the same address, and the same person from another address, still get in.
    assert sign_in(client, "lucas", PASSWORD, ip="10.0.0.1").status_code == 302
    client.logout()
    assert sign_in(client, "olivia", PASSWORD, ip="10.0.0.2").status_code == 302


def test_the_lockout_ends_after_fifteen_minutes(client, olivia):
    fail(client, "olivia", 5)
    assert sign_in(client, "olivia", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=14))
    assert sign_in(client, "olivia", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, olivia):
    fail(client, "olivia", 4)
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "olivia", 4) == [200, 200, 200, 200]
    assert sign_in(client, "olivia", PASSWORD).status_code == 302


def test_failures_on_the_api_token_endpoint_count_and_lock_both_doors(client, olivia):
    cache.clear()  # the token endpoint's own throttle (10/minute) counts in the cache
    api = APIClient(REMOTE_ADDR="10.0.0.1")
    token_url = reverse("api:token")
    for _ in range(5):
        assert api.post(token_url, {"username": "olivia", "password": "guess"}, format="json").status_code == 400
    refused = api.post(token_url, {"username": "olivia", "password": PASSWORD}, format="json")
    assert refused.status_code == 400
    assert "token" not in refused.json()  # JSON for API clients, never the HTML lockout page
    assert sign_in(client, "olivia", PASSWORD).status_code == 429


def test_force_login_keeps_working_with_axes_on(client, olivia):
    client.force_login(olivia)
    assert client.get("/").status_code == 200
