"""Against the real provider (tests/oidc_provider/), no mocked HTTP: discovery, and the login page's button."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portfolio import oidc

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_reads_the_endpoints_once_and_caches_them(oidc_provider, monkeypatch):
    document = oidc.discovery()
    assert document["issuer"] == oidc_provider.issuer
    assert oidc.oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT") == f"{oidc_provider.issuer}/authorize/"
    assert oidc.oidc_setting("OIDC_OP_TOKEN_ENDPOINT") == f"{oidc_provider.issuer}/token/"
    assert oidc.oidc_setting("OIDC_OP_USER_ENDPOINT") == f"{oidc_provider.issuer}/userinfo/"
    assert oidc.oidc_setting("OIDC_OP_JWKS_ENDPOINT") == f"{oidc_provider.issuer}/.well-known/jwks.json"

    def no_second_fetch(*args, **kwargs):
        raise AssertionError("discovery fetched the document again")

    monkeypatch.setattr(oidc.requests, "get", no_second_fetch)
    assert oidc.discovery() is document


def test_an_issuer_that_does_not_answer_is_a_configuration_error(settings):
    from tests.sso.conftest import _free_port

    settings.OIDC_ISSUER = f"http://127.0.0.1:{_free_port()}/nothing-here"
    oidc.discovery_clear()
    with pytest.raises(ImproperlyConfigured, match="OIDC discovery failed"):
        oidc.discovery()


def test_the_sign_in_button_sends_to_the_provider_with_pkce(oidc_provider, client):
    page = client.get("/accounts/login/")
    assert b"Sign in with Test IdP" in page.content
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{oidc_provider.issuer}/authorize/?")
    assert "code_challenge_method=S256" in location and "code_challenge=" in location
    assert "scope=openid+email+profile" in location
