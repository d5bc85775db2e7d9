"""Failed admin logins are throttled per user name and address, and per address (django-axes)."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-1"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user_named_admin(db):
    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


def attempt(client: Client, username: str, password: str):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail(client: Client, username: str, times: int) -> int:
    """Wrong passwords; the login form answers each, the one reaching a limit is the lockout."""
    statuses = [attempt(client, username, "wrong").status_code for _ in range(times)]
    assert set(statuses[:-1]) <= {200}
    return statuses[-1]


def test_the_eleventh_attempt_is_refused_even_with_the_right_password(
    client, admin_user_named_admin
):
    assert fail(client, "admin", 10) == 429
    response = attempt(client, "admin", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(response)
    assert "_auth_user_id" not in client.session
    body = response.content.decode()
    assert 'id="site-name"' in body  # the admin's own layout
    assert "Too many failed logins" in body


def test_nine_failures_do_not_lock(client, admin_user_named_admin):
    assert fail(client, "admin", 9) == 200
    assert logged_in(attempt(client, "admin", PASSWORD))


def test_the_lockout_ends_after_the_configured_minutes(client, admin_user_named_admin):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "admin", 10)
        assert attempt(client, "admin", PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert attempt(client, "admin", PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert logged_in(attempt(client, "admin", PASSWORD))


def test_axes_reset_username_releases_the_lockout(client, admin_user_named_admin):
    fail(client, "admin", 10)
    assert attempt(client, "admin", PASSWORD).status_code == 429
    call_command("axes_reset_username", "admin")
    assert logged_in(attempt(client, "admin", PASSWORD))


def test_the_user_name_is_locked_only_from_the_failing_address(admin_user_named_admin):
    fail(Client(REMOTE_ADDR="203.0.113.7"), "admin", 10)
    assert logged_in(attempt(Client(REMOTE_ADDR="198.51.100.2"), "admin", PASSWORD))


def test_fifty_failures_over_many_names_lock_the_address(admin_user_named_admin):
    spraying = Client(REMOTE_ADDR="203.0.113.7")
    for number in range(10):
        fail(spraying, f"guess-{number}", 5)
    assert attempt(spraying, "admin", PASSWORD).status_code == 429
    assert logged_in(attempt(Client(REMOTE_ADDR="198.51.100.2"), "admin", PASSWORD))


def test_a_forwarded_header_is_ignored_unless_behind_a_proxy(client, admin_user_named_admin):
    for number in range(10):
        spoofed = Client(HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
        fail(spoofed, "admin", 1)
    assert attempt(client, "admin", PASSWORD).status_code == 429


def test_behind_a_proxy_the_address_is_the_last_one_the_header_names(
    settings, admin_user_named_admin
):
    settings.BEHIND_PROXY = True
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    # The client forges the first entry; the proxy appends the address it saw.
    fail(Client(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"), "admin", 10)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    assert attempt(
        Client(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"), "admin", PASSWORD
    ).status_code == 429
    assert logged_in(attempt(Client(HTTP_X_FORWARDED_FOR="203.0.113.8"), "admin", PASSWORD))


def test_a_malformed_forwarded_address_falls_back_to_the_socket(settings, client, db):
    settings.BEHIND_PROXY = True
    fail(Client(HTTP_X_FORWARDED_FOR="not-an-address"), "admin", 1)
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


def test_lockouts_are_listed_in_the_admin(client, admin_client):
    fail(client, "locked-name", 10)
    response = admin_client.get("/admin/axes/accessattempt/")
    assert response.status_code == 200
    assert "locked-name" in response.content.decode()
    assert AccessAttempt.objects.get().failures_since_start == 10
