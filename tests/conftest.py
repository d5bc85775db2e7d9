"""Fixtures shared by the whole suite."""

import django_rq
import pytest
from django.conf import settings

from marketo_sync.salesforce import client as client_module

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.workers",
    "tests.fixtures.users",
    "tests.fixtures.browser",
    "tests.fixtures.sync",
    "tests.fixtures.routes",
]


@pytest.fixture(autouse=True)
def clean_redis():
    """Every test starts with an empty test Redis database (never the demo's)."""
    assert settings.REDIS_URL.rstrip("/").rsplit("/", 1)[-1] != "0", "tests must not use Redis /0"
    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture(autouse=True)
def fresh_salesforce_token():
    """Every test logs in to its own sandbox org: no access token cached by an earlier test
    is used, and none is left for the next one."""
    client_module._token_cache.clear()
    yield
    client_module._token_cache.clear()
