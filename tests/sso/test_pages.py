"""The login page with and without single sign-on, OIDC_ONLY, the no-role page, and API tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sso_configured(settings):
    """An issuer in the settings; nothing here fetches its discovery document."""
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_CLIENT_ID, settings.OIDC_CLIENT_SECRET = "portfolio", "secret"
    settings.OIDC_PROVIDER_NAME = "Acme"
    return settings


def test_without_an_issuer_there_is_no_button_and_no_sso(client):
    page = client.get("/accounts/login/")
    assert b"Sign in with" not in page.content and b'id="id_password"' in page.content
    assert client.get("/oidc/authenticate/").status_code == 404


def test_with_an_issuer_the_button_shows_beside_local_passwords(client, sso_configured):
    page = client.get("/accounts/login/?next=/initiatives/")
    content = page.content.decode()
    assert "Sign in with Acme" in content and 'href="/oidc/authenticate/?next=/initiatives/"' in content
    assert 'id="id_password"' in content
    UserFactory(username="local.pm", role="pm")
    response = client.post("/accounts/login/", {"username": "local.pm", "password": PASSWORD})
    assert response.status_code == 302


def test_oidc_only_hides_and_refuses_local_passwords(client, sso_configured):
    sso_configured.OIDC_ONLY = True
    content = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme" in content and 'id="id_password"' not in content
    UserFactory(username="local.pm", role="pm")
    response = client.post("/accounts/login/", {"username": "local.pm", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_user_without_a_role_sees_the_no_role_page(client):
    user = User.objects.create_user("nobody", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/no-role/"
    page = client.get("/no-role/")
    assert page.status_code == 403
    assert "has no role in Right‑Speed Portfolio yet — ask your administrator" in page.content.decode()


def test_a_sso_user_without_a_role_is_sent_there_from_every_page(client):
    user = User.objects.create_user("nobody")
    client.force_login(user, backend="initiatives.sso.PortfolioOIDCBackend")
    for path in ("/", "/initiatives/", "/dashboard/"):
        assert client.get(path)["Location"] == "/no-role/", path
    assert client.get("/api/initiatives/").status_code == 200  # the API answers (nothing visible), no redirect


def test_a_user_with_a_role_is_sent_home_from_the_no_role_page(client):
    client.force_login(UserFactory(role="pm"))
    assert client.get("/no-role/")["Location"] == "/"
    assert client.get("/").status_code == 200


def test_api_tokens_keep_working_with_sso_on(client, sso_configured):
    sso_configured.OIDC_ONLY = True
    token = Token.objects.create(user=UserFactory(role="pm"))
    response = client.get("/api/initiatives/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert client.get("/api/initiatives/").status_code == 401


def test_a_provider_that_does_not_answer_sends_back_to_the_login_page_with_a_message(client, sso_configured):
    from portfolio.oidc import discovery_clear
    from tests.sso.conftest import _free_port

    sso_configured.OIDC_ISSUER = f"http://127.0.0.1:{_free_port()}"
    discovery_clear()
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "Signing in with Acme is unavailable right now" in response.content.decode()


def test_a_group_that_is_not_a_role_is_no_role(client):
    user = User.objects.create_user("nobody", password=PASSWORD)
    user.groups.create(name="newsletter")
    client.force_login(user)
    assert client.get("/")["Location"] == "/no-role/"


def test_oidc_only_without_an_issuer_leaves_local_passwords_on(client, settings):
    settings.OIDC_ISSUER, settings.OIDC_ONLY = "", True
    assert 'name="password"' in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/password-reset/").status_code == 200


def test_logging_out_works_while_the_provider_is_out_of_reach(client, sso_configured, monkeypatch):
    from portfolio import oidc

    def unreachable(request):
        raise oidc.ImproperlyConfigured("the provider does not answer")

    monkeypatch.setattr(oidc, "provider_logout_url", unreachable)
    client.force_login(UserFactory(role="pm"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and "_auth_user_id" not in client.session
