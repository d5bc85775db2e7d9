"""Fixtures shared by the whole suite."""

import django_rq
import pytest
from django.conf import settings

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.workers",
    "tests.fixtures.users",
    "tests.fixtures.browser",
]


@pytest.fixture(autouse=True)
def clean_redis():
    """Every test starts with an empty test Redis database (never the demo's)."""
    assert settings.REDIS_URL.rstrip("/").rsplit("/", 1)[-1] != "0", "tests must not use Redis /0"
    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield connection
    connection.flushdb()
