"""Convert Person against the sandbox: created once, completed (not redone) after failures."""

import signal

import django_rq
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.conversion import (
    ConversionRefused,
    conversion_request,
    conversion_retry,
    conversion_run,
    similar_accounts,
)
from accounts.models import Account, Contact, Opportunity, PersonConversion
from activities.models import Activity
from marketo_sync.salesforce.convert import ConvertOptions
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.cycle import sync_cycle
from tests.fixtures.workers import run_manage

pytestmark = pytest.mark.django_db(transaction=True)
OPTIONS = ConvertOptions(converted_status="Closed - Converted")




def open_lead() -> Contact:
    return Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()


def test_a_lead_converts_to_three_records_in_salesforce_and_locally(synced, admin_user):
    lead = open_lead()
    accounts_before = synced.control.count("Account")
    conversion, created = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="k1"
    )
    assert created
    conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "completed", conversion.error
    assert synced.control.count("Account") == accounts_before + 1
    remote_lead = synced.control.get("Lead", lead.sfdc_lead_id)
    assert remote_lead["IsConverted"] is True
    lead.refresh_from_db()
    assert lead.sfdc_type == "contact" and lead.sfdc_id == remote_lead["ConvertedContactId"]
    assert lead.account.sfdc_id == remote_lead["ConvertedAccountId"]
    assert lead.account.name == lead.company
    assert Opportunity.objects.get(sfdc_id=remote_lead["ConvertedOpportunityId"]).account == (
        lead.account
    )
    assert Activity.objects.filter(contact=lead, activity_type="convert_person").count() == 1
    assert Contact.objects.filter(sfdc_id=lead.sfdc_id).count() == 1
    assert sync_cycle().status == "success"
    assert Contact.objects.filter(sfdc_id=lead.sfdc_id).count() == 1


def test_a_person_not_in_salesforce_is_created_as_a_lead_then_converted(synced, admin_user):
    person = Contact.objects.create(
        last_name="Newman", first_name="Ada", email="ada@newco.example", company="Newco Labs"
    )
    conversion, _ = conversion_request(
        person=person, options=OPTIONS, user=admin_user, idempotency_key="k2"
    )
    conversion_run(conversion_id=conversion.pk)
    person.refresh_from_db()
    assert person.sfdc_lead_id and person.sfdc_id and person.account.name == "Newco Labs"
    assert synced.control.get("Lead", person.sfdc_lead_id)["Email"] == "ada@newco.example"


def test_double_submit_creates_one_conversion_and_one_account(synced, admin_user):
    lead = open_lead()
    first, created = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="same"
    )
    again, created_again = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="same"
    )
    other_key, created_other = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="different"
    )
    assert created and not created_again and not created_other
    assert first.pk == again.pk == other_key.pk
    accounts_before = synced.control.count("Account")
    conversion_run(conversion_id=first.pk)
    conversion_run(conversion_id=first.pk)
    assert synced.control.count("Account") == accounts_before + 1
    with pytest.raises(ConversionRefused, match="already a contact"):
        conversion_request(person=Contact.objects.get(pk=lead.pk), options=OPTIONS,
                           user=admin_user, idempotency_key="third")


def test_worker_killed_after_the_remote_convert_completes_on_retry(synced, admin_user):
    lead = open_lead()
    accounts_before = synced.control.count("Account")
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="crash"
    )
    django_rq.get_queue("default").enqueue(
        "accounts.jobs.run_person_conversion", conversion.pk
    )
    crashed = run_manage(
        "rqworker", "default", "--burst", "--worker-class", "rq.worker.SimpleWorker",
        SYNC_CRASHPOINTS="conversion_after_remote_convert:1",
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    conversion.refresh_from_db()
    assert conversion.status == "converted"
    assert not Account.objects.filter(sfdc_id=conversion.account_sfdc_id).exists()
    conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "completed"
    assert synced.control.count("Account") == accounts_before + 1
    assert Account.objects.filter(sfdc_id=conversion.account_sfdc_id).count() == 1


def test_a_fault_on_the_convert_call_is_shown_and_a_retry_succeeds_once(synced, admin_user):
    lead = open_lead()
    accounts_before = synced.control.count("Account")
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="fault"
    )
    synced.control.inject_fault("request_limit", count=1, path="/Soap/")
    with pytest.raises(SalesforceError):
        conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "failed" and "REQUEST_LIMIT_EXCEEDED" in conversion.error
    conversion_retry(conversion=conversion)
    conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "completed"
    assert synced.control.count("Account") == accounts_before + 1


def test_similar_account_names_are_flagged():
    Account.objects.create(sfdc_id="0019000000B98deAAB", name="Blue Harbor Ltd")
    assert [a.name for a in similar_accounts(company="Blue Harbor Inc.")] == ["Blue Harbor Ltd"]
    assert similar_accounts(company="Green Valley") == []


def test_permission_is_needed_for_the_page_and_the_post(synced, marketer_client, marketer):
    lead = open_lead()
    url = reverse("admin:accounts_contact_convert", args=[lead.pk])
    assert marketer_client.get(url).status_code == 403
    assert marketer_client.post(url, {"post": "yes", "understand": "on"}).status_code == 403
    marketer.user_permissions.add(Permission.objects.get(codename="convert_person"))
    page = marketer_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "CAUTION" in text and "very limited use case" in text
    assert "If you are not sure, do not use it." in text
    assert "Closed - Converted" in text


def test_the_confirmation_requires_the_checkbox(synced, admin_client):
    lead = open_lead()
    url = reverse("admin:accounts_contact_convert", args=[lead.pk])
    response = admin_client.post(url, {
        "post": "yes", "converted_status": "Closed - Converted", "idempotency_key": "k9",
    })
    assert response.status_code == 200
    assert "Tick the box" in response.content.decode()
    assert not PersonConversion.objects.exists()
    done = admin_client.post(url, {
        "post": "yes", "converted_status": "Closed - Converted", "idempotency_key": "k9",
        "understand": "on",
    })
    assert done.status_code == 302
    assert PersonConversion.objects.count() == 1
