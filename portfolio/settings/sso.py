"""Sign-in settings: single sign-on with OpenID Connect (mozilla-django-oidc; portfolio/oidc.py, initiatives/sso.py)
and the password reset of local accounts.

Off while OIDC_ISSUER is empty. The endpoints come from the issuer's discovery document; the
user, their roles and side are set from the claims at every sign-in (README, Configuration).
"""

from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def oidc_origin(issuer: str) -> str:
    """The scheme://host[:port] of the identity provider (for the Content-Security-Policy)."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


OIDC_ISSUER = env("OIDC_ISSUER", default="").rstrip("/")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET", default="")
OIDC_ROLES_CLAIM = env("OIDC_ROLES_CLAIM", default="roles")
OIDC_SIDE_CLAIM = env("OIDC_SIDE_CLAIM", default="side")
OIDC_ONLY = env.bool("OIDC_ONLY", default=False)  # true: no local passwords on the login page
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", default="your company")  # "Sign in with <name>"
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # for the provider's end-session on logout
OIDC_AUTHENTICATE_CLASS = "portfolio.oidc.SignInView"
OIDC_TIMEOUT = 10
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"  # a path: mozilla-django-oidc does not resolve names
if OIDC_ISSUER and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are needed too.")


# Password reset of local accounts (portfolio/password_reset.py; off while OIDC_ONLY): requests per client IP
# and per e-mail address, counted in the cache; over either limit nothing is sent and the page is the same.
PASSWORD_RESET_RATE_PER_IP = env("PASSWORD_RESET_RATE_PER_IP", default="10/hour")
PASSWORD_RESET_RATE_PER_ADDRESS = env("PASSWORD_RESET_RATE_PER_ADDRESS", default="3/hour")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)  # seconds a link works
