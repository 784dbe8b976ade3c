"""OpenID Connect sign-in (PRODUCT.md §4, Configuration): discovery, settings and the claim mapping.

mozilla-django-oidc does the relying party's work (authorization code with PKCE, token, ID token
check against the provider's keys, userinfo). It reads the provider's endpoints from settings;
here they come from the issuer's discovery document (`OIDC_ISSUER` + /.well-known/openid-configuration),
fetched on first use and kept for the life of the process. Only the issuer, client id and secret
are configured.

The backend that creates or updates the user is `initiatives.sso` (it owns the profile); what the
claims mean — username, name, e-mail, roles, side — is decided here, by `account_from_claims`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views import View
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from portfolio.roles import Role, Side

logger = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TIMEOUT_SECONDS = 10

# mozilla-django-oidc's setting → the key of the discovery document that holds it.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
# mozilla-django-oidc's setting → ours (PRODUCT.md §4 names).
RENAMED = {"OIDC_RP_CLIENT_ID": "OIDC_CLIENT_ID", "OIDC_RP_CLIENT_SECRET": "OIDC_CLIENT_SECRET"}

_documents: dict[str, dict] = {}
_lock = threading.Lock()


def oidc_enabled() -> bool:
    """True when an issuer is configured: the backend works and the login page shows the button."""
    return bool(getattr(settings, "OIDC_ISSUER", ""))


def local_passwords_enabled() -> bool:
    """Local passwords (the login form, the password reset, API tokens for a password) are on unless single
    sign-on is configured and OIDC_ONLY says it is the only way in. The one place that says so."""
    return not (oidc_enabled() and getattr(settings, "OIDC_ONLY", False))


def discovery(issuer: str | None = None) -> dict:
    """The issuer's discovery document, fetched once per process and issuer, then cached.

    Raises ImproperlyConfigured when the issuer does not answer with a usable document.
    """
    issuer = (issuer or settings.OIDC_ISSUER).rstrip("/")
    with _lock:
        if issuer in _documents:
            return _documents[issuer]
    try:
        response = requests.get(issuer + DISCOVERY_PATH, timeout=DISCOVERY_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ImproperlyConfigured(f"OIDC discovery failed for {issuer}: {exc}") from exc
    missing = [key for key in DISCOVERED.values() if not document.get(key)]
    if missing:
        raise ImproperlyConfigured(f"OIDC discovery document of {issuer} lacks {', '.join(missing)}.")
    with _lock:
        _documents[issuer] = document
    return document


def discovery_clear() -> None:
    """Forget every cached discovery document (tests; a provider that moved its endpoints)."""
    with _lock:
        _documents.clear()


def oidc_setting(attr: str, *default):
    """mozilla-django-oidc's `get_settings`: endpoints from discovery, client id/secret from our names."""
    if attr in DISCOVERED:
        return discovery()[DISCOVERED[attr]] if oidc_enabled() else (default[0] if default else None)
    if attr in RENAMED:
        return getattr(settings, RENAMED[attr])
    return import_from_settings(attr, *default)


# --- The claim mapping ------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """What a sign-in's claims say about the person: applied to the user at every sign-in."""

    username: str
    first_name: str
    last_name: str
    email: str
    roles: frozenset[str]
    side: str  # "" when the claim is missing or not a side we know


def _claim_values(value) -> list[str]:
    """A claim holding one value or several: a list, or a string separated by spaces or commas."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list | tuple | set | frozenset):
        return [str(item) for item in value]
    return [str(value)]


def account_from_claims(claims: dict, roles_claim: str = "roles", side_claim: str = "side") -> Account:
    """The account a sign-in's claims describe.

    Username: `preferred_username`, else `sub`. Roles: the values of `roles_claim` that name one of
    our roles (pm, executive, finance, admin; case ignored); anything else is ignored. Side: the
    value of `side_claim` when it is marketing or it, else "".
    """
    username = str(claims.get("preferred_username") or claims.get("sub") or "").strip()
    first_name = str(claims.get("given_name") or "")
    last_name = str(claims.get("family_name") or "")
    if not (first_name or last_name) and claims.get("name"):
        first_name, _, last_name = str(claims["name"]).partition(" ")
    known_roles = set(Role.values)
    roles = frozenset(v.lower() for v in _claim_values(claims.get(roles_claim)) if v.lower() in known_roles)
    sides = [v.lower() for v in _claim_values(claims.get(side_claim))]
    side = sides[0] if len(sides) == 1 and sides[0] in Side.values else ""
    return Account(
        username=username[:150],
        first_name=first_name[:150],
        last_name=last_name[:150],
        email=str(claims.get("email") or "")[:254],
        roles=roles,
        side=side,
    )


# --- Views ------------------------------------------------------------------


class SignInView(OIDCAuthenticationRequestView):
    """The "Sign in with …" button: off to the provider (404 while no issuer is configured)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, **kwargs):
        View.__init__(self, **kwargs)  # the endpoints are read in get(), where a failure can be shown

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ImproperlyConfigured:
            logger.exception("OIDC sign-in unavailable")
            messages.error(
                request,
                f"Signing in with {settings.OIDC_PROVIDER_NAME} is unavailable right now: try again in a few minutes.",
            )
            return redirect("login")
        self.OIDC_RP_CLIENT_ID = oidc_setting("OIDC_RP_CLIENT_ID")
        return super().get(request)


def provider_logout_url(request) -> str | None:
    """The provider's end-session URL for a user who signed in through it (None when not)."""
    id_token = request.session.get("oidc_id_token")
    if not (oidc_enabled() and id_token):
        return None
    end_session = discovery().get("end_session_endpoint")
    if not end_session:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
        }
    )
    return f"{end_session}?{query}"


class LogoutView(auth_views.LogoutView):
    """Django's logout; a user who signed in through the provider is then sent to its end-session page."""

    def post(self, request, *args, **kwargs):
        try:
            provider_url = provider_logout_url(request)
        except Exception:  # the provider out of reach (discovery): sign out here all the same
            logger.warning("oidc: could not read the provider's end-session address; signing out locally")
            provider_url = None
        response = super().post(request, *args, **kwargs)
        if provider_url and response.status_code == 302:
            return HttpResponseRedirect(provider_url)
        return response


class LoginView(auth_views.LoginView):
    """Django's login page, with the "Sign in with …" button; OIDC_ONLY=true refuses local passwords."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if not local_passwords_enabled():
            return HttpResponseForbidden("Sign in with your company account: local passwords are turned off.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        enabled = oidc_enabled()
        return super().get_context_data(
            oidc_enabled=enabled,
            oidc_only=not local_passwords_enabled(),
            oidc_provider_name=settings.OIDC_PROVIDER_NAME,
            **kwargs,
        )


# Mounted at /oidc/ (portfolio/urls.py); the names are mozilla-django-oidc's. Open to anonymous users:
# they are the way in. Logout is ours (LogoutView above, at `logout`).
urlpatterns = [
    path("authenticate/", login_not_required(SignInView.as_view()), name="oidc_authentication_init"),
    path(
        "callback/",
        login_not_required(OIDCAuthenticationCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
]
