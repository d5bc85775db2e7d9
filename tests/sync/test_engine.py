"""The pull sync against the sandbox, real PostgreSQL and (where the queue matters) real RQ."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.salesforce_fields import parse_datetime
from accounts.services import contact_apply_local_edit
from activities.models import Activity
from marketo_sync.db import column_has_statistics
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.ids import normalize_sfdc_id, sfdc_id_18
from marketo_sync.sandbox.schema import ACCOUNT_TYPES, INDUSTRIES
from marketo_sync.sync import cycle as cycle_module
from marketo_sync.sync import engine as engine_module
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.engine import SEEN_TABLE, ObjectSync, mark_absent_as_deleted
from marketo_sync.sync.models import SyncError, SyncRun, SyncState
from marketo_sync.sync.selectors import picklist_values, salesforce_field_labels
from tests.fixtures.sandbox import sandbox_login
from tests.fixtures.sync import cycle
from tests.helpers.soap import soap_convert_lead

pytestmark = pytest.mark.django_db(transaction=True)




def test_full_sync_mirrors_the_org(sandbox):
    run = cycle()
    assert run.mode == "full"  # the first cycle reads every object in full
    assert cycle().mode == "incremental"
    control = sandbox.control
    assert Account.objects.filter(is_deleted=False).count() == control.count("Account")
    assert Contact.objects.filter(sfdc_type="contact").count() == control.count("Contact")
    assert Contact.objects.filter(sfdc_type="lead").count() == control.count("Lead") - 1
    assert Opportunity.objects.count() == control.count("Opportunity")
    assert SalesforceUser.objects.count() == control.count("User")
    assert run.created == sum(
        control.count(o) for o in ("User", "Account", "Contact", "Lead", "Opportunity")
    ) - 1  # the converted lead and its contact are one person
    account = Account.objects.order_by("sfdc_id").first()
    remote = control.get("Account", account.sfdc_id)
    assert account.name == remote["Name"]
    assert account.industry == (remote["Industry"] or "")
    assert account.billing_city == (remote["BillingCity"] or "")
    assert account.owner.sfdc_id == remote["OwnerId"]
    assert account.custom_fields["Region__c"] == remote["Region__c"]
    assert account.custom_fields["AnnualRevenueBand__c"] == remote["AnnualRevenueBand__c"]
    assert account.sfdc_values["Industry"] == remote["Industry"]
    contact = Contact.objects.filter(sfdc_type="contact").exclude(account=None).first()
    assert contact.account.sfdc_id == control.get("Contact", contact.sfdc_id)["AccountId"]
    assert Activity.objects.count() == 0  # new accounts log nothing


def test_a_leads_company_fields_are_synced_into_the_persons_columns(sandbox):
    cycle()
    lead = Contact.objects.filter(sfdc_type="lead").order_by("sfdc_lead_id").first()
    remote = sandbox.control.get("Lead", lead.sfdc_lead_id)
    assert (lead.company, lead.industry, lead.number_of_employees, lead.annual_revenue,
            lead.city, lead.state, lead.country) == (
        remote["Company"], remote["Industry"], remote["NumberOfEmployees"],
        remote["AnnualRevenue"], remote["City"], remote["State"] or "", remote["Country"])
    assert "Industry" not in lead.custom_fields
    sandbox.control.update(
        "Lead", lead.sfdc_lead_id, {"NumberOfEmployees": 1200, "Country": "India"}
    )
    cycle()
    lead.refresh_from_db()
    assert (lead.number_of_employees, lead.country) == (1200, "India")


def test_a_persons_created_date_comes_from_its_salesforce_record(sandbox):
    cycle()
    for person, object_name, sfdc_id in (
        (lead := Contact.objects.filter(sfdc_type="lead").first(), "Lead", lead.sfdc_lead_id),
        (contact := Contact.objects.filter(sfdc_type="contact").first(), "Contact",
         contact.sfdc_id),
    ):
        created = sandbox.control.get(object_name, sfdc_id)["CreatedDate"]
        assert person.sfdc_created_at == parse_datetime(created)
        assert "CreatedDate" not in person.custom_fields


def people_as_before_created_dates_were_synced(admin_user) -> Contact:
    """The state of an installation synced before `sfdc_created_at` and the leads' company
    columns existed: those columns empty, the objects' last full reads recorded without them;
    and one person edited locally."""
    Contact.objects.update(sfdc_created_at=None)
    Contact.objects.filter(sfdc_type="lead").update(
        industry="", number_of_employees=None, annual_revenue=None, city="", state="", country=""
    )
    SyncState.objects.filter(object_name="Contact").update(
        filled_fields=["Email", "FirstName", "LastName", "Phone", "Title"]
    )
    SyncState.objects.filter(object_name="Lead").update(
        filled_fields=["Company", "Email", "FirstName", "LastName", "Phone", "Status", "Title"]
    )
    edited = Contact.objects.filter(sfdc_type="contact").first()
    contact_apply_local_edit(contact=edited, changes={"title": "Local title"}, user=admin_user)
    return edited


def test_fields_mapped_since_the_last_full_read_are_filled_by_the_next_cycle(sandbox,
                                                                             admin_user):
    cycle()
    converted = Contact.objects.filter(sfdc_type="contact").exclude(sfdc_lead_id=None).get()
    edited = people_as_before_created_dates_were_synced(admin_user)
    run = cycle()
    runs = {r.object_name: r for r in SyncRun.objects.filter(started_at__gte=run.started_at)}
    for object_name in ("Contact", "Lead"):
        assert runs[object_name].mode == "full"
        assert "CreatedDate" in runs[object_name].note
        assert runs[object_name].updated == 0  # no record changed in Salesforce
        assert "CreatedDate" in SyncState.objects.get(object_name=object_name).filled_fields
    assert runs["Account"].mode == "incremental" and runs["Account"].note == ""
    assert not Contact.objects.filter(sfdc_created_at=None).exists()
    lead = Contact.objects.filter(sfdc_type="lead").order_by("sfdc_lead_id").first()
    remote = sandbox.control.get("Lead", lead.sfdc_lead_id)
    assert (lead.industry, lead.number_of_employees, lead.annual_revenue, lead.country) == (
        remote["Industry"], remote["NumberOfEmployees"], remote["AnnualRevenue"],
        remote["Country"])
    edited.refresh_from_db()
    assert edited.title == "Local title" and edited.locally_edited_at is not None
    assert edited.sfdc_created_at == parse_datetime(
        sandbox.control.get("Contact", edited.sfdc_id)["CreatedDate"])
    converted.refresh_from_db()  # the contact side rules a converted lead's person
    contact_created = sandbox.control.get("Contact", converted.sfdc_id)["CreatedDate"]
    assert contact_created != sandbox.control.get("Lead", converted.sfdc_lead_id)["CreatedDate"]
    assert converted.sfdc_created_at == parse_datetime(contact_created)
    assert {r.mode for r in SyncRun.objects.filter(started_at__gte=cycle().started_at)} == {
        "incremental"}


def test_sync_is_idempotent(sandbox):
    cycle()
    counts = (Account.objects.count(), Contact.objects.count(), Activity.objects.count())
    second = cycle()
    assert second.created == second.updated == 0
    assert (Account.objects.count(), Contact.objects.count(), Activity.objects.count()) == counts
    assert second.api_calls <= 5 + 0  # one incremental query per object


def test_incremental_picks_up_updates_creates_and_deletes(sandbox):
    cycle()
    control = sandbox.control
    account = Account.objects.exclude(contacts=None).first()
    contacts = account.contacts.filter(is_deleted=False).count()
    control.update("Account", account.sfdc_id, {"Industry": "Banking", "Tier__c": 7})
    new_id = control.create("Account", {"Name": "Fresh Fields Ltd"})
    doomed = Opportunity.objects.first()
    control.delete("Opportunity", doomed.sfdc_id)
    run = cycle()
    account.refresh_from_db()
    assert account.industry == "Banking"
    assert account.custom_fields["Tier__c"] == 7
    assert Account.objects.get(sfdc_id=new_id).name == "Fresh Fields Ltd"
    doomed.refresh_from_db()
    assert doomed.is_deleted
    changes = Activity.objects.filter(contact__account=account)
    attributes = set(changes.values_list("attribute", flat=True))
    assert {"Industry", "Tier__c"} <= attributes
    assert changes.filter(attribute="Industry").count() == contacts
    assert changes.filter(attribute="Industry", new_value="Banking", source="sfdc_sync").count()
    assert run.activities_logged == changes.count()


def test_salesforce_update_overwrites_local_edits_and_clears_the_mark(sandbox, admin_user):
    cycle()
    account = Account.objects.exclude(contacts=None).first()
    Account.objects.filter(pk=account.pk).update(
        phone="+1 000", locally_edited_at="2026-01-01T00:00:00Z", locally_edited_by=admin_user
    )
    sandbox.control.update("Account", account.sfdc_id, {"Website": "https://new.example.com"})
    run = cycle()
    account.refresh_from_db()
    assert account.phone == sandbox.control.get("Account", account.sfdc_id)["Phone"]
    assert account.website == "https://new.example.com"
    assert account.locally_edited_at is None and account.locally_edited_by is None
    assert run.local_edits_overwritten == 1
    phone_activity = Activity.objects.filter(contact__account=account, attribute="Phone").first()
    assert phone_activity.old_value == "+1 000"


def test_rereads_of_unchanged_records_leave_local_edits_alone(sandbox, admin_user):
    cycle()
    account = Account.objects.first()
    Account.objects.filter(pk=account.pk).update(phone="+1 000", locally_edited_by=admin_user)
    cycle(full=True)
    account.refresh_from_db()
    assert account.phone == "+1 000"


def test_converted_lead_stays_one_person(sandbox):
    cycle()
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).first()
    before = Contact.objects.count()
    response = soap_convert_lead(sandbox_login(sandbox), lead.sfdc_lead_id)
    assert "<success>true</success>" in response.text
    cycle()
    lead.refresh_from_db()
    assert lead.sfdc_type == "contact"
    assert lead.sfdc_id and lead.sfdc_id.startswith("003")
    assert lead.account is not None
    assert Contact.objects.count() == before
    cycle()
    assert Contact.objects.count() == before


def test_merge_moves_contacts_and_activities(sandbox):
    cycle()
    control = sandbox.control
    first, second = Contact.objects.filter(sfdc_type="contact")[:2]
    Activity.objects.create(
        contact=second, activity_type="change_data_value", source="sfdc_sync",
        created_at="2026-01-01T00:00:00Z",
    )
    control.merge("Contact", first.sfdc_id, [second.sfdc_id])
    cycle()
    second.refresh_from_db()
    assert second.is_deleted and second.master_record_sfdc_id == first.sfdc_id
    assert Activity.objects.filter(contact=first).count() == 1


@pytest.mark.sandbox_seed("small")
def test_hard_deleted_records_are_marked_deleted_by_a_full_sync(sandbox):
    cycle()
    account = Account.objects.first()
    sandbox.control.purge("Account", account.sfdc_id)
    run = cycle(full=True)
    account.refresh_from_db()
    assert account.is_deleted
    assert run.deleted >= 1


@pytest.mark.sandbox_seed("small")
def test_a_full_sync_notes_only_the_ids_it_did_not_write(sandbox, monkeypatch):
    """Rows the read wrote carry its stamp; only the others' ids go to the seen-ids table."""
    cycle()
    changed, purged, unchanged = Account.objects.order_by("sfdc_id")[:3]
    sandbox.control.update("Account", changed.sfdc_id, {"Name": "Renamed Ltd"})
    sandbox.control.purge("Account", purged.sfdc_id)
    noted: dict[str, set[str]] = {}
    def noting(mapping, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT sfdc_id FROM {SEEN_TABLE} WHERE run_id = %s", [kwargs["run_id"]]  # noqa: S608
            )
            noted[mapping.object_name] = {sfdc_id for (sfdc_id,) in cursor.fetchall()}
        return mark_absent_as_deleted(mapping, **kwargs)

    monkeypatch.setattr(cycle_module, "mark_absent_as_deleted", noting)
    cycle(full=True, objects=["Account"])
    assert changed.sfdc_id not in noted["Account"] and unchanged.sfdc_id in noted["Account"]
    assert set(Account.objects.filter(is_deleted=True).values_list("sfdc_id", flat=True)) == {
        purged.sfdc_id
    }
    assert Account.objects.get(pk=changed.pk).name == "Renamed Ltd"


def manually_analyzed_at(table: str):
    """When an ANALYZE statement (not autovacuum) last sampled the table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_a_first_sync_samples_the_salesforce_id_for_the_planner(sandbox, monkeypatch):
    """A new install's tables have no statistics: the read samples the key column once it has
    created enough rows, instead of scanning the growing table for each page's stored rows."""
    with connection.cursor() as cursor:  # as on a new install (the tests connect as superuser)
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'accounts_contact'::regclass")
    assert not column_has_statistics(Contact, "sfdc_id")
    before = manually_analyzed_at("accounts_contact")
    monkeypatch.setattr(engine_module, "KEY_STATISTICS_AFTER_ROWS", 2)
    cycle()
    assert column_has_statistics(Contact, "sfdc_id")
    assert manually_analyzed_at("accounts_contact") not in (None, before)


def test_a_sync_leaves_sampled_tables_to_autovacuum(sandbox, monkeypatch):
    cycle()
    Contact.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_contact (sfdc_id)")
    before = manually_analyzed_at("accounts_contact")
    monkeypatch.setattr(engine_module, "KEY_STATISTICS_AFTER_ROWS", 2)
    cycle(full=True, objects=["Contact"])
    assert Contact.objects.exists()
    assert manually_analyzed_at("accounts_contact") == before


@pytest.mark.faults
def test_malformed_record_is_quarantined_and_the_rest_syncs(sandbox):
    sandbox.control.inject_fault(
        "malformed_record", path="/query", field="Name", value="bad\x00name", index=0
    )
    run = sync_cycle()
    run.refresh_from_db()
    assert run.errors == 1
    error = SyncError.objects.get()
    assert "NUL" in error.message
    assert Account.objects.count() == sandbox.control.count("Account")
    assert SalesforceUser.objects.count() + 1 == sandbox.control.count("User")
    cycle()  # the next cycle retries the record by id; now it is fine
    error.refresh_from_db()
    assert error.resolved_at is not None


def test_unknown_account_is_stored_without_it_and_recorded(sandbox):
    cycle()
    control = sandbox.control
    hidden = control.create("Account", {"Name": "Hidden Ltd"})
    contact_id = control.create("Contact", {"LastName": "Orphan", "AccountId": hidden})
    cycle(objects=["Contact"])
    orphan = Contact.objects.get(sfdc_id=contact_id)
    assert orphan.account is None and orphan.account_sfdc_id == hidden
    assert SyncError.objects.filter(sfdc_id=contact_id, message__contains=hidden).exists()
    cycle()
    assert Contact.objects.get(sfdc_id=contact_id).account.sfdc_id == hidden


@pytest.mark.faults
def test_expired_session_mid_run_and_503s_are_survived(sandbox):
    sandbox.control.set_page_size(10)
    sandbox.control.inject_fault("expired_session", count=1, path="/query/01g")
    sandbox.control.inject_fault("unavailable", count=2, path="/query")
    cycle()
    assert Contact.objects.filter(sfdc_type="contact").count() == sandbox.control.count("Contact")


@pytest.mark.faults
@pytest.mark.parametrize(
    ("kind", "options"),
    [("lock_row", {}), ("latency", {"seconds": 1.5}), ("drop_connection", {})],
    ids=["UNABLE_TO_LOCK_ROW", "slower-than-the-read-timeout", "connection-dropped-mid-page"],
)
def test_transient_faults_mid_page_are_retried_and_the_copy_equals_the_org(
    sandbox, settings, kind, options
):
    settings.SALESFORCE_READ_TIMEOUT = 0.5
    cycle()
    for contact in Contact.objects.filter(sfdc_type="contact").order_by("sfdc_id")[:12]:
        sandbox.control.update("Contact", contact.sfdc_id, {"Title": f"Changed {contact.pk}"})
    sandbox.control.set_page_size(5)
    sandbox.control.inject_fault(kind, count=2, path="/query/01g", **options)
    run = cycle()
    assert sandbox.control.request_counts()["query_more"] >= 4  # the faults hit page fetches
    assert run.updated >= 12
    changed = Contact.objects.filter(title__startswith="Changed ")
    assert changed.count() == 12
    assert all(c.title == f"Changed {c.pk}" for c in changed)


@pytest.mark.faults
def test_request_limit_pauses_and_the_next_cycle_completes(sandbox):
    cycle()
    sandbox.control.create("Account", {"Name": "After The Pause"})
    sandbox.control.inject_fault("request_limit", count=1, path="/query")
    paused = sync_cycle()
    paused.refresh_from_db()
    assert paused.status == SyncRun.Status.PAUSED
    assert "API limit" in paused.error
    assert SyncRun.objects.filter(status="paused", object_name="User").exists()
    cycle()
    assert Account.objects.filter(name="After The Pause").exists()


def test_watermark_is_stored_per_object(sandbox):
    cycle()
    state = SyncState.objects.get(object_name="Account")
    latest = Account.objects.order_by("-sfdc_last_modified").first()
    assert state.modstamp == latest.sfdc_last_modified
    assert state.last_id == latest.sfdc_id
    assert state.last_full_at is not None


def test_the_describe_keeps_each_picklists_active_values_for_the_admin(sandbox):
    cycle()
    picklists = picklist_values(object_name="Account")
    assert picklists["Industry"] == list(INDUSTRIES)
    assert picklists["Type"] == list(ACCOUNT_TYPES)
    assert "Name" not in picklists
    assert salesforce_field_labels(object_name="Account")["Tier__c"] == "Tier"


def test_a_records_own_id_leaves_the_cache_to_the_ids_met_again(sandbox):
    """Each record's id is read once; its account's id comes back with its other contacts.
    Caching the first would push the second out of the bounded cache page after page."""
    account_id = normalize_sfdc_id("001B00000000001")
    records = [
        {"Id": sfdc_id_18(f"003B{number:011d}"), "SystemModstamp": "2026-11-24T21:19:53.000+0000",
         "LastName": f"Person {number}", "AccountId": account_id}
        for number in range(50)
    ]
    run = SyncRun.objects.create(object_name="Contact", mode="full", started_at=timezone.now())
    sync = ObjectSync(SalesforceClient.from_settings(), "Contact", run)
    normalize_sfdc_id.cache_clear()
    page = sync.prepare(records)
    assert not page.bad and all(row.line for row in page.rows)
    assert normalize_sfdc_id.cache_info().currsize == 1  # the account's id alone
