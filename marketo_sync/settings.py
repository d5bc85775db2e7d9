"""Settings for marketo-sync, read from the environment (12-factor).

Every variable has a default that works on the project's machines (PostgreSQL and Redis on
loopback, the bundled Salesforce sandbox); `.env.example` lists them all. `DEBUG=0` is the deploy
configuration and must pass `manage.py check --deploy` without warnings.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Parse a boolean variable strictly, so a typo fails loudly instead of meaning False."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Development tools (`manage.py demo`, `manage.py sfdc_sandbox`, Salesforce settings read from the
# sandbox's state file): on with DEBUG, or with DEV_TOOLS=1 for the deploy configuration run
# against the sandbox (benchmarks, deploy-form tests). Off in a deploy.
DEV_TOOLS = env_bool("DEV_TOOLS", False) or DEBUG

SECRET_KEY = os.environ.get("SECRET_KEY", "")
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
    "accounts",
    "activities",
    "marketo_sync.sync",
]
if DEV_TOOLS:
    INSTALLED_APPS.append("marketo_sync.devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/marketo_sync"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
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
STATIC_ROOT = BASE_DIR / "staticfiles"

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
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

ADMINS = [
    tuple(entry.split(":", 1)) for entry in env_list("ADMINS", "") if ":" in entry
]
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "marketo-sync@localhost")

# Salesforce. With DEV_TOOLS on, empty values fall back, at call time, to the running sandbox's
# state file, so the demo and the tests need no configuration; a real org needs only these.
SALESFORCE_SANDBOX_STATE = Path(
    os.environ.get("SALESFORCE_SANDBOX_STATE", str(BASE_DIR / "var" / "sandbox" / "state.json"))
)
SALESFORCE_LOGIN_URL = os.environ.get("SALESFORCE_LOGIN_URL", "")
SALESFORCE_CLIENT_ID = os.environ.get("SALESFORCE_CLIENT_ID", "")
SALESFORCE_CLIENT_SECRET = os.environ.get("SALESFORCE_CLIENT_SECRET", "")
SALESFORCE_USERNAME = os.environ.get("SALESFORCE_USERNAME", "")
SALESFORCE_PASSWORD = os.environ.get("SALESFORCE_PASSWORD", "")
SALESFORCE_CA_BUNDLE = os.environ.get("SALESFORCE_CA_BUNDLE", "")
SALESFORCE_PROXY = os.environ.get("SALESFORCE_PROXY", "")
SALESFORCE_API_VERSION = os.environ.get("SALESFORCE_API_VERSION", "59.0")
SALESFORCE_CONNECT_TIMEOUT = float(os.environ.get("SALESFORCE_CONNECT_TIMEOUT", "10"))
SALESFORCE_READ_TIMEOUT = float(os.environ.get("SALESFORCE_READ_TIMEOUT", "120"))
SALESFORCE_API_RESERVE = env_int("SALESFORCE_API_RESERVE", 1000)
SALESFORCE_RETRY_ATTEMPTS = env_int("SALESFORCE_RETRY_ATTEMPTS", 5)
SALESFORCE_RETRY_BASE_SECONDS = float(os.environ.get("SALESFORCE_RETRY_BASE_SECONDS", "0.5"))

SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 300)
ACTIVITY_CONTACT_LIMIT = env_int("ACTIVITY_CONTACT_LIMIT", 5000)
# A local account edit reaching more contacts than this is saved only after a confirmation page.
SHARED_EDIT_CONFIRM_CONTACTS = env_int("SHARED_EDIT_CONFIRM_CONTACTS", 1000)
# Incremental queries re-read this much before the watermark, so a record committed late with
# an earlier SystemModstamp is not missed (re-reads of unchanged records change nothing).
SYNC_OVERLAP_SECONDS = env_int("SYNC_OVERLAP_SECONDS", 300)
# The cycle lock expires this long after its worker stops renewing it (e.g. was killed).
SYNC_LOCK_TTL_SECONDS = env_int("SYNC_LOCK_TTL_SECONDS", 120)
# A full sync of an object with more records than this reads it through Bulk API 2.0.
SYNC_BULK_THRESHOLD = env_int("SYNC_BULK_THRESHOLD", 50000)
# Rows per Bulk API result download: one download is held in memory while it is applied.
SYNC_BULK_MAX_RECORDS = env_int("SYNC_BULK_MAX_RECORDS", 10000)
SYNC_BULK_POLL_SECONDS = float(os.environ.get("SYNC_BULK_POLL_SECONDS", "2"))
# Full reads of objects with at least SYNC_PARTITION_MIN_RECORDS records are split into this
# many id ranges, worked by every RQ worker of the `sync` queue (1: one worker reads it whole).
SYNC_PARTITIONS = env_int("SYNC_PARTITIONS", 1)
SYNC_PARTITION_MIN_RECORDS = env_int("SYNC_PARTITION_MIN_RECORDS", 20000)
# Drift repair, started by the minute tick between cycles once this long has passed.
SYNC_RECONCILE_INTERVAL_SECONDS = env_int("SYNC_RECONCILE_INTERVAL_SECONDS", 86400)
SYNC_FORMULA_REFRESH_INTERVAL_SECONDS = env_int("SYNC_FORMULA_REFRESH_INTERVAL_SECONDS", 3600)


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
