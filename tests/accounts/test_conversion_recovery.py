"""Convert Person after the worst: a worker killed mid-way, a job timed out, a sync cycle that
stored the new records first. Each ends with exactly one lead, account and opportunity, in the
sandbox and locally, and one person row."""

import signal
import time
from datetime import timedelta

import django_rq
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.conversion import (
    ADVISORY_LOCK_CLASS,
    STALE_AFTER,
    ConversionRefused,
    conversion_refusal,
    conversion_request,
    conversion_retry,
    conversion_retryable_ids,
    conversion_run,
)
from accounts.models import Account, Contact, Opportunity, PersonConversion
from activities.models import Activity
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.convert import ConvertOptions, convert_lead
from marketo_sync.sync.cycle import sync_cycle, sync_object
from marketo_sync.sync.models import SyncRun
from tests.fixtures.workers import run_manage, run_worker

pytestmark = pytest.mark.django_db(transaction=True)
OPTIONS = ConvertOptions(converted_status="Closed - Converted")




def remote_counts(control) -> dict[str, int]:
    return {name: control.count(name) for name in ("Lead", "Account", "Opportunity")}


def enqueue(conversion: PersonConversion, **options) -> None:
    django_rq.get_queue("default").enqueue(
        "accounts.jobs.run_person_conversion", conversion.pk, **options
    )


def killed_worker(point: str) -> None:
    crashed = run_manage(
        "rqworker", "default", "--burst", "--worker-class", "rq.worker.SimpleWorker",
        SYNC_CRASHPOINTS=f"{point}:1",
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr


def later_by_more_than_stale():
    return time_machine.travel(timezone.now() + STALE_AFTER + timedelta(minutes=1), tick=True)


def assert_exactly_one_of_each(control, before: dict[str, int], person: Contact,
                               conversion: PersonConversion) -> None:
    assert remote_counts(control) == {
        "Lead": before["Lead"] + (0 if person.sfdc_lead_id and before.get("had_lead") else 1),
        "Account": before["Account"] + 1,
        "Opportunity": before["Opportunity"] + 1,
    }
    person.refresh_from_db()
    conversion.refresh_from_db()
    assert conversion.status == "completed", conversion.error
    assert list(Contact.objects.filter(sfdc_lead_id=conversion.lead_sfdc_id)) == [person]
    assert list(Contact.objects.filter(sfdc_id=conversion.contact_sfdc_id)) == [person]
    assert person.sfdc_type == "contact"
    assert Account.objects.filter(sfdc_id=conversion.account_sfdc_id).count() == 1
    assert person.account.sfdc_id == conversion.account_sfdc_id
    opportunity = Opportunity.objects.get(sfdc_id=conversion.opportunity_sfdc_id)
    assert opportunity.contact == person
    assert Activity.objects.filter(contact=person, activity_type="convert_person").count() == 1


def test_worker_killed_after_the_lead_create_is_retried_once_stuck(synced, admin_user):
    """The lead exists in Salesforce but not in the conversion record; a sync cycle then
    stores it as a person row of its own. The retry finds the lead again by email and keeps
    one person row."""
    person = Contact.objects.create(
        first_name="Kay", last_name="Killed", email="kay@killed.example", company="Killed Co"
    )
    before = remote_counts(synced.control)
    conversion, _ = conversion_request(
        person=person, options=OPTIONS, user=admin_user, idempotency_key="kill-lead"
    )
    enqueue(conversion)
    killed_worker("conversion_after_lead_create")
    conversion.refresh_from_db()
    assert conversion.status == "pending" and conversion.lead_sfdc_id == ""
    assert synced.control.count("Lead") == before["Lead"] + 1

    assert sync_cycle().status == "success"  # the sync stores the new lead as another row
    assert Contact.objects.filter(email="kay@killed.example").count() == 2

    with pytest.raises(ConversionRefused, match="has not moved"):
        conversion_retry(conversion=conversion)  # a live worker could still be on it
    assert conversion_retryable_ids(person_id=person.pk) == set()
    with later_by_more_than_stale():
        assert conversion_retryable_ids(person_id=person.pk) == {conversion.pk}
        retried = conversion_retry(conversion=conversion)
    assert retried.status == "pending"
    enqueue(conversion)
    worker = run_worker("default")
    assert worker.returncode == 0, worker.stderr

    assert_exactly_one_of_each(synced.control, before, person, conversion)
    assert Contact.objects.filter(email="kay@killed.example").count() == 1
    assert sync_cycle().status == "success"
    assert Contact.objects.filter(email="kay@killed.example").count() == 1


def test_worker_killed_after_the_convert_with_the_contact_synced_first(synced, admin_user):
    """Killed after the remote convert; a Contact sync then stored the new contact in a row of
    its own. The retry asks Salesforce, does not convert again, and absorbs that row."""
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    before = {**remote_counts(synced.control), "had_lead": 1}
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="kill-convert"
    )
    enqueue(conversion)
    killed_worker("conversion_after_remote_convert")
    conversion.refresh_from_db()
    assert conversion.status == "converted"
    client = SalesforceClient.from_settings()
    contact_id = conversion.contact_sfdc_id
    run = sync_object(client, "Contact", SyncRun.Mode.RECORDS, sfdc_ids=[contact_id])
    assert run.status == "success"
    contact_row = Contact.objects.get(sfdc_id=conversion.contact_sfdc_id)
    assert contact_row.pk != lead.pk

    with later_by_more_than_stale():
        conversion_retry(conversion=conversion)
    conversion_run(conversion_id=conversion.pk)

    assert_exactly_one_of_each(synced.control, before, lead, conversion)
    assert not Contact.objects.filter(pk=contact_row.pk).exists()


def test_a_contact_row_stored_between_convert_and_local_write_is_absorbed(synced, admin_user):
    """No crash needed: a sync cycle may apply the new contact while the job is between the
    remote convert and its local write."""
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    before = {**remote_counts(synced.control), "had_lead": 1}
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="race"
    )
    client = SalesforceClient.from_settings()
    ids = convert_lead(client, lead.sfdc_lead_id, OPTIONS)  # the remote step, done first
    sync_object(client, "Account", SyncRun.Mode.RECORDS, sfdc_ids=[ids.account_id])
    sync_object(client, "Contact", SyncRun.Mode.RECORDS, sfdc_ids=[ids.contact_id])
    other = Contact.objects.get(sfdc_id=ids.contact_id)
    Activity.objects.create(
        contact=other, activity_type="change_data_value", source="sfdc_sync",
        attribute="Title", new_value="CTO", created_at=timezone.now(),
    )

    conversion_run(conversion_id=conversion.pk)

    assert_exactly_one_of_each(synced.control, before, lead, conversion)
    assert Activity.objects.filter(contact=lead, attribute="Title").count() == 1  # history kept


def test_a_job_timeout_is_recorded_as_failed_and_the_retry_completes(synced, admin_user):
    """RQ's timeout is not a SalesforceError: it still shows as a failure, and the retry finds
    the lead converted by the call the timeout abandoned."""
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    before = {**remote_counts(synced.control), "had_lead": 1}
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="timeout"
    )
    synced.control.inject_fault("latency", count=1, path="/Soap/", seconds=4)
    enqueue(conversion, job_timeout=2)
    worker = run_worker("default")
    assert worker.returncode == 0, worker.stderr
    conversion.refresh_from_db()
    assert conversion.status == "failed"
    assert "JobTimeoutException" in conversion.error
    deadline = time.monotonic() + 20
    while not synced.control.get("Lead", lead.sfdc_lead_id)["IsConverted"]:
        assert time.monotonic() < deadline, "the abandoned convert call never landed"
        time.sleep(0.2)

    conversion_retry(conversion=conversion)
    conversion_run(conversion_id=conversion.pk)

    assert_exactly_one_of_each(synced.control, before, lead, conversion)


def test_a_conversion_another_worker_runs_is_left_alone(synced, admin_user):
    """A retried stuck conversion may still have a queued job: only one worker runs it."""
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    before = remote_counts(synced.control)
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="locked"
    )
    other_worker = connection.copy()
    try:
        with other_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, conversion.pk])
        conversion_run(conversion_id=conversion.pk)
    finally:
        other_worker.close()
    conversion.refresh_from_db()
    assert conversion.status == "pending" and conversion.attempts == 0
    assert remote_counts(synced.control) == before
    conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "completed"


def test_a_person_without_email_or_lead_is_refused(synced, admin_user):
    """Its lead could not be found again after a crash, so a retry could create a second."""
    person = Contact.objects.create(last_name="Noemail", company="Quiet Co")
    assert "no email" in conversion_refusal(person)
    with pytest.raises(ConversionRefused, match="no email"):
        conversion_request(person=person, options=OPTIONS, user=admin_user, idempotency_key="ne")
    assert not PersonConversion.objects.exists()
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    Contact.objects.filter(pk=lead.pk).update(email="")
    lead.refresh_from_db()
    assert conversion_refusal(lead) == ""  # already a lead: its id is known, no search needed


def test_a_fresh_unfinished_conversion_is_not_retryable(synced, admin_user):
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="fresh"
    )
    with pytest.raises(ConversionRefused):
        conversion_retry(conversion=conversion)
    conversion_run(conversion_id=conversion.pk)
    with later_by_more_than_stale(), pytest.raises(ConversionRefused):
        conversion_retry(conversion=conversion)  # completed: never again


def test_a_lost_answer_to_the_lead_create_does_not_create_a_second_lead(synced, admin_user):
    """Salesforce created the lead but the answer was lost: the client's retry looks first."""
    person = Contact.objects.create(
        first_name="Lou", last_name="Lost", email="lou@lost.example", company="Lost Answers"
    )
    before = remote_counts(synced.control)
    conversion, _ = conversion_request(
        person=person, options=OPTIONS, user=admin_user, idempotency_key="lost"
    )
    synced.control.inject_fault("drop_connection", count=1, path=r"/sobjects/Lead/?$")
    conversion_run(conversion_id=conversion.pk)
    assert_exactly_one_of_each(synced.control, before, person, conversion)


def test_a_failed_conversion_is_not_retried_beside_a_newer_open_one(synced, admin_user):
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk").first()
    failed, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="old"
    )
    PersonConversion.objects.filter(pk=failed.pk).update(status="failed", error="earlier")
    newer, created = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="new"
    )
    assert created
    with pytest.raises(ConversionRefused, match="another conversion in progress"):
        conversion_retry(conversion=failed)
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.error == "earlier"
