"""Bulk jobs started ahead: a full cycle's large objects are prepared by Salesforce while the
objects before them are read, and nothing is lost or miscounted when the cycle stops first."""

import threading
import time

import pytest

from accounts.models import Contact
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync import ahead, bulk
from marketo_sync.sync.cycle import sync_cycle, sync_object
from marketo_sync.sync.models import SyncRun
from marketo_sync.sync.runs import SyncStopped
from tests.fixtures.sync import cycle

pytestmark = pytest.mark.django_db(transaction=True)

NOT_API_CALLS = {"token", "versions", "cometd", "control"}


@pytest.fixture
def contacts_by_bulk(sandbox, settings):
    """The tiny org's contacts (31) are read through Bulk, the other objects through REST."""
    settings.SYNC_BULK_THRESHOLD = 10
    settings.SYNC_BULK_MAX_RECORDS = 7
    settings.SYNC_BULK_POLL_SECONDS = 0.01
    return sandbox


def contact_jobs(sandbox_server) -> list:
    return [job for job in list(sandbox_server.app.jobs.values()) if job.object_name == "Contact"]


def wait_for_contact_job(sandbox_server, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if contact_jobs(sandbox_server):
            return True
        time.sleep(0.01)
    return False


def api_calls_seen(control) -> int:
    return sum(n for kind, n in control.request_counts().items() if kind not in NOT_API_CALLS)


def test_the_contact_job_is_prepared_while_accounts_are_read_and_then_used(
    contacts_by_bulk, sandbox_server, monkeypatch
):
    seen_during_accounts: list[bool] = []
    downloads: list[tuple[str, str]] = []
    download = bulk.job_results

    def recorded(client, object_name, job_id, locator, max_records):
        downloads.append((threading.current_thread().name, locator))
        return download(client, object_name, job_id, locator, max_records)

    monkeypatch.setattr(ahead, "job_results", recorded)
    monkeypatch.setattr(bulk, "job_results", recorded)

    def progress(object_name: str, done: int, total: int | None) -> None:
        if object_name == "Account" and not seen_during_accounts:
            seen_during_accounts.append(wait_for_contact_job(sandbox_server))

    control = contacts_by_bulk.control
    control.reset_counts()
    run = sync_cycle(full=True, progress=progress)
    assert run is not None and run.status == SyncRun.Status.SUCCESS, run and run.error
    assert seen_during_accounts == [True]
    assert downloads[0] == ("bulk-ahead", "")  # the first results came with the job
    result_pages = -(-control.count("Contact", include_deleted=True) // 7)  # 7 a page
    assert len(downloads) == result_pages
    assert "" not in [locator for _, locator in downloads[1:]]  # none downloaded twice
    (job,) = contact_jobs(sandbox_server)  # the run used the job started ahead
    assert job.state == "JobComplete"
    assert Contact.objects.filter(sfdc_type="contact").count() == control.count("Contact")
    contact_run = SyncRun.objects.get(object_name="Contact")
    assert contact_run.backlog == contact_run.fetched == control.count(
        "Contact", include_deleted=True
    )
    run.refresh_from_db()
    assert run.api_calls == api_calls_seen(control)  # the calls made ahead are counted too
    again = cycle(full=True)
    assert again.created == again.updated == again.deleted == 0


def test_a_job_no_run_takes_is_aborted_and_its_calls_are_the_cycles(
    contacts_by_bulk, sandbox_server
):
    def progress(object_name: str, done: int, total: int | None) -> None:
        if object_name == "Account":
            assert wait_for_contact_job(sandbox_server)
            raise SyncStopped("stopped before the contacts")

    control = contacts_by_bulk.control
    control.reset_counts()
    run = sync_cycle(full=True, progress=progress)
    assert run is not None and run.status == SyncRun.Status.FAILED
    (job,) = contact_jobs(sandbox_server)
    assert job.state == "Aborted"
    assert not SyncRun.objects.filter(object_name="Contact").exists()
    assert run.api_calls == api_calls_seen(control)


def test_a_row_written_after_the_job_was_started_is_not_taken_for_deleted(
    contacts_by_bulk, sandbox_server
):
    """The job's extract is older than the contacts' run: a contact created and re-synced in
    between is not in it, and is newer than the read, not purged."""
    cycle()
    control = contacts_by_bulk.control
    known = control.get("Contact", Contact.objects.exclude(sfdc_id=None)[0].sfdc_id)
    created: list[str] = []

    def progress(object_name: str, done: int, total: int | None) -> None:
        if object_name == "Account" and not created:
            assert wait_for_contact_job(sandbox_server)
            created.append(control.create("Contact", {
                "LastName": "Late", "AccountId": known["AccountId"],
            }))
            resync = sync_object(SalesforceClient.from_settings(), "Contact",
                                 SyncRun.Mode.RECORDS, sfdc_ids=created)
            assert resync.status == SyncRun.Status.SUCCESS and resync.created == 1

    run = sync_cycle(full=True, progress=progress)
    assert run is not None and run.status == SyncRun.Status.SUCCESS, run.error
    late = Contact.objects.get(sfdc_id=created[0])
    assert not late.is_deleted


@pytest.mark.parametrize(("failing", "contact_job_states"), [
    pytest.param(r"/jobs/query$", ["JobComplete"], id="creating the job"),
    pytest.param(r"/jobs/query/750", ["Aborted", "JobComplete"], id="waiting for the job"),
])
def test_a_job_that_failed_ahead_is_read_in_its_turn_and_aborted_if_created(
    contacts_by_bulk, sandbox_server, settings, caplog, failing, contact_job_states
):
    settings.SALESFORCE_RETRY_ATTEMPTS = 2
    settings.SALESFORCE_RETRY_BASE_SECONDS = 0
    contacts_by_bulk.control.inject_fault("unavailable", count=2, path=failing)
    cycle(full=True)
    assert "the Bulk job started ahead failed" in caplog.text
    # the job started ahead (aborted, when it was created), then the contacts' run's own
    jobs = sorted(contact_jobs(sandbox_server), key=lambda job: job.id)
    assert [job.state for job in jobs] == contact_job_states
    assert Contact.objects.filter(sfdc_type="contact").count() == \
        contacts_by_bulk.control.count("Contact")
