"""PostgreSQL restarted under the app: requests fail cleanly during the outage and succeed after it.

The app runs as it does in production — gunicorn, DEBUG off, persistent database
connections (CONN_MAX_AGE) with CONN_HEALTH_CHECKS — against a PostgreSQL
cluster of the tests' own (`faults`, see conftest.py), which the tests stop,
start and restart. The machine's main cluster is never touched. The app server
is never restarted.
"""

from __future__ import annotations

import json
import os

import pytest

from .conftest import AppServer, Cluster, manage

pytestmark = pytest.mark.postgres

# A request during the outage must answer within this: an error page, not a hang.
OUTAGE_ANSWER_SECONDS = 5
OUTAGE_PAGE = "We cannot reach our database right now"  # templates/503.html
OUTAGE_JSON = {"detail": "The database is unavailable for a moment. Try again shortly."}  # portfolio/errors.py

# Run in the app's own process (`manage.py shell -c`): a finance user with a browser
# session and an API token, printed as "<session key> <token>".
CREDENTIALS = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token
from initiatives.models import Profile

user, _ = User.objects.get_or_create(username="faults.finance", defaults={"email": "faults@example.com"})
user.groups.add(Group.objects.get_or_create(name="finance")[0])
Profile.objects.get_or_create(user=user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key, Token.objects.get_or_create(user=user)[0].key)
"""


class Visitor:
    """A logged-in browser (session cookie) and an API client (token) of the app server."""

    def __init__(self, server: AppServer, session_key: str, token: str):
        self.server = server
        self.page_headers = {"Cookie": f"sessionid={session_key}"}
        self.api_headers = {"Authorization": f"Token {token}", "Accept": "application/json"}

    def page(self, **kwargs):
        return self.server.get("/initiatives/", headers=self.page_headers, **kwargs)

    def api(self, **kwargs):
        return self.server.get("/api/initiatives/", headers=self.api_headers, **kwargs)

    def assert_served(self, when: str) -> None:
        page, api = self.page(), self.api()
        assert page.status == 200, f"{when}: page {page.status}\n{self.server.log_tail()}"
        assert "Initiatives" in page.body
        assert api.status == 200 and api.is_json, f"{when}: API {api.status}\n{self.server.log_tail()}"


@pytest.fixture
def visitor(faults_cluster: Cluster, app_server) -> Visitor:
    faults_cluster.start()  # a previous test may have left it stopped if it failed midway
    output = manage("shell", "-v", "0", "-c", CREDENTIALS, database_url=faults_cluster.url())
    session_key, token = output.strip().splitlines()[-1].split()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.base",
        "DEBUG": "False",
        "DATABASE_URL": faults_cluster.url(),
        "CONN_MAX_AGE": "600",  # one connection for the whole test: the restart breaks it
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("REDIS_URL", None)  # this scenario is about PostgreSQL: a local-memory cache
    return Visitor(app_server(env), session_key, token)


def test_requests_fail_cleanly_while_postgresql_is_down_and_succeed_after_it(faults_cluster, visitor):
    visitor.assert_served("before the outage")

    faults_cluster.stop()
    try:
        page = visitor.page(timeout=OUTAGE_ANSWER_SECONDS)
        api = visitor.api(timeout=OUTAGE_ANSWER_SECONDS)
    finally:
        faults_cluster.start()

    for reply in (page, api):
        assert reply.status == 503, f"{reply.status}\n{visitor.server.log_tail()}"
        assert reply.headers["retry-after"] == "30"
        assert reply.seconds < OUTAGE_ANSWER_SECONDS
        assert "Traceback" not in reply.body and "OperationalError" not in reply.body
    assert OUTAGE_PAGE in page.body
    assert api.is_json and json.loads(api.body) == OUTAGE_JSON
    assert visitor.server.process.poll() is None  # the app server did not die

    visitor.assert_served("after the outage, same app server")


def test_a_restart_between_requests_goes_unnoticed_by_the_next_request(faults_cluster, visitor):
    """The persistent connection dies with the restart; CONN_HEALTH_CHECKS replaces it before the request uses it."""
    visitor.assert_served("before the restart")

    faults_cluster.restart()

    visitor.assert_served("first requests after the restart")
