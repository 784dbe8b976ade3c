"""Password reset for local accounts (issue 21 point 3, portfolio/password_reset.py).

End to end with the in-memory mailer of the test settings: the request, the e-mail and its link, the new
password, signing in with it; the link works once and expires; an unknown address looks the same and
sends nothing; the limits per IP and per address; and everything gone (404, no link) while OIDC_ONLY.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client, override_settings

from portfolio import password_reset
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-2026"
LINK = re.compile(r"https?://\S+/accounts/password-reset/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/")
RESET_URLS = [
    "/accounts/password-reset/",
    "/accounts/password-reset/sent/",
    "/accounts/password-reset/MQ/abc-123/",
    "/accounts/password-reset/done/",
]


@pytest.fixture(autouse=True)
def _own_counters(monkeypatch):
    """The counters live in the cache, which may be a Redis shared by other tests: keep this test's apart."""
    monkeypatch.setattr(password_reset, "KEY_PREFIX", f"password-reset-test-{uuid.uuid4().hex}")


@pytest.fixture
def person(db):
    return UserFactory(username="dana", email="dana@example.com", first_name="Dana", last_name="Ng")


def ask(client: Client, email: str):
    return client.post("/accounts/password-reset/", {"email": email})


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def set_password(client: Client, link: str, password: str = NEW_PASSWORD):
    """Open the link (Django moves the token into the session and redirects) and choose `password`."""
    opened = client.get(path_of(link), follow=True)
    assert opened.context["validlink"] is True
    return client.post(opened.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def sign_in(password: str) -> bool:
    client = Client()
    response = client.post("/accounts/login/", {"username": "dana", "password": password})
    return response.status_code == 302 and response.url == "/"


@override_settings(SITE_URL="https://portfolio.example.com/")
def test_the_link_in_the_email_sets_a_new_password_to_sign_in_with(client, person):
    response = ask(client, "Dana@Example.com")
    assert response.status_code == 302 and response.url == "/accounts/password-reset/sent/"
    page = client.get(response.url)
    assert "Check your inbox" in page.text

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana@example.com"]
    assert message.subject == "Reset your Right-Speed Portfolio password"
    assert "Hello Dana Ng" in message.body and "(dana)" in message.body
    assert not isinstance(message, EmailMultiAlternatives)  # plain text, like the notifications
    link = link_in(message)
    assert link.startswith("https://portfolio.example.com/accounts/password-reset/")  # SITE_URL, not the Host

    done = set_password(client, link)
    assert done.status_code == 302 and done.url == "/accounts/password-reset/done/"
    assert "Password changed" in client.get(done.url).text
    assert sign_in(NEW_PASSWORD)
    assert not sign_in(PASSWORD)  # the old one is gone
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)


def test_the_link_works_once(client, person):
    ask(client, "dana@example.com")
    link = link_in(mail.outbox[0])
    set_password(client, link)

    again = Client().get(path_of(link), follow=True)
    assert again.status_code == 200
    assert again.context["validlink"] is False
    assert "This link is not valid" in again.text
    # and posting to it changes nothing
    other = "another-pass-2026x"
    posted = Client().post(path_of(link), {"new_password1": other, "new_password2": other})
    assert posted.status_code == 200 and "This link is not valid" in posted.text
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)


@override_settings(PASSWORD_RESET_TIMEOUT=60)
def test_the_link_expires(client, person, monkeypatch):
    ask(client, "dana@example.com")
    link = link_in(mail.outbox[0])
    assert "for 1 minutes" in mail.outbox[0].body
    sent_at = default_token_generator._now()
    monkeypatch.setattr(default_token_generator, "_now", lambda: sent_at + dt.timedelta(seconds=59))
    assert Client().get(path_of(link), follow=True).context["validlink"] is True  # still within the minute
    monkeypatch.setattr(default_token_generator, "_now", lambda: sent_at + dt.timedelta(seconds=61))
    late = client.get(path_of(link), follow=True)
    assert late.context["validlink"] is False
    assert "This link is not valid" in late.text
    person.refresh_from_db()
    assert not person.check_password(NEW_PASSWORD)


@override_settings(PASSWORD_RESET_TIMEOUT=60)
def test_a_token_made_before_the_timeout_is_refused(client, person):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    generator = default_token_generator
    old = generator._make_token_with_timestamp(person, generator._num_seconds(generator._now()) - 61, generator.secret)
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    assert client.get(f"/accounts/password-reset/{uid}/{old}/", follow=True).context["validlink"] is False
    fresh = generator.make_token(person)
    assert client.get(f"/accounts/password-reset/{uid}/{fresh}/", follow=True).context["validlink"] is True


def test_an_unknown_address_shows_the_same_page_and_sends_nothing(client, person):
    known = ask(client, "dana@example.com")
    mail.outbox.clear()
    unknown = ask(client, "nobody@example.com")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert mail.outbox == []


def test_an_inactive_account_or_one_without_a_password_gets_nothing(client, person):
    UserFactory(username="gone", email="gone@example.com", is_active=False)
    sso = UserFactory(username="sso", email="sso@example.com")
    sso.set_unusable_password()
    sso.save()
    assert ask(client, "gone@example.com").url == "/accounts/password-reset/sent/"
    assert ask(client, "sso@example.com").url == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_an_invalid_address_is_shown_on_the_form(client):
    response = ask(client, "not an address")
    assert response.status_code == 200
    assert "is-invalid" in response.text and "Enter a valid email address" in response.text


@override_settings(PASSWORD_RESET_RATE_PER_ADDRESS="2/hour", PASSWORD_RESET_RATE_PER_IP=None)
def test_requests_per_address_are_limited(client, person, caplog):
    with caplog.at_level(logging.WARNING, logger="portfolio.password_reset"):
        answers = [ask(Client(REMOTE_ADDR=f"10.0.0.{n}"), "DANA@example.com") for n in range(3)]
    assert {(a.status_code, a.url) for a in answers} == {(302, "/accounts/password-reset/sent/")}
    assert len(mail.outbox) == 2  # the third was over the limit: not sent
    assert "password reset refused: over the limit per address" in caplog.text
    assert "dana@example.com" not in caplog.text.lower()


@override_settings(PASSWORD_RESET_RATE_PER_IP="2/hour", PASSWORD_RESET_RATE_PER_ADDRESS=None)
def test_requests_per_ip_are_limited(client, person, caplog):
    for name in ("ana", "ben"):
        UserFactory(username=name, email=f"{name}@example.com")
    with caplog.at_level(logging.WARNING, logger="portfolio.password_reset"):
        answers = [ask(client, f"{name}@example.com") for name in ("ana", "ben", "dana")]
    assert {a.url for a in answers} == {"/accounts/password-reset/sent/"}
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "ben@example.com"]
    assert "over the limit per ip (ip 127.0.0.1)" in caplog.text
    # another IP is not held back
    ask(Client(REMOTE_ADDR="10.9.9.9"), "dana@example.com")
    assert mail.outbox[-1].to == ["dana@example.com"]


def test_rates_are_read_and_counted():
    assert password_reset.parse_rate("3/hour") == (3, 3600)
    assert password_reset.parse_rate("10/minute") == (10, 60)
    assert password_reset.parse_rate("") is None
    hits = [password_reset.rate_limit_hit("t", "x", "2/day") for _ in range(3)]
    assert hits == [False, False, True]


def test_a_mail_server_error_shows_the_same_page(client, person, monkeypatch, caplog):
    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with caplog.at_level(logging.ERROR, logger="portfolio.password_reset"):
        response = ask(client, "dana@example.com")
    assert response.url == "/accounts/password-reset/sent/"
    assert "password reset e-mail to user" in caplog.text


def test_the_login_page_links_to_the_reset(client):
    assert 'href="/accounts/password-reset/"' in client.get("/accounts/login/").text
    for url in RESET_URLS:
        assert client.get(url).status_code in (200, 302), url


@override_settings(OIDC_ONLY=True, OIDC_ISSUER="https://id.example.com")
def test_hidden_when_oidc_only(client, person):
    assert "password-reset" not in client.get("/accounts/login/").text
    for url in RESET_URLS:
        assert client.get(url).status_code == 404, url
    assert ask(client, "dana@example.com").status_code == 404
    assert mail.outbox == []


@override_settings(OIDC_ONLY=False)
def test_shown_when_oidc_only_is_false(client, person):
    assert "Forgot your password?" in client.get("/accounts/login/").text
    assert ask(client, "dana@example.com").status_code == 302
    assert len(mail.outbox) == 1


def test_the_access_log_never_holds_a_reset_link(client, person):
    ask(client, "dana@example.com")
    link = re.search(r"https?://\S+/accounts/password-reset/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    token = path.rstrip("/").split("/")[-1]
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    access = logging.getLogger("portfolio.request")
    level, disabled = access.level, access.disabled
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.disabled = False
    try:
        client.get(path, follow=True)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
        access.disabled = disabled
    assert any("/accounts/password-reset/<uidb64>/<token>/" in line for line in lines), lines
    assert not any(token in line for line in lines)
