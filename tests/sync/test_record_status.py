"""Per-record sync status: a stale record says so, sync errors link to their record, and a
re-sync's outcome reaches the record's page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from marketo_sync.sync.models import RecordCheck, SyncError
from marketo_sync.sync.services import sync_records
from tests.fixtures.sync import cycle

ACCOUNT_ID = "0019000000B98deAAB"


@pytest.mark.django_db
def test_a_record_with_an_open_sync_error_warns_that_its_data_may_be_stale(marketer_client):
    account = Account.objects.create(sfdc_id=ACCOUNT_ID, name="Blue Harbor")
    page = reverse("admin:accounts_account_change", args=[account.pk])
    assert "may be stale" not in marketer_client.get(page).content.decode()
    SyncError.objects.create(
        object_name="Account", sfdc_id=ACCOUNT_ID, message="<b>Industry</b> is too long"
    )
    text = marketer_client.get(page).content.decode()
    assert "the data shown may be\n    stale: &lt;b&gt;Industry&lt;/b&gt; is too long" in text
    SyncError.objects.update(resolved_at=timezone.now())
    assert "may be\n    stale" not in marketer_client.get(page).content.decode()


@pytest.mark.django_db
def test_a_persons_banner_covers_its_lead_and_contact_ids(marketer_client):
    person = Contact.objects.create(
        last_name="Hansen", sfdc_type="lead", sfdc_lead_id="00Q9000000B98deEAB"
    )
    SyncError.objects.create(object_name="Lead", sfdc_id="00Q9000000B98deEAB", message="bad")
    text = marketer_client.get(
        reverse("admin:accounts_contact_change", args=[person.pk])
    ).content.decode()
    assert "could not be applied" in text


@pytest.mark.django_db
def test_sync_errors_link_their_local_record_with_a_constant_query_count(marketer_client):
    account = Account.objects.create(sfdc_id=ACCOUNT_ID, name="Blue Harbor")
    SyncError.objects.create(object_name="Account", sfdc_id=ACCOUNT_ID, message="bad")
    SyncError.objects.create(object_name="Contact", sfdc_id="0039000000B98deAAB", message="bad")
    changelist = reverse("admin:sync_syncerror_changelist")
    with CaptureQueriesContext(connection) as few:
        text = marketer_client.get(changelist).content.decode()
    assert reverse("admin:accounts_account_change", args=[account.pk]) in text
    assert "Not in the local copy" in text
    for number in range(20):
        SyncError.objects.create(
            object_name="Account", sfdc_id=f"0019000000B98d{number:02d}", message="bad"
        )
    with CaptureQueriesContext(connection) as many:
        marketer_client.get(changelist)
    assert len(many) == len(few)


@pytest.mark.django_db(transaction=True)
def test_a_resync_result_is_kept_for_the_records_page(sandbox, marketer_client):
    cycle()
    account = Account.objects.order_by("sfdc_id").first()
    sync_records(object_name="Account", sfdc_ids=[account.sfdc_id])
    check = RecordCheck.objects.get(sfdc_id=account.sfdc_id)
    assert check.result == RecordCheck.Result.UNCHANGED
    page = reverse("admin:accounts_account_change", args=[account.pk])
    assert "Unchanged: the local copy was up to date" in marketer_client.get(page).content.decode()

    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Shipping"})
    sync_records(object_name="Account", sfdc_ids=[account.sfdc_id])
    check.refresh_from_db()
    assert check.result == RecordCheck.Result.UPDATED
    assert "Updated from Salesforce" in marketer_client.get(page).content.decode()

    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Mining"})
    sandbox.control.inject_fault(
        "malformed_record", path="/composite", field="Name", value="a\x00b"
    )
    sync_records(object_name="Account", sfdc_ids=[account.sfdc_id])
    check.refresh_from_db()
    assert check.result == RecordCheck.Result.FAILED and check.message
    text = marketer_client.get(page).content.decode()
    assert "Failed: " in text and "could not be applied" in text
