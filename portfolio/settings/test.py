"""Test settings: fast hashing, in-memory email, tasks run inline unless a test asks for a worker."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Axes' backend needs the request, which `client.login()` does not pass; tests of the
# lockout itself turn it back on (tests/security/test_login_lockout.py).
AXES_ENABLED = False
