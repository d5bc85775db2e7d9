"""Settings for marketo-sync, read from the environment (12-factor).

Every variable has a default that works on the project's machines (PostgreSQL and Redis on
loopback, the bundled Salesforce sandbox); `.env.example` lists them all. `DEBUG=0` is the deploy
configuration and must pass `manage.py check --deploy` without warnings.
"""

from datetime import timedelta
from pathlib import Path

import csp.constants
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from marketo_sync.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Development tools (`manage.py demo`, `manage.py sfdc_sandbox`, Salesforce settings read from the
# sandbox's state file): on with DEBUG, or with DEV_TOOLS=1 for the deploy configuration run
# against the sandbox (benchmarks, deploy-form tests). Off in a deploy.
DEV_TOOLS = env_bool("DEV_TOOLS", False) or DEBUG

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string in production, "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 50  # noqa: S105 - only with DEBUG=1

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # operator classes in the search indexes
    "django_rq",
    "health_check",
    "axes",
    "csp",
    "accounts",
    "activities",
    "marketo_sync.sync",
]
if DEV_TOOLS:
    INSTALLED_APPS.append("marketo_sync.devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketo_sync.admin_input.AdminInputMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketo_sync.urls"

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

WSGI_APPLICATION = "marketo_sync.wsgi.application"
ASGI_APPLICATION = "marketo_sync.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_url(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/marketo_sync",
            schemes=("postgres", "postgresql"),
            allow_credentials=True,
        ),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
TEST_DATABASE_NAME = env_str("TEST_DATABASE_NAME", "", pattern=r"\w+", expected="a database name")
if TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url(
    "REDIS_URL",
    "redis://127.0.0.1:6379/0",
    schemes=("redis", "rediss", "unix"),
    allow_credentials=True,
)
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
    "sync": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
}
RQ_SHOW_ADMIN_LINK = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "admin:login"

# Security: secure by default; DEBUG=1 (demo and tests over plain http on loopback) relaxes
# only what cannot work without TLS.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Hardening: proxy, session lifetime, login throttling (django-axes).
# Only a proxy that sets X-Forwarded-Proto itself may be trusted to say the request was https.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind the proxy, the client address is the last entry of this header (the one the proxy
# wrote); without a proxy, the socket's address. No other header is ever read.
CLIENT_ADDRESS_HEADER = env_str(
    "CLIENT_ADDRESS_HEADER", "X-Forwarded-For", pattern=r"[A-Za-z0-9-]+", expected="a header name"
)
ADMIN_SESSION_SECONDS = env_int("ADMIN_SESSION_SECONDS", 28800, minimum=60)
SESSION_COOKIE_AGE = ADMIN_SESSION_SECONDS
LOGIN_FAILURES_PER_USER = env_int("LOGIN_FAILURES_PER_USER", 10, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "marketo_sync.login_throttle.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_FAILURES_PER_USER
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "marketo_sync.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "marketo_sync.login_throttle.lockout_response"
AXES_VERBOSE = False  # no start-up banner in every command's output; failures are still logged
# Content-Security-Policy (django-csp): every page loads scripts, styles and images only from
# this site, with nothing inline; django-rq's dashboard is the one documented exception
# (marketo_sync/rq_dashboard.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.SELF],
        "script-src": [csp.constants.SELF],
        "style-src": [csp.constants.SELF],
        "img-src": [csp.constants.SELF],
        "object-src": [csp.constants.NONE],
        "base-uri": [csp.constants.SELF],
        "form-action": [csp.constants.SELF],
        "frame-ancestors": [csp.constants.NONE],
    }
}

ADMINS = [
    tuple(entry.split(":", 1))
    for entry in env_list("ADMINS", "", pattern=r"[^:]+:[^@\s]+@\S+", expected="Name:email")
]
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend",
    pattern=r"\w+(\.\w+)+",
    expected="a dotted Python path",
)
SERVER_EMAIL = env_str(
    "SERVER_EMAIL", "marketo-sync@localhost", pattern=r"\S+@\S+", expected="an e-mail address"
)

# Salesforce. With DEV_TOOLS on, empty values fall back, at call time, to the running sandbox's
# state file, so the demo and the tests need no configuration; a real org needs only these.
SALESFORCE_SANDBOX_STATE = Path(
    env_str("SALESFORCE_SANDBOX_STATE", str(BASE_DIR / "var" / "sandbox" / "state.json"))
)
# https only and without user:password@: the client secret and password go to this URL.
SALESFORCE_LOGIN_URL = env_url("SALESFORCE_LOGIN_URL", "", schemes=("https",))
SALESFORCE_CLIENT_ID = env_str("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = env_str("SALESFORCE_CLIENT_SECRET", "")
SALESFORCE_USERNAME = env_str("SALESFORCE_USERNAME", "")
SALESFORCE_PASSWORD = env_str("SALESFORCE_PASSWORD", "")
SALESFORCE_CA_BUNDLE = env_str("SALESFORCE_CA_BUNDLE", "")
SALESFORCE_PROXY = env_url(
    "SALESFORCE_PROXY", "", schemes=("http", "https"), allow_credentials=True
)
SALESFORCE_API_VERSION = env_str(
    "SALESFORCE_API_VERSION", "59.0", pattern=r"\d+\.0", expected="a version such as 59.0"
)
SALESFORCE_CONNECT_TIMEOUT = env_float("SALESFORCE_CONNECT_TIMEOUT", 10.0, minimum=0.001)
SALESFORCE_READ_TIMEOUT = env_float("SALESFORCE_READ_TIMEOUT", 120.0, minimum=0.001)
SALESFORCE_API_RESERVE = env_int("SALESFORCE_API_RESERVE", 1000, minimum=0)
SALESFORCE_RETRY_ATTEMPTS = env_int("SALESFORCE_RETRY_ATTEMPTS", 5, minimum=1)
SALESFORCE_RETRY_BASE_SECONDS = env_float("SALESFORCE_RETRY_BASE_SECONDS", 0.5, minimum=0)

SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 300, minimum=0)
# While the Change Data Capture listener is healthy, polling only backs it up: a longer wait.
SYNC_INTERVAL_SECONDS_STREAMING = env_int("SYNC_INTERVAL_SECONDS_STREAMING", 900, minimum=0)
ACTIVITY_CONTACT_LIMIT = env_int("ACTIVITY_CONTACT_LIMIT", 5000, minimum=0)
# Activities are kept at least this many whole months, then their monthly partition is dropped
# by the daily maintenance; 0 keeps them forever.
ACTIVITY_RETENTION_MONTHS = env_int("ACTIVITY_RETENTION_MONTHS", 0, minimum=0)
# Below this many rows an admin list counts exactly; an unfiltered list of a bigger table
# shows PostgreSQL's row estimate instead of counting it on every page.
ADMIN_COUNT_ESTIMATE_THRESHOLD = env_int("ADMIN_COUNT_ESTIMATE_THRESHOLD", 10000, minimum=1)
# A local account edit reaching more contacts than this is saved only after a confirmation page.
SHARED_EDIT_CONFIRM_CONTACTS = env_int("SHARED_EDIT_CONFIRM_CONTACTS", 1000, minimum=0)
# Incremental queries re-read this much before the watermark, so a record committed late with
# an earlier SystemModstamp is not missed (re-reads of unchanged records change nothing).
SYNC_OVERLAP_SECONDS = env_int("SYNC_OVERLAP_SECONDS", 300, minimum=0)
# The cycle lock expires this long after its worker stops renewing it (e.g. was killed).
SYNC_LOCK_TTL_SECONDS = env_int("SYNC_LOCK_TTL_SECONDS", 120, minimum=1)
# A full sync of an object with more records than this reads it through Bulk API 2.0.
SYNC_BULK_THRESHOLD = env_int("SYNC_BULK_THRESHOLD", 50000, minimum=0)
# Rows per Bulk API result download: one download is held in memory while it is applied.
SYNC_BULK_MAX_RECORDS = env_int("SYNC_BULK_MAX_RECORDS", 10000, minimum=1)
SYNC_BULK_POLL_SECONDS = env_float("SYNC_BULK_POLL_SECONDS", 2.0, minimum=0)
# Full reads of objects with at least SYNC_PARTITION_MIN_RECORDS records are split into this
# many id ranges, worked by every RQ worker of the `sync` queue (1: one worker reads it whole).
SYNC_PARTITIONS = env_int("SYNC_PARTITIONS", 1, minimum=1)
SYNC_PARTITION_MIN_RECORDS = env_int("SYNC_PARTITION_MIN_RECORDS", 20000, minimum=0)
# Drift repair, started by the minute tick between cycles once this long has passed.
SYNC_RECONCILE_INTERVAL_SECONDS = env_int("SYNC_RECONCILE_INTERVAL_SECONDS", 86400, minimum=0)
SYNC_FORMULA_REFRESH_INTERVAL_SECONDS = env_int(
    "SYNC_FORMULA_REFRESH_INTERVAL_SECONDS", 3600, minimum=0
)

# Running in production (README "Running in production"): static files served by WhiteNoise
# from `collectstatic`'s output under content-hashed, pre-compressed names (the deploy
# configuration only: with DEBUG=1 they are served from the apps, nothing to collect);
# `/metrics` answers only with this bearer token (unset: the endpoint does not exist).
if not DEBUG:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# `json`: every log line one JSON object (timestamp, level, logger, message, run_id, object),
# for log platforms that index fields; `plain` for people reading a terminal.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))


LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "timestamp", "levelname": "level", "name": "logger"},
            "defaults": {"run_id": None, "object": None},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
