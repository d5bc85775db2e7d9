"""Every URL the project serves, requested as each kind of user: nothing leaks without a login.

The URL list is enumerated from the resolver, so a view added later without protection fails
here without anyone having to remember to add a test for it.
"""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [pytest.mark.django_db, pytest.mark.security]

# Reachable without a staff login, on purpose.
PUBLIC = {"admin/login/", "admin/logout/", "healthz/"}

PLACEHOLDERS = {
    "object_id": "1",
    "pk": "1",
    "id": "1",
    "content_type_id": "1",
    "queue_index": "0",
    "connection_index": "0",
    "scheduler_index": "0",
    "job_id": "job",
    "result_id": "result",
    "key": "worker",
    "scheduler_name": "scheduler",
    "cron_job_name": "cron",
    "token": "not-the-token",
    "app_label": "auth",
    "url": "does-not-exist/",
}


def walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def concrete(route: str) -> str:
    """A requestable path for a route, with every parameter filled in."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)\??", lambda m: PLACEHOLDERS[m.group(1)], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: PLACEHOLDERS[m.group(1)], path)
    path = path.replace("^", "").replace("$", "").replace("/?", "/").replace("\\", "")
    return "/" + path


def all_paths() -> list[str]:
    return sorted({concrete(route) for route in walk(get_resolver().url_patterns)})


PROTECTED = [path for path in all_paths() if path.lstrip("/") not in PUBLIC]


def redirected_to_login(response) -> bool:
    return response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def non_staff_client(client):
    user = get_user_model().objects.create_user("visitor", password="visitor-password-1")
    client.force_login(user)
    return client


def test_the_enumeration_finds_the_product_urls():
    assert "/admin/" in PROTECTED
    assert "/healthz/" not in PROTECTED
    assert len(PROTECTED) > 20


@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_users_get_nothing(client, path):
    for response in (client.get(path), client.post(path)):
        assert response.status_code in DENIED, (path, response.status_code)
        if response.status_code == 302:
            assert redirected_to_login(response), (path, response["Location"])


@pytest.mark.parametrize("path", PROTECTED)
def test_logged_in_non_staff_users_get_nothing(non_staff_client, path):
    for response in (non_staff_client.get(path), non_staff_client.post(path)):
        assert response.status_code in DENIED, (path, response.status_code)
        if response.status_code == 302:
            assert redirected_to_login(response), (path, response["Location"])


ADMINISTRATION = [
    path for path in PROTECTED if path.startswith(("/admin/auth/", "/admin/django_rq/"))
]
DENIED = (302, 401, 403, 405)


@pytest.mark.parametrize("path", ADMINISTRATION)
def test_marketers_never_reach_user_group_or_queue_administration(marketer_client, path):
    """Followed to the end, the marketer is refused, or sent back to the admin index."""
    for response in (
        marketer_client.get(path, follow=True),
        marketer_client.post(path, follow=True),
    ):
        landed_on_index = response.status_code == 200 and response.request["PATH_INFO"] == "/admin/"
        assert landed_on_index or response.status_code in (401, 403, 404, 405), (
            path,
            response.status_code,
            response.request["PATH_INFO"],
        )


def test_superusers_keep_the_queue_dashboard(admin_client):
    assert admin_client.get("/admin/django_rq/dashboard/").status_code == 200
