"""Settings come from the environment; the deploy configuration passes `check --deploy`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY_VARIABLES = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    overridden = {"DEBUG", "SECRET_KEY", "REDIS_URL", "DATABASE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in overridden}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "marketo_sync.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_setting(expression: str, **env: str) -> str:
    result = run_python(
        f"import django; django.setup(); from django.conf import settings; print({expression})",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_database_and_redis_come_from_the_environment():
    env = {
        "DEBUG": "1",
        "DATABASE_URL": "postgres://someone@db.example:6543/other",
        "REDIS_URL": "redis://cache.example:6380/3",
    }
    assert read_setting("settings.DATABASES['default']['NAME']", **env) == "other"
    assert read_setting("settings.DATABASES['default']['PORT']", **env) == "6543"
    assert read_setting("settings.RQ_QUEUES['sync']['URL']", **env) == env["REDIS_URL"]
    assert read_setting("sorted(settings.RQ_QUEUES)", **env) == "['default', 'sync']"


def test_defaults_point_at_the_local_services():
    assert read_setting("settings.DATABASES['default']['HOST']", DEBUG="1") == "127.0.0.1"
    assert read_setting("settings.REDIS_URL", DEBUG="1") == "redis://127.0.0.1:6379/0"
    assert read_setting("settings.ACTIVITY_CONTACT_LIMIT", DEBUG="1") == "5000"
    assert read_setting("settings.SYNC_INTERVAL_SECONDS", DEBUG="1") == "300"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0"}, "SECRET_KEY is not set"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        (
            {"DEBUG": "1", "SYNC_INTERVAL_SECONDS": "soon"},
            "SYNC_INTERVAL_SECONDS must be an integer",
        ),
        ({"DEBUG": "1", "LOG_FORMAT": "xml"}, "LOG_FORMAT must be plain or json"),
    ],
)
def test_bad_configuration_fails_at_start_with_a_clear_message(env, message):
    result = run_python("import django; django.setup()", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_configuration_passes_check_deploy_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in TEST_ONLY_VARIABLES},
            "DEBUG": "0",
            "SECRET_KEY": "k" * 20 + "-production-secret-that-is-long-and-random-enough-9f8e7d",
            "ALLOWED_HOSTS": "marketo-sync.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrations_are_complete():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_log_format_json_makes_every_line_one_json_object():
    result = run_python(
        "import django, logging; django.setup(); "
        "logging.getLogger('marketo_sync.sync.cycle').warning("
        "'sync success: 1 fetched', extra={'run_id': 7, 'object': 'Account'}); "
        "logging.getLogger('rq.worker').info('Successfully completed job')",
        DEBUG="1", LOG_FORMAT="json",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [line["message"] for line in lines] == [
        "sync success: 1 fetched", "Successfully completed job"
    ]
    first, second = lines
    assert first["level"] == "WARNING" and first["logger"] == "marketo_sync.sync.cycle"
    assert first["run_id"] == 7 and first["object"] == "Account" and first["timestamp"]
    assert second["run_id"] is None and second["object"] is None
