"""A worker killed at a fixed point of an incremental sync with account updates: the next run
leaves exactly the rows and activities an uninterrupted run would have."""

import signal
import time

import django_rq
import pytest
from rq.job import JobStatus

from accounts.models import Account, Contact
from activities.models import AccountHistory, Activity
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.models import SyncRun
from marketo_sync.sync.services import sync_enqueue_cycle
from tests.fixtures.workers import run_manage, run_worker
from tests.helpers.sandbox_changes import update_accounts

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]



@pytest.mark.parametrize(
    "point", ["after_upsert_before_commit:2", "after_commit:1", "page_fetched:3"]
)
def test_killed_during_an_incremental_sync_with_updates_logs_each_activity_once(sandbox, point):
    assert sync_cycle().status == SyncRun.Status.SUCCESS
    control = sandbox.control
    expected = update_accounts(control)
    control.set_page_size(1)
    crashed = run_manage(
        "sync_sfdc", "--object", "Account", SYNC_CRASHPOINTS=point, SYNC_LOCK_TTL_SECONDS="1"
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    time.sleep(1.2)  # the dead worker's lock expires
    resumed = run_manage("sync_sfdc")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert Activity.objects.count() == expected
    assert Activity.objects.values("contact", "attribute").distinct().count() == expected
    # the history rows share the page transaction: one per account and field, never twice
    changed_accounts = Account.objects.exclude(contacts=None).distinct().count()
    assert AccountHistory.objects.count() == 2 * changed_accounts
    assert AccountHistory.objects.values("account", "attribute").distinct().count() == (
        2 * changed_accounts
    )
    assert Account.objects.count() == control.count("Account", include_deleted=True)
    assert set(Account.objects.values_list("industry", flat=True).exclude(contacts=None)) == {
        f"Crash Test {n}" for n in range(Account.objects.exclude(contacts=None).distinct().count())
    }
    assert SyncRun.objects.filter(status="failed", error__contains="stopped").exists()


def test_a_worker_process_killed_mid_cycle_is_followed_by_one_that_converges(sandbox):
    control = sandbox.control
    control.set_page_size(5)
    job_id = sync_enqueue_cycle()
    crashed = run_worker(SYNC_CRASHPOINTS="after_upsert_before_commit:4", SYNC_LOCK_TTL_SECONDS="1")
    assert crashed.returncode == 0, crashed.stderr  # RQ notices its work horse died
    assert django_rq.get_queue("sync").fetch_job(job_id).get_status() == JobStatus.FAILED
    assert SyncRun.objects.filter(object_name="", status="running").exists()
    time.sleep(1.2)
    assert sync_enqueue_cycle() is not None  # the dead job does not block the schedule
    finished = run_worker()
    assert finished.returncode == 0, finished.stderr
    assert SyncRun.objects.filter(object_name="", status="success").exists()
    assert SyncRun.objects.filter(object_name="", status="failed").exists()
    assert Contact.objects.filter(sfdc_type="contact").count() == control.count("Contact")
