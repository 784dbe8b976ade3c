"""Configuration from the environment (PRODUCT.md §4) and the production guard rails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "-production-secret-key-for-tests-only-0123456789"


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_the_default_secret_key():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="portfolio.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug_on():
    result = run_manage(
        "check", DJANGO_SETTINGS_MODULE="portfolio.settings.production", SECRET_KEY=GOOD_KEY, DEBUG="True"
    )
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_production_passes_check_deploy_without_warnings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="portfolio.settings.production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="portfolio.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_embedded_defaults_need_no_server(settings):
    # The test run may point at PostgreSQL/Redis; the defaults are what a bare environment gets.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portfolio.settings.base'; django.setup();"
                "from django.conf import settings as s;"
                "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CACHES['default']['BACKEND'],"
                " s.DATABASES['default']['CONN_HEALTH_CHECKS'], s.REPORTING_CURRENCY, s.FISCAL_YEAR_START_MONTH,"
                " s.SPLIT_RECOMPUTE_HOUR)"
            ),
        ],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "USD",
        "1",
        "2",
    ]


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"DATABASE_URL": "postgres://u:p@db:5432/pf"}, "django.db.backends.postgresql"),
        ({"REDIS_URL": "redis://cache:6379/1"}, "portfolio.cache.FailOpenRedisCache"),
        ({"FISCAL_YEAR_START_MONTH": "7", "REPORTING_CURRENCY": "EUR"}, "7 EUR"),
    ],
)
def test_environment_switches_services(env, expected):
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portfolio.settings.base'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.FISCAL_YEAR_START_MONTH,"
        " s.REPORTING_CURRENCY)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_production_hardening_settings():
    code = (
        "import django, re; django.setup(); from django.conf import settings as s;"
        "from django.utils.csp import build_policy;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.X_FRAME_OPTIONS,"
        " any(re.search(p, 'healthz') for p in s.SECURE_REDIRECT_EXEMPT),"
        " s.AUTHENTICATION_BACKENDS[0], s.AXES_ENABLED, s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()),"
        " s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS']['min_length'], len(s.AUTH_PASSWORD_VALIDATORS));"
        "print(build_policy(s.SECURE_CSP))"
    )
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "portfolio.settings.production",
        "SECRET_KEY": GOOD_KEY,
        "ALLOWED_HOSTS": "portfolio.example.com",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    flags, policy = result.stdout.splitlines()
    assert flags.split() == [
        "True",  # session cookie only over HTTPS
        "True",  # CSRF cookie only over HTTPS
        "True",  # session cookie out of reach of scripts
        "True",  # HTTP is redirected to HTTPS…
        "31536000",  # …and browsers remember it for a year (HSTS)
        "True",
        "DENY",
        "True",  # …except /healthz, which load balancers probe over HTTP
        "axes.backends.AxesStandaloneBackend",
        "True",
        "5",
        "900",
        "12",
        "4",
    ]
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert policy.endswith("upgrade-insecure-requests")


# --- email: EMAIL_URL, or the usual EMAIL_* variables -----------------------------------

EMAIL_NAMES = ("EMAIL_URL", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
EMAIL_NAMES += ("EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT")


@pytest.fixture
def email_env(monkeypatch):
    for name in EMAIL_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_mail_goes_to_the_console_when_nothing_is_set(email_env):
    from portfolio.settings.base import mailers_from_environment

    assert mailers_from_environment("consolemail://")["default"]["BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


def test_email_url_configures_smtp(email_env):
    from portfolio.settings.base import mailers_from_environment

    email_env.setenv("EMAIL_URL", "smtp+tls://mailer:s3cret@mail.example.com:587")
    default = mailers_from_environment("consolemail://")["default"]
    assert default["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert default["OPTIONS"] == {
        "host": "mail.example.com",
        "port": 587,
        "username": "mailer",
        "password": "s3cret",
        "use_tls": True,
    }


def test_the_usual_email_variables_configure_smtp_when_email_url_is_unset(email_env):
    from portfolio.settings.base import mailers_from_environment

    email_env.setenv("EMAIL_HOST", "relay.example.com")
    email_env.setenv("EMAIL_PORT", "2525")
    email_env.setenv("EMAIL_HOST_USER", "portfolio")
    email_env.setenv("EMAIL_HOST_PASSWORD", "pw")
    email_env.setenv("EMAIL_USE_TLS", "true")
    email_env.setenv("EMAIL_TIMEOUT", "7.5")
    default = mailers_from_environment("consolemail://")["default"]
    assert default == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "relay.example.com",
            "port": 2525,
            "username": "portfolio",
            "password": "pw",
            "use_tls": True,
            "timeout": 7.5,
        },
    }


def test_email_backend_alone_picks_another_backend(email_env):
    from portfolio.settings.base import mailers_from_environment

    email_env.setenv("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    assert mailers_from_environment("smtp://localhost:25")["default"] == {
        "BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "OPTIONS": {},
    }


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("FISCAL_YEAR_START_MONTH", "13", "FISCAL_YEAR_START_MONTH must be 1–12"),
        ("FISCAL_YEAR_START_MONTH", "0", "FISCAL_YEAR_START_MONTH must be 1–12"),
        ("SPLIT_RECOMPUTE_HOUR", "24", "SPLIT_RECOMPUTE_HOUR must be 0–23"),
        ("REPORTING_CURRENCY", "dollars", "REPORTING_CURRENCY must be an ISO 4217 code"),
    ],
)
def test_a_setting_out_of_range_is_refused_at_start_up(name, value, message):
    result = run_manage("check", DJANGO_SETTINGS_MODULE="portfolio.settings.base", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr
