"""Every URL the project serves, as each kind of user: nothing is reached without its permission.

The URL list is enumerated from the resolver, so a view added later without protection fails
here without anyone having to remember to add a test for it. Anonymous and non-staff users are
sent to the login page everywhere. What a marketer gets on the admin's standard model pages
follows from the Marketers group's permissions; any other view must say so in `CUSTOM`, or its
test fails. A superuser never meets a server error. Ids in the URLs are those of real records.
"""

from collections.abc import Callable
from dataclasses import dataclass

import django_rq
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Model
from django.utils import timezone
from rq import Queue
from rq.job import JobStatus

from accounts.models import Account, Contact, Opportunity, PersonConversion, SalesforceUser
from activities.models import Activity
from marketo_sync.sync.models import SyncError, SyncRun
from tests.factories import AccountFactory, LeadFactory, SalesforceUserFactory
from tests.helpers.routes import ROUTES, TOKEN_API, concrete

pytestmark = [pytest.mark.django_db, pytest.mark.security]


@dataclass(frozen=True)
class Expect:
    """A marketer's status codes; `post=None` where a POST is not a separate question."""

    get: int
    post: int | None = None


# Views other than a ModelAdmin's standard pages: what the marketer gets, written down.
CUSTOM = {
    "admin/": Expect(200),
    "admin/password_change/": Expect(200),
    "admin/password_change/done/": Expect(200),
    "admin/autocomplete/": Expect(403),
    "admin/jsi18n/": Expect(200),
    "admin/r/<path:content_type_id>/<path:object_id>/": Expect(404),
    "admin/auth/user/<id>/password/": Expect(403, 403),
    "admin/^accounts/$": Expect(200),
    "admin/^activities/$": Expect(200),
    "admin/^sync/$": Expect(200),
    "admin/^auth/$": Expect(404),  # no permission in the app: Django's app index says 404
    "admin/^django_rq/$": Expect(404),
    "admin/accounts/account/add/": Expect(302, 302),  # redirected with "Convert Person is..."
    "admin/accounts/account/local-edits/": Expect(200),
    "admin/accounts/contact/<int:pk>/convert/": Expect(403, 403),
    "admin/accounts/contact/conversions/<int:pk>/retry/": Expect(405, 403),
    "admin/sync/syncrun/status/": Expect(200),
    "admin/sync/syncrun/status/sync-now/": Expect(405, 403),
    "admin/sync/syncrun/status/pause/": Expect(405, 403),
    "admin/(?P<url>.*)$": Expect(404),
}
# Every page of the queue dashboard needs `django_rq.admin`, which marketers do not have.
PREFIXES = {"admin/django_rq/dashboard/": Expect(403, 403)}
STANDARD_PAGES = (
    "", "add/", "<path:object_id>/history/", "<path:object_id>/delete/",
    "<path:object_id>/change/", "<path:object_id>/",
)


def model_page(route: str) -> tuple[type[Model], str] | None:
    """(model, page) when the route is one of a registered ModelAdmin's standard pages."""
    for model in admin.site._registry:
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        if route.startswith(prefix) and route[len(prefix):] in STANDARD_PAGES:
            return model, route[len(prefix):]
    return None


def marketer_expectation(route: str, marketer) -> Expect:
    if route in CUSTOM:
        return CUSTOM[route]
    for prefix, expect in PREFIXES.items():
        if route.startswith(prefix):
            return expect
    found = model_page(route)
    assert found, f"{route} is a new view: add what a marketer gets there to CUSTOM"
    model, page = found
    opts = model._meta

    def may(action: str) -> bool:
        return marketer.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")

    def gate(allowed: bool) -> Expect:
        return Expect(200) if allowed else Expect(403, 403)

    return {
        "": gate(may("view")),
        "add/": gate(may("add")),
        "<path:object_id>/history/": gate(may("view")),
        "<path:object_id>/delete/": gate(may("delete")),
        "<path:object_id>/change/": Expect(
            200 if may("view") else 403, None if may("change") else 403
        ),
        "<path:object_id>/": Expect(302, 302),  # the admin's redirect to .../change/
    }[page]


@pytest.fixture
def records(marketer) -> dict[type[Model], Model]:
    """One real row per model a URL can name."""
    owner = SalesforceUserFactory.create()
    account = AccountFactory.create()
    lead = LeadFactory.create(owner=owner)
    run = SyncRun.objects.create(mode="incremental", status="success", started_at=timezone.now())
    return {
        get_user_model(): get_user_model().objects.create_user("someone", password="pw-1-abc"),
        Group: Group.objects.get(name="Marketers"),
        SalesforceUser: owner,
        Account: account,
        Contact: lead,
        Opportunity: Opportunity.objects.create(
            sfdc_id="0069000000B98deAAB", name="Deal", stage="Prospecting", account=account
        ),
        Activity: Activity.objects.create(
            contact=lead, activity_type="change_data_value", attribute="Industry",
            source="sfdc_sync", created_at=timezone.now(),
        ),
        SyncRun: run,
        SyncError: SyncError.objects.create(
            object_name="Account", sfdc_id=account.sfdc_id, message="bad", run=run
        ),
        PersonConversion: PersonConversion.objects.create(
            person=lead, idempotency_key="security-test", status="failed"
        ),
    }


@pytest.fixture
def queue_values(clean_redis) -> dict[str, str]:
    """A failed job on the first queue and a registered worker, for the dashboard's detail pages.

    Failed, so that requeue (which only takes failed jobs) has something to act on.
    """
    queue = Queue("default", connection=clean_redis)  # plain RQ: enqueued now, not on commit
    job = queue.enqueue("marketo_sync.sync.jobs.tick")
    queue.remove(job)
    job.set_status(JobStatus.FAILED)
    queue.failed_job_registry.add(job, exc_string="failed for the test")
    worker = django_rq.get_worker("default", name="security-test-worker")
    worker.register_birth()
    return {"job_id": job.id, "key": worker.key}


@pytest.fixture
def path_for(records, queue_values) -> Callable[[str], str]:
    return lambda route: concrete(route, records, queue_values)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Several users per test, hundreds of tests: hashing cost is not what is tested here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def shut_out(route: str, response) -> bool:
    """Sent to the login page (the token API answers 401 instead)."""
    if route in TOKEN_API and response.status_code == 401:
        return True
    return response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.fixture
def non_staff_client(client):
    user = get_user_model().objects.create_user("visitor", password="visitor-password-1")
    client.force_login(user)
    return client


def test_the_enumeration_finds_the_product_urls():
    assert "admin/" in ROUTES
    assert "healthz/" not in ROUTES
    assert "admin/accounts/contact/<int:pk>/convert/" in ROUTES
    assert len(ROUTES) > 20
    assert set(CUSTOM) | TOKEN_API <= set(ROUTES)  # no stale expectation


def test_a_new_unlisted_view_fails_the_marketer_expectations(marketer):
    with pytest.raises(AssertionError, match="is a new view"):
        marketer_expectation("admin/accounts/account/export/", marketer)
    with pytest.raises(AssertionError, match="is a new view"):
        marketer_expectation("admin/reports/", marketer)


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_users_are_sent_to_the_login(client, path_for, route):
    path = path_for(route)
    for response in (client.get(path), client.post(path)):
        assert shut_out(route, response), (path, response.status_code)


@pytest.mark.parametrize("route", ROUTES)
def test_logged_in_non_staff_users_are_sent_to_the_login(non_staff_client, path_for, route):
    path = path_for(route)
    for response in (non_staff_client.get(path), non_staff_client.post(path)):
        assert shut_out(route, response), (path, response.status_code)


@pytest.mark.parametrize("route", ROUTES)
def test_marketers_get_exactly_what_their_permissions_allow(
    marketer_client, marketer, path_for, route
):
    expect = marketer_expectation(route, marketer)
    path = path_for(route)
    response = marketer_client.get(path)
    assert response.status_code == expect.get, (path, response.status_code)
    if expect.get == 302:
        assert "/admin/login/" not in response["Location"], path  # a page, not a re-login
    if expect.get == 302 and route.endswith("<path:object_id>/"):
        assert response["Location"].endswith(f"{path}change/")
    if expect.post is not None:
        response = marketer_client.post(path)
        assert response.status_code == expect.post, (path, "POST", response.status_code)


# django-rq's own pages that fail for a superuser; fixing them belongs in rq_dashboard.py.
# Enqueued on commit (django-rq's default), as in a real request, which is not atomic.
ENQUEUES = {"admin/sync/syncrun/status/sync-now/"}


def superuser_case(route: str):
    if route in ENQUEUES:
        return pytest.param(route, marks=pytest.mark.django_db(transaction=True))
    return route


@pytest.mark.parametrize("route", [superuser_case(route) for route in ROUTES])
def test_superusers_never_meet_a_server_error(admin_client, path_for, route):
    path = path_for(route)
    for response in (admin_client.get(path), admin_client.post(path)):
        assert response.status_code < 500, (path, response.status_code)


def test_superusers_keep_the_queue_dashboard(admin_client):
    assert admin_client.get("/admin/django_rq/dashboard/").status_code == 200
