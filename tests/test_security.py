"""Every URL the project serves, as each kind of user: nothing is reached without its permission.

The URL list is enumerated from the resolver, so a view added later without protection fails
here without anyone having to remember to add a test for it. Anonymous and non-staff users are
sent to the login page everywhere. What a marketer gets on the admin's standard model pages
follows from the Marketers group's permissions; any other view must say so in `CUSTOM`, or its
test fails. A superuser never meets a server error. Ids in the URLs are those of real records.
"""

from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Model

from accounts.models import Account, Contact, Opportunity
from accounts.services import marketers_group_ensure
from marketo_sync.sync.models import SyncError
from tests.helpers.routes import ROUTES, TOKEN_API

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
    "admin/^axes/$": Expect(404),
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


# Who may dismiss a sync error (stop retrying a record): its own permission, not "Sync now".
DISMISS_MATRIX = {
    "marketer": ((), False),
    "operator with Sync now and Pause": (("sync.run_sync", "sync.pause_sync"), False),
    "Marketing operations": (("sync.dismiss_syncerror",), True),
}


@pytest.mark.parametrize("who", DISMISS_MATRIX)
def test_only_the_dismiss_permission_dismisses_sync_errors(staff_client, records, who):
    permissions, allowed = DISMISS_MATRIX[who]
    user_client = staff_client(*permissions)
    get_user_model().objects.latest("pk").groups.add(marketers_group_ensure())
    error = records[SyncError]
    changelist = "/admin/sync/syncerror/"
    offered = 'value="dismiss"' in user_client.get(changelist).content.decode()
    user_client.post(changelist, {"action": "dismiss", "_selected_action": [error.pk]})
    error.refresh_from_db()
    assert (offered, error.dismissed) == (allowed, allowed)


# Values an attacker or a mangled link puts in a parameter: none may give a server error, and
# those PostgreSQL cannot store are refused with 400 before a query is made.
HOSTILE = {
    "NUL": "%00",
    "NUL inside": "Bank%00ing",
    "lone surrogate": "%ED%A0%80",
    "lone low surrogate": "x%ED%B0%80",
    "10 KB": "x" * 10240,
    "negative": "-1",
    "huge": "9" * 30,
    "huge negative": "-" + "9" * 30,
    "malformed date": "2024-13-45",
    "malformed datetime": "2024-02-30%2025:61:00",
}
UNSTORABLE = {"NUL", "NUL inside"}
ALWAYS_SWEPT = ("q", "o", "p", "_to_field", "_popup", "_changelist_filters")


def changelist_parameters(admin_client, url: str) -> set[str]:
    """Every parameter the changelist reads: its filters', date hierarchy's, the standard ones."""
    response = admin_client.get(url)
    assert response.status_code == 200, url
    names = set(ALWAYS_SWEPT)
    changelist = (getattr(response, "context_data", None) or {}).get("cl")
    if changelist is not None:
        for spec in changelist.filter_specs:
            names.update(spec.expected_parameters())
        if changelist.date_hierarchy:
            field = changelist.date_hierarchy
            names.update(f"{field}__{part}" for part in ("year", "month", "day"))
    return names


def first_action(admin_client, url: str) -> str | None:
    response = admin_client.get(url)
    form = (getattr(response, "context_data", None) or {}).get("action_form")
    choices = [value for value, _ in form.fields["action"].choices if value] if form else []
    return choices[0] if choices else None


@pytest.mark.slow
@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda model: model._meta.label_lower
)
def test_no_admin_page_answers_a_hostile_value_with_a_server_error(admin_client, records, model):
    opts = model._meta
    changelist = f"/admin/{opts.app_label}/{opts.model_name}/"
    parameters = changelist_parameters(admin_client, changelist)
    action = first_action(admin_client, changelist)
    record = records.get(model)
    change = f"{changelist}{record.pk}/change/" if record is not None else None
    for name, value in HOSTILE.items():
        requests = [("GET", f"{changelist}?{parameter}={value}") for parameter in parameters]
        requests.append(("GET", f"{changelist}{value}/change/"))
        requests.append(("GET", f"{changelist}{value}/history/"))
        if change:
            requests += [("GET", f"{change}?{parameter}={value}") for parameter in ALWAYS_SWEPT]
        for method, url in requests:
            response = admin_client.get(url)
            assert response.status_code < 500, (method, url[:200], response.status_code)
            if name in UNSTORABLE and "?" in url:
                assert response.status_code == 400, (url[:200], response.status_code)
        if action:
            response = admin_client.post(
                changelist, f"action={action}&index=0&_selected_action={value}",
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code < 500, ("POST", changelist, value[:50])


@pytest.mark.parametrize("selected", ["abc", "1.5", "%00"])
def test_a_selected_action_id_that_is_not_an_id_answers_400(admin_client, records, selected):
    response = admin_client.post(
        "/admin/accounts/account/",
        f"action=resync_selected&index=0&_selected_action={selected}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert 'id="site-name"' in response.content.decode()  # the admin's own layout


@pytest.mark.parametrize(
    "url",
    ["/admin/accounts/account/?industry=%00", "/admin/sync/syncrun/?mode__exact=%00",
     "/admin/accounts/contact/?q=a%00b", "/admin/activities/activity/?o=%00"],
)
def test_a_nul_in_a_filter_answers_400_in_the_admin_layout(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="site-name"' in body and "DATABASE_URL" not in body


def test_the_policy_allows_nothing_inline_but_on_the_queue_dashboard(admin_client, client):
    for response in (client.get("/admin/login/"), admin_client.get("/admin/accounts/account/")):
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
    dashboard = admin_client.get("/admin/django_rq/dashboard/")["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in dashboard


# Refusals that come from Django's own code with no permission to name.
UNNAMED_REFUSALS = {"admin/autocomplete/", "admin/auth/user/<id>/password/"}


@pytest.mark.parametrize("route", ROUTES)
def test_every_refusal_is_an_admin_page_naming_the_missing_permission(
    marketer_client, marketer, path_for, route
):
    expect = marketer_expectation(route, marketer)
    path = path_for(route)
    for method, status in (("get", expect.get), ("post", expect.post)):
        if status != 403:
            continue
        body = getattr(marketer_client, method)(path).content.decode()
        assert 'id="site-name"' in body and 'id="permission-denied"' in body, (method, path)
        if route not in UNNAMED_REFUSALS:
            assert "You need the permission “" in body, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "sentence"),
    [
        ("get", "/admin/accounts/contact/{lead}/convert/",
         "“Can run Convert Person (creates records in Salesforce)” (accounts.convert_person)"),
        ("post", "/admin/sync/syncrun/status/sync-now/",
         "“Can start a Salesforce sync now” (sync.run_sync)"),
        ("get", "/admin/accounts/account/{account}/delete/",
         "“Can delete account” (accounts.delete_account)"),
        ("post", "/admin/accounts/opportunity/{opportunity}/change/",
         "“Can change opportunity” (accounts.change_opportunity)"),
        ("get", "/admin/auth/user/", "“Can view user” (auth.view_user)"),
        ("get", "/admin/django_rq/dashboard/", "“Access admin page” (django_rq.admin)"),
    ],
)
def test_the_refusal_says_which_permission_is_missing(
    marketer_client, records, method, path, sentence
):
    path = path.format(
        lead=records[Contact].pk, account=records[Account].pk,
        opportunity=records[Opportunity].pk,
    )
    response = getattr(marketer_client, method)(path)
    assert response.status_code == 403
    assert f"You need the permission {sentence} for this page." in response.content.decode()


# The parameters the project's own views read, besides the changelists' (swept above).
PROJECT_PARAMETERS = ("p", "q", "o", "contacts_page", "timeline_page", "next", "_popup")


@pytest.mark.slow
@pytest.mark.parametrize("route", ROUTES)
def test_no_admin_url_answers_a_hostile_value_with_a_server_error(admin_client, path_for, route):
    path = path_for(route)
    for name, value in HOSTILE.items():
        query = "&".join(f"{parameter}={value}" for parameter in PROJECT_PARAMETERS)
        for method in ("get", "post"):
            response = getattr(admin_client, method)(f"{path}?{query}")
            assert response.status_code < 500, (method, path, name, response.status_code)
            if name in UNSTORABLE and path.startswith("/admin/"):
                assert response.status_code == 400, (method, path, name, response.status_code)


@pytest.mark.parametrize("action", ["delete", "requeue"])
def test_a_job_gone_from_the_queue_answers_404_not_500(admin_client, queue_values, action):
    path = f"/admin/django_rq/dashboard/queues/0/{queue_values['job_id']}/{action}/"
    assert admin_client.post(path, {"post": "yes"}).status_code < 400
    assert admin_client.post(path, {"post": "yes"}).status_code in (400, 404)
