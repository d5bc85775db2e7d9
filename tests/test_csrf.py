"""CSRF on every state-changing view: a POST without the token is refused and changes nothing.

Each request is made by a superuser, so a 403 can only come from the CSRF check; each case is
also posted by a client that skips the check, to prove the state it watches really changes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_rq
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Contact, PersonConversion
from marketo_sync.sync.models import SyncError, SyncState
from tests.helpers.admin_forms import account_form, contact_form
from tests.helpers.routes import ROUTES, TOKEN_API, concrete

pytestmark = [pytest.mark.django_db, pytest.mark.security]


@dataclass(frozen=True)
class World:
    account: Account
    contact: Contact
    lead: Contact
    error: SyncError
    conversion: PersonConversion


@pytest.fixture
def world() -> World:
    account = Account.objects.create(
        sfdc_id="0019000000B98deAAB", name="Blue Harbor", industry="Retail"
    )
    contact = Contact.objects.create(
        first_name="Ada", last_name="Lee", account=account, sfdc_id="0039000000B98deAAB",
        sfdc_type="contact",
    )
    lead = Contact.objects.create(last_name="Lead", sfdc_lead_id="00Q9000000B98deEAB")
    return World(
        account=account,
        contact=contact,
        lead=lead,
        error=SyncError.objects.create(object_name="Account", sfdc_id=account.sfdc_id,
                                       message="bad"),
        conversion=PersonConversion.objects.create(
            person=lead, idempotency_key="csrf-test", status="failed", error="timeout"
        ),
    )


def action(changelist: str, name: str, pk: int) -> dict[str, Any]:
    return {"url": reverse(changelist), "data": {"action": name, "_selected_action": [pk]}}


def queued() -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(django_rq.get_queue(name).job_ids) for name in ("default", "sync")
    )


def sync_paused() -> bool:
    return SyncState.objects.filter(paused=True).exists()


@dataclass(frozen=True)
class Case:
    request: Callable[[World], dict[str, Any]]  # {"url": ..., "data": ...}
    state: Callable[[World], Any]  # what the POST would change
    control: bool = True  # False where the unchecked POST needs Salesforce itself
    enqueues: bool = False  # queues a job on commit: run outside a test transaction


CASES = {
    "account change form": Case(
        lambda w: {"url": reverse("admin:accounts_account_change", args=[w.account.pk]),
                   "data": account_form(w.account, industry="Banking")},
        lambda w: Account.objects.get(pk=w.account.pk).industry,
    ),
    "contact change form": Case(
        lambda w: {"url": reverse("admin:accounts_contact_change", args=[w.contact.pk]),
                   "data": contact_form(w.contact, first_name="Eve", account_industry="Banking")},
        lambda w: Contact.objects.values_list("first_name", "account__industry").get(
            pk=w.contact.pk
        ),
    ),
    "re-sync accounts action": Case(
        lambda w: action("admin:accounts_account_changelist", "resync_selected", w.account.pk),
        lambda w: queued(),
        enqueues=True,
    ),
    "re-sync people action": Case(
        lambda w: action("admin:accounts_contact_changelist", "resync_selected", w.contact.pk),
        lambda w: queued(),
        enqueues=True,
    ),
    "sync now": Case(
        lambda w: {"url": reverse("admin:sync_now"), "data": {}}, lambda w: queued(), enqueues=True
    ),
    "pause sync": Case(
        lambda w: {"url": reverse("admin:sync_pause"), "data": {"paused": "1"}},
        lambda w: sync_paused(),
    ),
    "sync-error dismiss action": Case(
        lambda w: action("admin:sync_syncerror_changelist", "dismiss", w.error.pk),
        lambda w: SyncError.objects.get(pk=w.error.pk).dismissed,
    ),
    "convert person confirmation": Case(
        lambda w: {"url": reverse("admin:accounts_contact_convert", args=[w.lead.pk]),
                   "data": {"post": "yes", "understand": "on", "converted_status": "Qualified",
                            "idempotency_key": "csrf-convert"}},
        lambda w: PersonConversion.objects.count(),
        control=False,
    ),
    "convert person action": Case(
        lambda w: {"url": reverse("admin:accounts_contact_changelist"),
                   "data": {"action": "convert_person", "_selected_action": [w.lead.pk],
                            "post": "yes", "understand": "on", "converted_status": "Qualified",
                            "idempotency_key": "csrf-action"}},
        lambda w: PersonConversion.objects.count(),
        control=False,
    ),
    "conversion retry": Case(
        lambda w: {"url": reverse("admin:accounts_conversion_retry", args=[w.conversion.pk]),
                   "data": {}},
        lambda w: PersonConversion.objects.values_list("status", "error").get(
            pk=w.conversion.pk
        ),
    ),
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def strict_client(admin_user) -> Client:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    return strict


def cases(*, control_only: bool = False) -> list:
    """Case names; those that enqueue run committed, as a real (non-atomic) request does."""
    return [
        pytest.param(name, marks=[pytest.mark.django_db(transaction=True)] if case.enqueues else [])
        for name, case in CASES.items()
        if case.control or not control_only
    ]


def post(client: Client, request: dict[str, Any]) -> Any:
    return client.post(request["url"], request["data"])


@pytest.mark.parametrize("name", cases())
def test_a_post_without_the_token_is_refused_and_changes_nothing(strict_client, world, name):
    case = CASES[name]
    before = case.state(world)
    response = post(strict_client, case.request(world))
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert case.state(world) == before


@pytest.mark.parametrize("name", cases(control_only=True))
def test_the_same_post_without_the_check_does_change_it(admin_client, world, name):
    case = CASES[name]
    before = case.state(world)
    response = post(admin_client, case.request(world))
    assert response.status_code in (200, 302)
    assert case.state(world) != before, name


def test_resume_without_the_token_keeps_the_sync_paused(strict_client):
    SyncState.objects.create(object_name="Account", paused=True)
    assert strict_client.post(reverse("admin:sync_pause"), {"paused": "0"}).status_code == 403
    assert sync_paused()


@pytest.mark.parametrize("route", sorted(set(ROUTES) - TOKEN_API))
def test_every_enumerated_url_checks_the_token_on_post(strict_client, world, route):
    """No view is exempt: a csrf_exempt view added later fails here."""
    records = {Account: world.account, Contact: world.contact, PersonConversion: world.conversion}
    path = concrete(route, records, {"job_id": "job", "key": "worker"})
    response = strict_client.post(path)
    assert response.status_code == 403 and b"CSRF" in response.content, (path, response.status_code)
