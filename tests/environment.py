"""Test environment, loaded as a pytest plugin before Django reads its settings.

Tests talk to the real PostgreSQL and Redis, but to a Redis database of their own (default /15,
flushed per test) so they never touch the queues of a running demo.
"""

import os

from marketo_sync.env import env_url

os.environ.setdefault("DEBUG", "1")
os.environ["REDIS_URL"] = env_url(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/15", schemes=("redis", "rediss", "unix")
)
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SALESFORCE_RETRY_BASE_SECONDS", "0.01")
os.environ.setdefault("SALESFORCE_API_RESERVE", "0")
