"""Settings shared by every environment, read from the environment (PRODUCT.md §4).

With nothing set, the project runs on embedded defaults: a SQLite file and a
filesystem Celery broker, so `make run` needs no server. `DATABASE_URL`,
`CELERY_BROKER_URL` and `REDIS_URL` switch to PostgreSQL and Redis.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# A development-only key: production.py refuses to start with it.
DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused by production.py
SECRET_KEY = env("SECRET_KEY", default=DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "portfolio.apps.PortfolioAdminConfig",  # django.contrib.admin, open to the `admin` role
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "bootstrap",  # django-bootstrap-static: Bootstrap 5 CSS/JS served by the app
    "initiatives",
    "budgets",
    "split",
    "dashboard",
    "reports",
    "scenarios",
    "outcomes",
    "demo",
    "axes",  # django-axes: login lockout after repeated failures (see Security below)
]

MIDDLEWARE = [
    # First: every later middleware, view and log line sees the request id (portfolio/middleware.py).
    "portfolio.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Anonymous users see only the login page (PRODUCT.md §1).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A signed-in user with no role sees "ask your administrator", not an empty app (portfolio/no_role.py).
    "portfolio.no_role.NoRoleMiddleware",
    # A NUL byte in the path or a query parameter: 404 / 400 before any view queries with it.
    "portfolio.nul_guard.NulGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a locked-out login into the lockout page (templates/registration/locked_out.html).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portfolio.urls"
WSGI_APPLICATION = "portfolio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout lets
    # writers queue instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Our queries are short and many: PostgreSQL's JIT compiler spent more time compiling
    # them (20-25 ms each on the dashboard's counts) than it saved. A dead server is
    # reported within seconds instead of hanging a request.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Fail-open: while Redis is away the cache reads as empty, so no page or API read fails with it.
    CACHES = {
        "default": {
            "BACKEND": "portfolio.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Security -------------------------------------------------------------
# Brute-force protection (django-axes): after 5 failed sign-ins for one username from one
# IP address, that pair is locked out for 15 minutes and the login page says so
# (registration/locked_out.html, HTTP 429). Axes' backend goes first and only refuses
# locked-out attempts; ModelBackend authenticates. The API's token endpoint uses the
# same backends, so the same lockout applies there (and it is throttled, REST_FRAMEWORK).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "portfolio.admin_site.AdminRoleBackend",  # the `admin` role holds every permission in the admin
    "initiatives.sso.PortfolioOIDCBackend",  # OpenID Connect sign-in; does nothing while OIDC_ISSUER is unset
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The lockout ends 15 minutes after it began, as the page says, not after the last retry.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"


# Single sign-on with OpenID Connect (OIDC_*) and the password reset of local accounts (PASSWORD_RESET_*):
# portfolio/settings/sso.py.
from .sso import *  # noqa: E402, F403
from .sso import OIDC_ISSUER, oidc_origin  # noqa: E402

# Content Security Policy (Django's own, ContentSecurityPolicyMiddleware), in development
# too so a violation shows up before production: everything from this site only, no inline
# script or style. Templates pass data with `json_script` (type application/json, not run)
# and set computed widths from static JS (static/js/ui.js); `data:` images are the favicon
# and Bootstrap's SVG icons.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if OIDC_ISSUER:
    # Logging out (a form) ends at the provider's end-session page: the browser must allow that redirect.
    SECURE_CSP["form-action"].append(oidc_origin(OIDC_ISSUER))

# --- I18N -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # Front-end packages installed by `npm ci` (package.json): portfolio/staticfiles.py.
    "portfolio.staticfiles.NpmPackageFinder",
]
NPM_MODULES_DIR = BASE_DIR / "node_modules"
# Served path → file inside node_modules: only what the pages load (and the licences that go with it).
NPM_STATIC_FILES = {
    "vendor/echarts/echarts.min.js": "echarts/dist/echarts.min.js",
    "vendor/echarts/LICENSE": "echarts/LICENSE",
    "vendor/echarts/NOTICE": "echarts/NOTICE",
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email ----------------------------------------------------------------


# Django's former EMAIL_* settings → the MAILERS option of the SMTP backend, and how to read each
# from the environment. EMAIL_URL (django-environ) yields the same names.
EMAIL_VARIABLES = {
    "EMAIL_HOST": ("host", str),
    "EMAIL_PORT": ("port", int),
    "EMAIL_HOST_USER": ("username", str),
    "EMAIL_HOST_PASSWORD": ("password", str),
    "EMAIL_USE_TLS": ("use_tls", bool),
    "EMAIL_USE_SSL": ("use_ssl", bool),
    "EMAIL_TIMEOUT": ("timeout", float),
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _mailers(backend: str, email: dict) -> dict:
    """Django 6.1's MAILERS: `backend`, with SMTP options from the EMAIL_* values set in `email`."""
    options = {}
    if backend == SMTP_BACKEND:
        options = {
            option: email[name] for name, (option, _) in EMAIL_VARIABLES.items() if email.get(name) not in (None, "")
        }
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


def mailers_from_url(url: str) -> dict:
    """EMAIL_URL (smtp://user:pass@host:587, consolemail://, …) as MAILERS."""
    email = environ.Env.email_url_config(url)
    return _mailers(email["EMAIL_BACKEND"], email)


def mailers_from_environment(default_url: str) -> dict:
    """MAILERS from EMAIL_URL; else from EMAIL_BACKEND / EMAIL_HOST / EMAIL_PORT / …; else `default_url`."""
    if env.str("EMAIL_URL", default=""):
        return mailers_from_url(env.str("EMAIL_URL"))
    given = [name for name in EMAIL_VARIABLES if env.str(name, default="")]
    if not given and not env.str("EMAIL_BACKEND", default=""):
        return mailers_from_url(default_url)
    email = {name: env.get_value(name, cast=EMAIL_VARIABLES[name][1]) for name in given}
    return _mailers(env.str("EMAIL_BACKEND", default=SMTP_BACKEND), email)


# Console by default: notifications appear in the terminal of `make run`.
MAILERS = mailers_from_environment("consolemail://")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Right-Speed Portfolio <portfolio@localhost>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# --- Product settings (PRODUCT.md §2–§3) ----------------------------------
REPORTING_CURRENCY = env("REPORTING_CURRENCY", default="USD")
FISCAL_YEAR_START_MONTH = env.int("FISCAL_YEAR_START_MONTH", default=1)
SPLIT_RECOMPUTE_HOUR = env.int("SPLIT_RECOMPUTE_HOUR", default=2)
OVERSPEND_ALERT_PCT = env.int("OVERSPEND_ALERT_PCT", default=10)
# A fast-lane initiative is a digital island when marketing funds at least this share of it (percent)
# and it builds on no core-stack platform (the dashboard's islands card, issue 18).
DIGITAL_ISLAND_SHARE_PCT = env.int("DIGITAL_ISLAND_SHARE_PCT", default=80)
EXPORT_ASYNC_ROWS = env.int("EXPORT_ASYNC_ROWS", default=100_000)
# Refused at start-up, not on the first page that needs them.
if not re.fullmatch(r"[A-Z]{3}", REPORTING_CURRENCY):
    raise ImproperlyConfigured(f"REPORTING_CURRENCY must be an ISO 4217 code like USD, not {REPORTING_CURRENCY!r}.")
if not 1 <= FISCAL_YEAR_START_MONTH <= 12:
    raise ImproperlyConfigured(
        f"FISCAL_YEAR_START_MONTH must be 1–12 (the month a fiscal year starts), not {FISCAL_YEAR_START_MONTH}."
    )
if not 0 <= SPLIT_RECOMPUTE_HOUR <= 23:
    raise ImproperlyConfigured(
        f"SPLIT_RECOMPUTE_HOUR must be 0–23 (hour of the night in TIME_ZONE), not {SPLIT_RECOMPUTE_HOUR}."
    )
if not 0 <= DIGITAL_ISLAND_SHARE_PCT <= 100:
    raise ImproperlyConfigured(
        f"DIGITAL_ISLAND_SHARE_PCT must be 0–100 (marketing's share of an island), not {DIGITAL_ISLAND_SHARE_PCT}."
    )
IMPORT_MAX_BYTES = 20 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Celery ---------------------------------------------------------------
CELERY_DATA_DIR = BASE_DIR / ".celery"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's filesystem transport: a folder acts as the queue, no server needed.
    for sub in ("queue", "processed", "control"):
        (CELERY_DATA_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
    # The filesystem transport has no fanout exchange for remote control.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    # Bounded socket timeouts: publishing to a hung Redis fails in seconds ("queue unavailable"), never hangs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 2}
CELERY_RESULT_BACKEND = None  # runs record their own state in the database
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = False
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(CELERY_DATA_DIR / "celerybeat-schedule")
# Nightly jobs, as crontabs in TIME_ZONE (CELERY_TIMEZONE, enable_utc off). Across
# daylight-saving changes each runs exactly once a night (tests/split/test_tasks_schedule.py):
# an hour skipped by spring-forward runs at the first minute after the gap (02:00 →
# 03:00 local); an hour repeated by fall-back runs at its first occurrence only.
# Every entry expires, so a beat that was down does not fire a backlog when it returns.
CELERY_BEAT_SCHEDULE = {
    "split-recompute-nightly": {
        "task": "split.tasks.split_recompute_task",
        "schedule": crontab(hour=SPLIT_RECOMPUTE_HOUR, minute=0),
        "options": {"expires": 6 * 3600},
    },
    # An hour after the recompute, so the alerts read tonight's split.
    "overspend-alerts-nightly": {
        "task": "split.tasks.overspend_alerts_task",
        "schedule": crontab(hour=(SPLIT_RECOMPUTE_HOUR + 1) % 24, minute=0),
        "options": {"expires": 6 * 3600},
    },
    # Not nightly: every hour (from 00:05 on the 1st), an initiative's marketing_share_pct becomes the
    # share of the co-funding agreement in force this month once an agreement's effective month has come
    # (initiatives.agreements.agreements_sync_current_share: one query when nothing changes; a missed or
    # failed run is done by the next). The split reads the agreements themselves.
    "agreements-share-sync-hourly": {
        "task": "initiatives.tasks.agreements_share_sync_task",
        "schedule": crontab(minute=5),
        "options": {"expires": 50 * 60},
    },
    # Background exports are kept seven days (reports/tasks.py).
    "export-files-purge-nightly": {
        "task": "reports.tasks.export_files_purge_task",
        "schedule": crontab(hour=(SPLIT_RECOMPUTE_HOUR + 2) % 24, minute=30),
        "options": {"expires": 6 * 3600},
    },
    # Not nightly: exports whose worker died are marked failed, so they can be retried
    # (reports.services.export_jobs_recover); a missed check is dropped, the next one does it.
    "exports-recover": {
        "task": "reports.tasks.export_jobs_recover_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Not nightly: notifications not sent yet (mail server or broker down) are queued again
    # (initiatives/notifications.py); a run that waited longer than the interval is dropped.
    "notifications-resend": {
        "task": "initiatives.tasks.notifications_resend_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Every minute: a recompute whose worker died is marked interrupted and retried once
    # (split.services.split_runs_recover); a missed tick is dropped, the next one does it.
    "split-runs-recover-every-minute": {
        "task": "split.tasks.split_runs_recover_task",
        "schedule": crontab(),
        "options": {"expires": 50},
    },
}

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous client gets 401 with `WWW-Authenticate: Token`, not a bare 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Numbers read exactly (Decimal, never float): money and percentages keep every digit sent.
    "DEFAULT_PARSER_CLASSES": ["portfolio.api.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "portfolio.api.FilterBackend",  # django-filter's, with safe 400 messages
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "portfolio.api.PageNumberPagination",
    "PAGE_SIZE": 50,
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_SCHEMA_CLASS": "portfolio.api_schema.PortfolioAutoSchema",
    "EXCEPTION_HANDLER": "portfolio.api.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["portfolio.api.AnonThrottle", "portfolio.api.UserThrottle"],
    # Per anonymous IP, per user, and per IP on /api/auth/token/; e.g. API_THROTTLE_USER=5000/hour.
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/minute"),
        "user": env("API_THROTTLE_USER", default="1200/minute"),
        "login": env("API_THROTTLE_LOGIN", default="10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Right-Speed Portfolio API",
    "DESCRIPTION": (
        "Initiatives, budgets, actuals and the marketing/IT spend split. Authenticate with a token from "
        "`POST /api/auth/token/` (`Authorization: Token <key>`) or a browser session. Money is a decimal "
        'string (`"1234.50"`); errors are JSON with field messages.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every page, the schema and docs need a login (PRODUCT.md §1).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LaneEnum": "initiatives.choices.Lane",
        "StatusEnum": "initiatives.choices.Status",
        "HealthEnum": "initiatives.choices.Health",
        "SideEnum": "initiatives.choices.Side",  # = budgets.choices.Payer (paid_by)
        "CategoryEnum": "budgets.choices.Category",
        "YesNoEnum": "initiatives.lane_assessment.YES_NO",
        "RunStatusEnum": "split.choices.RunStatus",
        "SettlementStatusEnum": "split.models.SettlementStatus",
        "ProposalStatusEnum": "initiatives.choices.ProposalStatus",  # a scenario's proposals (/api/scenarios/)
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging --------------------------------------------------------------
# Every line carries the request id (portfolio/middleware.py, X-Request-ID). LOG_FORMAT
# picks the formatter: `plain` for people (the default here), `json` for log shippers
# (one object per line; production's default). REQUEST_LOG_LEVEL=INFO writes one access
# line per request (production's default; runserver prints its own in development).
LOG_FORMATS = ("plain", "json")


def logging_config(*, log_format: str, request_log_level: str) -> dict:
    """settings.LOGGING: one console handler with the request id filter and the chosen formatter."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {log_format!r}).")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "portfolio.logging.RequestIdFilter"},
            "static_requests_out": {"()": "portfolio.logging.StaticRequestsFilter"},
        },
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
            "json": {"()": "portfolio.logging.JsonFormatter"},
            # runserver's request lines, as Django formats them by default.
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]},
            "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
        },
        "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "portfolio.request": {"level": request_log_level},
            # The development server (make run) logs every request; not the static files served fine.
            "django.server": {
                "handlers": ["django.server"],
                "filters": ["static_requests_out"],
                "level": "INFO",
                "propagate": False,
            },
        },
    }


LOGGING = logging_config(
    log_format=env("LOG_FORMAT", default="plain"), request_log_level=env("REQUEST_LOG_LEVEL", default="WARNING")
)
# Celery's worker and beat log through LOGGING too (the same format), instead of replacing its handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Operations -----------------------------------------------------------
# /healthz warns (never fails) when the last successful split recompute is older than this.
HEALTHZ_RECOMPUTE_MAX_AGE_HOURS = env.int("HEALTHZ_RECOMPUTE_MAX_AGE_HOURS", default=26)
