"""Token and session authentication, JSON errors for anonymous clients, throttling."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api.conftest import rest_framework_with

pytestmark = pytest.mark.django_db


def test_a_token_comes_from_a_username_and_password(pm):
    client = APIClient()

    response = client.post("/api/auth/token/", {"username": pm.username, "password": "demo-pass-123"}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/initiatives/").status_code == 200
    assert client.post("/api/auth/token/", {"username": pm.username, "password": "x"}, format="json").json() == {
        "non_field_errors": ["Unable to log in with provided credentials."]
    }


def test_anonymous_clients_get_401_json_not_the_login_page():
    response = APIClient().get("/api/expenses/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert APIClient(HTTP_AUTHORIZATION="Token wrong").get("/api/").status_code == 401


def test_a_browser_session_works_and_needs_the_csrf_token_to_write(finance):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(finance)

    assert client.get("/api/fx-rates/").status_code == 200
    response = client.post("/api/fx-rates/", {"currency": "EUR", "month": "2026-01", "rate": "1.1"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_users_are_throttled_per_user(settings, api, pm, other_pm):
    rest_framework_with(settings, DEFAULT_THROTTLE_RATES={"anon": None, "user": "3/minute", "login": None})
    cache.clear()
    client = api(pm)

    statuses = [client.get("/api/initiatives/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    throttled = client.get("/api/initiatives/")
    assert "Request was throttled" in throttled.json()["detail"]
    assert int(throttled["Retry-After"]) > 0
    assert api(other_pm).get("/api/initiatives/").status_code == 200  # someone else's budget is untouched


def test_token_requests_are_throttled_per_address(settings, pm):
    rest_framework_with(settings, DEFAULT_THROTTLE_RATES={"anon": None, "user": None, "login": "2/minute"})
    cache.clear()
    client = APIClient()
    guess = {"username": pm.username, "password": "guess"}

    statuses = [client.post("/api/auth/token/", guess, format="json").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_throttle_rates_come_from_the_environment():
    from portfolio.settings import base

    rates = base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(rates) == {"anon", "user", "login"}
    assert all(rate.endswith("/minute") for rate in rates.values())


def test_unknown_api_paths_are_json_404s_and_a_missing_slash_is_redirected(api, pm):
    client = api(pm)

    response = client.get("/api/budget-lines/0.5/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert client.post("/api/nothing/here/", {}, format="json").status_code == 404  # JSON, no CSRF page
    redirect = client.get("/api/initiatives?lane=fast_lane")
    assert (redirect.status_code, redirect["Location"]) == (308, "/api/initiatives/?lane=fast_lane")


def test_no_token_for_a_local_password_while_single_sign_on_is_the_only_way_in(pm, settings):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    settings.OIDC_ISSUER, settings.OIDC_ONLY = "https://id.example.com", True
    response = client.post("/api/auth/token/", {"username": pm.username, "password": "demo-pass-123"}, format="json")
    assert response.status_code == 403 and "single sign-on only" in response.json()["detail"]
    token = Token.objects.create(user=pm)  # one an administrator gave keeps working
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/initiatives/").status_code == 200
