"""Settings come from the environment; the deploy configuration passes `check --deploy`."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.settings import ROOT, read_setting, run_python

TEST_ONLY_VARIABLES = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}


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
        ({"DEBUG": "1", "LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of plain, json"),
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


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SALESFORCE_READ_TIMEOUT", "abc", "SALESFORCE_READ_TIMEOUT must be a number, got 'abc'"),
        ("SYNC_INTERVAL_SECONDS", "abc", "SYNC_INTERVAL_SECONDS must be an integer, got 'abc'"),
        ("SALESFORCE_LOGIN_URL", "not-a-url", "SALESFORCE_LOGIN_URL must be a URL"),
        ("SALESFORCE_LOGIN_URL", "file:///etc/passwd", "SALESFORCE_LOGIN_URL must be a URL"),
        ("SALESFORCE_LOGIN_URL", "http://login.example.com", "the scheme 'http'"),
        ("SYNC_PARTITIONS", "0", "SYNC_PARTITIONS must be an integer >= 1, got 0"),
        ("ADMIN_COUNT_ESTIMATE_THRESHOLD", "many", "ADMIN_COUNT_ESTIMATE_THRESHOLD must be"),
    ],
)
def test_manage_py_names_a_bad_setting_in_one_line(variable, value, message):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"Configuration error: {variable} ")
    assert message in result.stderr


def test_manage_py_does_not_print_credentials_of_a_login_url():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "SALESFORCE_LOGIN_URL": "https://integration:hunter2secret@login.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SALESFORCE_LOGIN_URL must not carry credentials" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout


def example_variables() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


def test_env_example_lists_exactly_the_variables_read():
    """Both ways: nothing read goes undocumented, nothing documented goes unread.

    Read in the deploy configuration (some settings are read only with DEBUG off), with the
    test environment plugin loaded, which reads TEST_REDIS_URL.
    """
    result = run_python(
        "import runpy, tests.environment, django; django.setup();"
        "runpy.run_path('gunicorn.conf.py');"
        "from marketo_sync.env import variables_read; print(','.join(sorted(variables_read)))",
        DEBUG="0",
        SECRET_KEY="k" * 60,
    )
    assert result.returncode == 0, result.stderr
    read = set(result.stdout.strip().split(","))
    assert read - example_variables() == set(), "read but missing from .env.example"
    assert example_variables() - read == set(), "in .env.example but never read"


def test_readme_documents_every_variable():
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in example_variables() if f"`{name}`" not in readme}
    assert missing == set()


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
