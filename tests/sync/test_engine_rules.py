"""Engine rules beyond the happy path: watermarks, Bulk API 2.0, restarts, people, merges,
sync errors, and the constant number of queries per page."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.salesforce_fields import converter_for
from activities.models import Activity
from marketo_sync.fields import concrete_field
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import mark_missing_as_deleted, sync_cycle, sync_object
from marketo_sync.sync.engine import ObjectSync
from marketo_sync.sync.mapping import MAPPINGS
from marketo_sync.sync.models import SyncError, SyncRun, SyncState
from marketo_sync.sync.sync_errors import sync_errors_record, sync_errors_resolve
from tests.fixtures.sandbox import sandbox_login
from tests.fixtures.sync import cycle
from tests.helpers.soap import soap_convert_lead

pytestmark = pytest.mark.django_db(transaction=True)




def local_matches_remote(control, object_name: str, sample: int = 5) -> None:
    """Every mapped column of a sample equals what Salesforce holds, converted."""
    mapping = MAPPINGS[object_name]
    rows = mapping.model._default_manager.exclude(**{f"{mapping.key}__isnull": True}).filter(
        is_deleted=False
    )
    if object_name == "Lead":  # the contact side owns a converted person's data
        rows = rows.filter(**{"sfdc_type": "lead"})
    rows = rows.order_by(mapping.key)[:sample]
    assert rows
    for row in rows:
        remote = control.get(object_name, getattr(row, mapping.key))
        for sf_name, column in mapping.columns.items():
            expected = converter_for(concrete_field(mapping.model, column))(remote[sf_name])
            assert getattr(row, column) == expected, (object_name, sf_name)
        for name, value in row.custom_fields.items():
            assert remote[name] == value, (object_name, name)


@pytest.mark.sandbox_seed("small")
def test_full_sync_matches_the_org_field_by_field(sandbox):
    cycle()
    for object_name in ("User", "Account", "Lead", "Contact", "Opportunity"):
        local_matches_remote(sandbox.control, object_name)


def test_records_fetched_by_id_never_move_the_watermark(sandbox):
    cycle()
    control = sandbox.control
    first, second = Account.objects.order_by("sfdc_id")[:2]
    control.update("Account", first.sfdc_id, {"Industry": "Mining"})
    control.update("Account", second.sfdc_id, {"Industry": "Shipping"})
    before = SyncState.objects.get(object_name="Account")
    client = SalesforceClient.from_settings()
    run = sync_object(client, "Account", SyncRun.Mode.RECORDS, sfdc_ids=[second.sfdc_id])
    assert run.status == SyncRun.Status.SUCCESS and run.updated == 1
    after = SyncState.objects.get(object_name="Account")
    assert (after.modstamp, after.last_id) == (before.modstamp, before.last_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.SYNC_OVERLAP_SECONDS", 0)
        cycle()
    first.refresh_from_db()
    assert first.industry == "Mining"  # not skipped by a watermark moved past it


def test_full_sync_of_a_large_object_uses_bulk_api_and_stores_the_watermark_at_the_end(
    sandbox, settings
):
    settings.SYNC_BULK_THRESHOLD = 10
    settings.SYNC_BULK_MAX_RECORDS = 7
    settings.SYNC_BULK_POLL_SECONDS = 0.01
    control = sandbox.control
    cycle(full=True)
    assert control.request_counts().get("bulk2", 0) > 0  # Contacts (31 > 10) came by Bulk 2.0
    assert Contact.objects.filter(sfdc_type="contact").count() == control.count("Contact")
    local_matches_remote(control, "Contact", sample=31)
    state = SyncState.objects.get(object_name="Contact")
    latest = Contact.objects.exclude(sfdc_id=None).order_by("-sfdc_last_modified", "-sfdc_id")[0]
    assert (state.modstamp, state.last_id) == (latest.sfdc_last_modified, latest.sfdc_id)
    run = SyncRun.objects.get(object_name="Contact")
    assert run.watermark_modstamp == state.modstamp and run.backlog == run.fetched
    again = cycle(full=True)
    assert again.created == again.updated == 0


def test_an_expired_query_locator_restarts_after_the_last_applied_page(
    sandbox, sandbox_server, caplog
):
    cycle()
    control = sandbox.control
    contact_ids = list(Contact.objects.exclude(sfdc_id=None).values_list("sfdc_id", flat=True))
    for sfdc_id in contact_ids:
        control.update("Contact", sfdc_id, {"Title": "Buyer"})
    control.set_page_size(5)
    seen = []

    def drop_cursors(object_name: str, done: int, total: int | None) -> None:
        seen.append(object_name)
        if object_name == "Contact" and seen.count("Contact") == 1:
            sandbox_server.app.cursors.clear()

    run = sync_cycle(progress=drop_cursors)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCESS, run.error
    assert "Contact query restarted" in caplog.text and "INVALID_QUERY_LOCATOR" in caplog.text
    assert set(Contact.objects.filter(sfdc_id__in=contact_ids).values_list("title", flat=True)) \
        == {"Buyer"}
    assert SyncRun.objects.get(object_name="Contact", pk__gt=run.pk - 10, mode="incremental") \
        .updated == len(contact_ids)


def test_a_contact_synced_before_its_lead_conversion_is_absorbed_by_the_lead_person(sandbox):
    cycle()
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).first()
    Activity.objects.create(contact=lead, activity_type="change_data_value", source="sfdc_sync",
                            created_at="2026-01-01T00:00:00Z")
    people = Contact.objects.count()
    converted = soap_convert_lead(sandbox_login(sandbox), lead.sfdc_lead_id)
    assert "<success>true</success>" in converted.text
    contact_id = sandbox.control.get("Lead", lead.sfdc_lead_id)["ConvertedContactId"]
    cycle(objects=["Account", "Contact"])  # the new contact arrives before the lead's change
    early = Contact.objects.get(sfdc_id=contact_id)
    Activity.objects.create(contact=early, activity_type="change_data_value",
                            source="sfdc_sync", created_at="2026-01-02T00:00:00Z")
    cycle()
    lead.refresh_from_db()
    assert lead.sfdc_id == contact_id and lead.sfdc_type == "contact"
    assert lead.account is not None and lead.sfdc_last_modified is not None
    assert not Contact.objects.filter(pk=early.pk).exists()
    assert Contact.objects.count() == people
    assert lead.activities.count() == 2
    assert cycle().created == 0


def test_a_merged_lead_moves_its_history_to_the_surviving_lead(sandbox):
    cycle()
    survivor, loser = Contact.objects.filter(sfdc_type="lead", is_deleted=False)[:2]
    Activity.objects.create(contact=loser, activity_type="change_data_value", source="sfdc_sync",
                            created_at="2026-01-01T00:00:00Z")
    sandbox.control.merge("Lead", survivor.sfdc_lead_id, [loser.sfdc_lead_id])
    cycle()
    loser.refresh_from_db()
    assert loser.is_deleted and loser.master_record_sfdc_id == survivor.sfdc_lead_id
    assert survivor.activities.count() == 1 and loser.activities.count() == 0


def test_an_account_merge_moves_contacts_and_opportunities(sandbox):
    cycle()
    accounts = Account.objects.exclude(contacts=None).order_by("sfdc_id")
    survivor, loser = accounts[0], accounts[1]
    moved = set(loser.contacts.values_list("pk", flat=True))
    sandbox.control.merge("Account", survivor.sfdc_id, [loser.sfdc_id])
    cycle()
    loser.refresh_from_db()
    assert loser.is_deleted and loser.master_record_sfdc_id == survivor.sfdc_id
    assert moved <= set(survivor.contacts.values_list("pk", flat=True))
    assert not Contact.objects.filter(account=loser).exists()
    assert not Opportunity.objects.filter(account=loser).exists()
    assert not Contact.objects.filter(account=survivor).exclude(
        account_sfdc_id=survivor.sfdc_id
    ).exists()


def test_sync_errors_count_attempts_and_reopen_when_a_fixed_record_fails_again(db):
    sync_errors_record(object_name="Account", errors={"001A": "bad"}, run_id=None)
    assert SyncError.objects.get().attempts == 1
    sync_errors_record(object_name="Account", errors={"001A": "still bad"}, run_id=None)
    error = SyncError.objects.get()
    assert (error.attempts, error.message) == (2, "still bad")
    sync_errors_resolve(object_name="Account", sfdc_ids=["001A"])
    assert SyncError.objects.get().resolved_at is not None
    sync_errors_record(object_name="Account", errors={"001A": "bad again"}, run_id=None)
    error = SyncError.objects.get()
    assert error.resolved_at is None and error.attempts == 1


def test_a_record_that_stays_broken_is_retried_less_often(db):
    for _ in range(7):
        sync_errors_record(object_name="Account", errors={"001A": "bad"}, run_id=None)
    error = SyncError.objects.get()
    assert error.attempts == 7
    assert error.next_try_at > error.last_seen_at


@pytest.mark.sandbox_seed("small")
def test_every_page_costs_the_same_number_of_queries(sandbox, monkeypatch):
    cycle(objects=["User", "Account"])
    sandbox.control.set_page_size(100)
    per_page: list[int] = []
    apply_page = ObjectSync.apply_page

    def counted(self, records, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            outcome = apply_page(self, records, **kwargs)
        per_page.append(len(queries))
        return outcome

    monkeypatch.setattr(ObjectSync, "apply_page", counted)
    cycle(objects=["Contact"])
    assert len(per_page) >= 5  # 500+ contacts
    assert len(set(per_page)) == 1, per_page
    assert per_page[0] < 15


def test_users_are_owners(sandbox):
    cycle()
    owners = Counter(Account.objects.values_list("owner__sfdc_id", flat=True))
    assert None not in owners
    assert set(owners) <= set(SalesforceUser.objects.values_list("sfdc_id", flat=True))


def test_a_contact_waiting_for_its_account_stays_quarantined_and_backs_off(sandbox):
    cycle()
    control = sandbox.control
    hidden = control.create("Account", {"Name": "Hidden Ltd"})
    contact_id = control.create("Contact", {"LastName": "Orphan", "AccountId": hidden})
    for attempt in (1, 2, 3):
        cycle(objects=["Contact"])
        error = SyncError.objects.get(object_name="Contact", sfdc_id=contact_id)
        assert (error.attempts, error.resolved_at) == (attempt, None)
    cycle()  # the account arrives and the contact's retry finds it linked
    error.refresh_from_db()
    assert error.resolved_at is not None
    assert Contact.objects.get(sfdc_id=contact_id).account.sfdc_id == hidden


def test_a_full_sync_leaves_alone_rows_written_beside_it(sandbox):
    cycle()
    control = sandbox.control
    run = SyncRun.objects.create(object_name="Account", mode="full", started_at=timezone.now())
    sync = ObjectSync(SalesforceClient.from_settings(), "Account", run, track_seen=True)
    seen, written_beside = Account.objects.order_by("sfdc_id")[:2]
    sync.remember_seen([{"Id": seen.sfdc_id}])
    new_id = control.create("Account", {"Name": "Converted While Syncing"})
    sync_object(SalesforceClient.from_settings(), "Account", "records", sfdc_ids=[new_id])
    Account.objects.filter(pk=written_beside.pk).update(synced_at=timezone.now())
    mark_missing_as_deleted(sync)
    deleted = set(Account.objects.filter(is_deleted=True).values_list("sfdc_id", flat=True))
    assert seen.sfdc_id not in deleted and written_beside.sfdc_id not in deleted
    assert new_id not in deleted
    assert len(deleted) == Account.objects.count() - 3  # the rest were not seen by this run


def test_a_field_removed_in_salesforce_does_not_block_retries_of_quarantined_records(sandbox):
    cycle()
    account = Account.objects.first()
    state = SyncState.objects.get(object_name="Account")
    state.describe["fields"].append("Retired__c")
    state.save()
    sync_errors_record(object_name="Account", errors={account.sfdc_id: "bad"}, run_id=None)
    run = cycle(objects=["Account"])
    assert run.status == SyncRun.Status.SUCCESS
    assert SyncError.objects.get(sfdc_id=account.sfdc_id).resolved_at is not None
    assert "Retired__c" not in SyncState.objects.get(object_name="Account").describe["fields"]


def test_bulk_csv_values_with_quotes_commas_and_newlines_arrive_intact(sandbox, settings):
    settings.SYNC_BULK_THRESHOLD = 10
    settings.SYNC_BULK_MAX_RECORDS = 7
    settings.SYNC_BULK_POLL_SECONDS = 0.01
    cycle()
    contact = Contact.objects.filter(sfdc_type="contact").order_by("sfdc_id")[3]
    awkward = 'Head of "R&D", EMEA\nSecond line\r\nThird, with a trailing quote"'
    sandbox.control.update("Contact", contact.sfdc_id, {"Title": awkward})
    run = cycle(full=True)
    assert sandbox.control.request_counts().get("bulk2", 0) > 0
    contact.refresh_from_db()
    assert contact.title == awkward and run.updated >= 1


def test_page_commits_skip_the_disk_flush_and_nothing_else_does(sandbox, monkeypatch):
    from marketo_sync.sync import writers

    seen: list[str] = []
    write = writers.RecordWriter.write

    def observed(self, rows, outcome):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return write(self, rows, outcome)

    monkeypatch.setattr(writers.RecordWriter, "write", observed)
    cycle(objects=["User", "Account"])
    assert seen and set(seen) == {"off"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # SET LOCAL: only inside each page's transaction
