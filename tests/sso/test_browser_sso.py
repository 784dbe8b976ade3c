"""In a real browser, against the real provider: sign in with single sign-on end to end, then log out.

Our login page → "Sign in with Test IdP" → the provider's login form → its consent page → back here,
signed in with the role and side the claims give; then our logout, which ends the provider's session
too (RP-initiated logout). A person whose claims give no role lands on the "ask your administrator" page.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def _provider_sign_in(page, base_url: str, provider, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.click("text=Sign in with Test IdP")
    page.wait_for_url(f"{provider.issuer.rsplit('/o', 1)[0]}/accounts/login/**")
    page.fill("#id_username", username)
    page.fill("#id_password", provider.password)
    page.click("#provider-sign-in")
    page.wait_for_url("**/o/authorize/**")
    page.click("input[name=allow]")  # django-oauth-toolkit's consent page
    page.wait_for_load_state("load")


def test_sign_in_through_the_provider_and_log_out(browser, live_server, oidc_provider, transactional_db, settings):
    settings.AXES_ENABLED = True  # as in production: the lockout's backend runs before ours
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    _provider_sign_in(page, live_server.url, oidc_provider, "ada.cio")

    assert page.url == f"{live_server.url}/"
    assert "Welcome, Ada" in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sso-signed-in.png"))
    ada = User.objects.get(username="ada.cio")
    assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.com")
    assert list(ada.groups.values_list("name", flat=True)) == ["executive"]
    assert ada.profile.side == "it"
    assert not ada.has_usable_password()

    # Our logout, then the provider's end-session, back to our login page.
    page.click(".user-menu .dropdown-toggle")
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url  # signed out of the app
    page.click("text=Sign in with Test IdP")
    page.wait_for_load_state("load")
    assert page.locator("#provider-sign-in").count() == 1, (
        "the provider's session should have ended: it asks for the password again"
    )


def test_a_person_without_a_role_is_told_to_ask_their_administrator(
    browser, live_server, oidc_provider, transactional_db
):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    _provider_sign_in(page, live_server.url, oidc_provider, "noah.norole")

    assert page.url == f"{live_server.url}/no-role/"
    assert "has no role in Right‑Speed Portfolio yet" in page.content()
    page.goto(f"{live_server.url}/initiatives/")
    assert page.url == f"{live_server.url}/no-role/"
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone: no sideways scrolling
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    noah = User.objects.get(username="noah.norole")
    assert not noah.groups.exists() and noah.profile.side == "marketing"
