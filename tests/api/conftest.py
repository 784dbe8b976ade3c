"""Fixtures of the API tests: token-authenticated clients per role, and throttles out of the way."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

NO_LIMITS = {"anon": None, "user": None, "login": None}


def rest_framework_with(settings, **changes) -> None:
    """Change REST_FRAMEWORK keys for one test (DRF reloads its settings on the change)."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, **changes}


@pytest.fixture(autouse=True)
def _no_throttling(settings):
    """Throttling has tests of its own (test_auth.py); elsewhere it would only make tests order-dependent."""
    rest_framework_with(settings, DEFAULT_THROTTLE_RATES=NO_LIMITS)
    cache.clear()


def token_client(user) -> APIClient:
    """A client that sends `Authorization: Token <key>` for `user` (as an integration would)."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    """`api(user)` → a token-authenticated client; `api(None)` → an anonymous one."""
    return lambda user: token_client(user) if user is not None else APIClient()
