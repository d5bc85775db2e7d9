"""The RQ path, crashes at fixed points, the 5,000-contact rule at the real limit."""

import logging
import signal
import threading
import time
from datetime import timedelta

import django_rq
import pytest
from django.conf import settings
from django.utils import timezone
from rq.job import JobStatus

from accounts.models import Account, Contact
from activities.models import AccountHistory, Activity
from marketo_sync.sync.cycle import cycle_summary, sync_cycle
from marketo_sync.sync.jobs import run_sync_cycle
from marketo_sync.sync.models import SyncRun
from marketo_sync.sync.selectors import accounts_skipped_by_activity_limit
from marketo_sync.sync.services import (
    CYCLE_JOB_ID,
    cycle_pending,
    sync_cycle_due,
    sync_enqueue_cycle,
    sync_set_paused,
)
from tests.fixtures.workers import run_manage

pytestmark = pytest.mark.django_db(transaction=True)



def test_cycle_runs_on_a_real_rq_worker(sandbox, burst_worker):
    job_id = sync_enqueue_cycle()
    assert job_id is not None
    assert sync_enqueue_cycle() is None  # one queued cycle at a time
    burst_worker()
    cycle = SyncRun.objects.get(object_name="")
    assert cycle.status == SyncRun.Status.SUCCESS, cycle.error
    assert cycle.job_id == job_id
    assert Account.objects.count() == sandbox.control.count("Account")


def test_schedule_starts_a_cycle_only_after_the_interval_since_the_last_end(sandbox, settings):
    assert sync_cycle_due()  # never ran
    assert sync_cycle() is not None
    settings.SYNC_INTERVAL_SECONDS = 300
    assert not sync_cycle_due()
    settings.SYNC_INTERVAL_SECONDS = 0
    assert sync_cycle_due()


@pytest.mark.faults
def test_two_cycles_started_at_once_run_exactly_one(sandbox):
    sandbox.control.inject_fault("latency", count=1, path="/query", seconds=1.5)
    results = []

    def start() -> None:
        from django.db import connection

        results.append(sync_cycle())
        connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r is None for r in results) == [False, True]
    assert SyncRun.objects.filter(object_name="").count() == 1


CRASH_POINTS = [
    "after_upsert_before_commit:2",
    "after_upsert_before_commit:9",
    "after_commit:3",
    "page_fetched:4",
    "between_objects:2",
]


@pytest.mark.faults
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_worker_killed_mid_sync_loses_nothing(sandbox, point):
    sandbox.control.set_page_size(7)
    crashed = run_manage("sync_sfdc", SYNC_CRASHPOINTS=point, SYNC_LOCK_TTL_SECONDS="1")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    time.sleep(1.2)  # the dead worker's lock expires
    resumed = run_manage("sync_sfdc")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    control = sandbox.control
    assert Account.objects.count() == control.count("Account")
    assert Contact.objects.filter(sfdc_type="contact").count() == control.count("Contact")
    assert Contact.objects.count() == control.count("Contact") + control.count("Lead") - 1
    assert SyncRun.objects.filter(status="failed", error__contains="stopped").exists()
    assert Activity.objects.count() == 0


@pytest.mark.slow
@pytest.mark.parametrize(("contacts", "logs"), [(5000, True), (5001, False)])
def test_activity_limit_at_the_real_5000(sandbox, contacts, logs):
    assert settings.ACTIVITY_CONTACT_LIMIT == 5000
    control = sandbox.control
    account_id = control.create("Account", {"Name": "Big Co", "Industry": "Retail"})
    control.bulk_create(
        "Contact",
        [{"LastName": f"Person {i}", "AccountId": account_id} for i in range(contacts)],
    )
    assert sync_cycle().status == SyncRun.Status.SUCCESS
    control.update("Account", account_id, {"Industry": "Banking", "Phone": "+1 555", "Tier__c": 2})
    run = sync_cycle()
    run.refresh_from_db()
    account = Account.objects.get(sfdc_id=account_id)
    assert account.industry == "Banking"  # the data syncs either way
    logged = Activity.objects.filter(contact__account=account).count()
    # the account's own history records the change at any size, once per field
    history = AccountHistory.objects.filter(
        account=account, sync_run__started_at__gte=run.started_at
    )
    assert sorted(history.values_list("attribute", "old_value", "new_value")) == [
        ("Industry", "Retail", "Banking"), ("Phone", "", "+1 555"), ("Tier__c", "", "2.0"),
    ]
    skipped = list(accounts_skipped_by_activity_limit(run=run))
    if logs:
        assert logged == 5000 * 3
        assert run.accounts_skipped_activity_limit == 0
        assert skipped == []
    else:
        assert logged == 0
        assert run.accounts_skipped_activity_limit == 1
        assert skipped == [account]
        assert all(history.values_list("activities_skipped", flat=True))


def test_a_started_job_of_a_dead_worker_does_not_block_the_schedule(sandbox, settings):
    settings.SYNC_INTERVAL_SECONDS = 0
    job = django_rq.get_queue("sync").enqueue("marketo_sync.sync.jobs.tick", job_id=CYCLE_JOB_ID)
    job.set_status(JobStatus.STARTED)
    job.heartbeat(timezone.now(), ttl=60)
    assert cycle_pending()
    job.heartbeat(timezone.now() - timedelta(minutes=10), ttl=60)
    assert not cycle_pending()
    assert sync_enqueue_cycle() is not None


def cycle_log_records(caplog) -> list:
    return [record for record in caplog.records if record.message.startswith("sync ")]


def test_the_worker_logs_each_cycles_summary_line(sandbox, caplog):
    caplog.set_level(logging.INFO)
    run_sync_cycle()
    [record] = cycle_log_records(caplog)
    cycle = SyncRun.objects.get(object_name="")
    assert record.levelno == logging.INFO
    assert record.message == cycle_summary(cycle)
    assert record.message.startswith("sync success: ") and "records quarantined" in record.message
    assert record.run_id == cycle.pk


def test_quarantined_records_make_the_summary_a_warning(sandbox, caplog):
    sandbox.control.inject_fault(
        "malformed_record", path="/query", field="Name", value="bad\x00name", index=0
    )
    caplog.set_level(logging.INFO)
    run_sync_cycle()
    [record] = cycle_log_records(caplog)
    assert record.levelno == logging.WARNING
    assert "1 records quarantined" in record.message


def test_a_failed_cycle_logs_its_summary_and_error_as_a_warning(sandbox, caplog):
    sandbox.control.inject_fault("unavailable", count=100, path="/query")
    caplog.set_level(logging.INFO)
    run_sync_cycle()
    [record] = cycle_log_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.message.startswith("sync failed: ")
    assert record.message.endswith(SyncRun.objects.get(object_name="").error)


def test_a_refused_cycle_job_logs_why(db, caplog):
    sync_set_paused(paused=True, by="ops")
    caplog.set_level(logging.INFO)
    assert run_sync_cycle() is None
    assert any(
        record.message.startswith("sync cycle not started: paused since ")
        and record.message.endswith(" by ops")
        for record in caplog.records
    )
