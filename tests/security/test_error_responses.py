"""What a failed request answers (portfolio/errors.py): 503 while the database is out of reach, 500 for a bug.

The fault test (tests/faults/test_postgres_restart.py) shows the same against a real
PostgreSQL that is stopped; these pin the rules without a server to stop.
"""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db

DATABASE_GONE = OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def signed_in(pm) -> Client:
    client = Client(raise_request_exception=False)  # as in production: the error handler answers
    client.force_login(pm)
    return client


def break_page(monkeypatch, error: Exception) -> None:
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("initiatives.selectors.status_counts", fail)


def break_api(monkeypatch, error: Exception) -> None:
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("initiatives.api.views.initiative_queryset", fail)


@pytest.mark.parametrize("error", [DATABASE_GONE, InterfaceError("connection already closed")])
def test_an_api_request_while_the_database_is_unreachable_answers_json_503_with_retry_after(
    signed_in, monkeypatch, error
):
    break_api(monkeypatch, error)

    response = signed_in.get("/api/initiatives/", HTTP_ACCEPT="application/json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    assert response.json() == {"detail": "The database is unavailable for a moment. Try again shortly."}


def test_a_page_while_the_database_is_unreachable_answers_the_503_page(signed_in, monkeypatch):
    break_page(monkeypatch, DATABASE_GONE)

    response = signed_in.get("/initiatives/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.content.decode()
    assert "We cannot reach our database right now" in body
    assert "OperationalError" not in body and "server closed" not in body


def test_a_bug_in_the_api_answers_json_500_without_details(signed_in, monkeypatch):
    break_api(monkeypatch, RuntimeError("secret internals"))

    response = signed_in.get("/api/initiatives/", HTTP_ACCEPT="application/json")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert not response.has_header("Retry-After")
    assert response.json() == {"detail": "Something went wrong on our side. The error has been logged."}


def test_a_bug_in_a_page_answers_the_500_page_without_details(signed_in, monkeypatch):
    break_page(monkeypatch, RuntimeError("secret internals"))

    response = signed_in.get("/initiatives/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "secret internals" not in body
