"""Production: refuses a default secret key or DEBUG on; secure cookies and HSTS."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    DEFAULT_SECRET_KEY,
    SECRET_KEY,
    SECURE_CSP,
    env,
    logging_config,
    mailers_from_environment,
)

DEBUG = env.bool("DEBUG", default=False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG or set DEBUG=False).")
if not SECRET_KEY or SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set SECRET_KEY to a random value of at least 50 characters in production.")

# Real mail in production: SMTP on localhost unless EMAIL_URL or the EMAIL_* variables say otherwise.
MAILERS = mailers_from_environment("smtp://localhost:25")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP: a redirect would count as a failed health check.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The same Content Security Policy as everywhere (base.py), plus: any http:// URL left in a page is fetched over https.
SECURE_CSP = {**SECURE_CSP, "upgrade-insecure-requests": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# One JSON object per log line with the request id, and one access line per request.
LOGGING = logging_config(
    log_format=env("LOG_FORMAT", default="json"), request_log_level=env("REQUEST_LOG_LEVEL", default="INFO")
)
