"""Reconcile, formula refresh and the overlap window catch what incremental pulls miss."""

from datetime import timedelta

import pytest

from accounts.models import Account, Contact
from activities.models import Activity
from marketo_sync.salesforce import client as client_module
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.maintenance import sync_formula_refresh, sync_reconcile
from marketo_sync.sync.models import SyncError, SyncState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def synced(sandbox):
    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    return sandbox


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk-api"])
def test_reconcile_catches_purged_and_missing_records(synced, settings, bulk):
    settings.SYNC_BULK_THRESHOLD = 10 if bulk else 50000  # the tiny org's 31 contacts
    settings.SYNC_BULK_POLL_SECONDS = 0.01
    control = synced.control
    purged = Account.objects.exclude(contacts=None).first()
    control.purge("Account", purged.sfdc_id)
    lost = Contact.objects.filter(sfdc_type="contact").last()
    lost_id = lost.sfdc_id
    lost.activities.all().delete()
    lost.delete()
    untouched = Account.objects.exclude(pk=purged.pk).first()
    before = (untouched.synced_at, untouched.sfdc_last_modified)
    assert sync_cycle().status == "success"  # an incremental cycle sees neither
    assert not Account.objects.get(pk=purged.pk).is_deleted
    control.reset_counts()
    runs = sync_reconcile()
    assert (control.request_counts().get("bulk2", 0) > 0) == bulk
    assert all(run.status == "success" for run in runs), [r.error for r in runs]
    assert Account.objects.get(pk=purged.pk).is_deleted
    assert Contact.objects.filter(sfdc_id=lost_id).exists()
    untouched.refresh_from_db()
    assert (untouched.synced_at, untouched.sfdc_last_modified) == before
    assert {r.object_name for r in runs} == {"User", "Account", "Lead", "Contact", "Opportunity"}
    assert sum(r.deleted for r in runs if r.object_name == "Account") == 1
    assert all(r.mode == "reconcile" for r in runs)


def test_formula_change_is_refreshed_and_logs_activities(synced):
    account = Account.objects.exclude(contacts=None).first()
    contacts = account.contacts.filter(is_deleted=False).count()
    modstamp = account.sfdc_last_modified
    synced.control.set_formula("Account", account.sfdc_id, "AnnualRevenueBand__c", "Whale")
    assert sync_cycle().status == "success"
    account.refresh_from_db()
    assert account.custom_fields["AnnualRevenueBand__c"] != "Whale"  # modstamp did not move
    runs = {run.object_name: run for run in sync_formula_refresh()}
    assert set(runs) == {"User", "Account", "Lead", "Contact", "Opportunity"}
    account.refresh_from_db()
    assert account.custom_fields["AnnualRevenueBand__c"] == "Whale"
    assert account.sfdc_last_modified == modstamp
    logged = Activity.objects.filter(attribute="AnnualRevenueBand__c", new_value="Whale")
    assert logged.count() == contacts == runs["Account"].activities_logged


def test_a_formula_the_copy_never_had_is_filled_in_without_activities(synced):
    account = Account.objects.exclude(contacts=None).first()
    value = account.custom_fields.pop("AnnualRevenueBand__c")
    account.save()
    runs = {run.object_name: run for run in sync_formula_refresh()}
    account.refresh_from_db()
    assert account.custom_fields["AnnualRevenueBand__c"] == value
    assert runs["Account"].updated == 1 and runs["Account"].activities_logged == 0
    assert not Activity.objects.filter(attribute="AnnualRevenueBand__c").exists()


def test_a_late_commit_with_an_earlier_modstamp_is_not_missed(synced):
    watermark = SyncState.objects.get(object_name="Account").modstamp
    account = Account.objects.order_by("sfdc_last_modified").first()
    synced.control.late_write(
        "Account", account.sfdc_id, {"Industry": "Banking"}, watermark - timedelta(seconds=60)
    )
    assert sync_cycle().status == "success"
    account.refresh_from_db()
    assert account.industry == "Banking"


def test_errors_are_exported_as_csv(synced, admin_client):
    SyncError.objects.create(object_name="Account", sfdc_id="0019000000B98deAAB",
                             message="Name contains a NUL character")
    response = admin_client.post(
        "/admin/sync/syncerror/",
        {"action": "export_csv", "_selected_action": [e.pk for e in SyncError.objects.all()]},
    )
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "object_name,sfdc_id,message" in body and "NUL character" in body


def test_status_page_shows_backlog_and_paused_runs(synced, admin_client):
    synced.control.create("Account", {"Name": "Waiting Co"})
    assert sync_cycle().status == "success"
    synced.control.inject_fault("request_limit", count=1, path="/query")
    assert sync_cycle().status == "paused"
    page = admin_client.get("/admin/sync/syncrun/status/").content.decode()
    assert 'aria-label="Backlog per object"' in page
    assert 'id="sync-backlog"' in page and "records/s" in page
    assert '<tr class="status-paused">' in page and "Paused" in page
