"""Cycle writes are fenced in PostgreSQL: a cycle whose lock passed to another cannot commit,
and the lock of a holder the database shows dead is broken at once instead of after its TTL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import django_rq
import psycopg2
import pytest
from django.db import connection

from accounts.models import Account
from activities.models import Activity
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import LOCK_KEY, cycle_lock, cycle_lock_held, sync_cycle
from marketo_sync.sync.fence import (
    FENCE_PK,
    fence_advance,
    holder_gone,
    process_started,
    this_process,
)
from marketo_sync.sync.maintenance import no_progress, reconcile_object
from marketo_sync.sync.models import CycleFence, SyncPartition, SyncRun, SyncState
from marketo_sync.sync.partitions import help_with_partitions
from marketo_sync.sync.runs import run_recorded, run_start
from marketo_sync.sync.services import sync_records
from tests.fixtures.workers import ROOT, child_environment, run_manage
from tests.helpers.sandbox_changes import update_accounts

FENCED = "fenced: another cycle took the sync lock"


@pytest.mark.django_db(transaction=True)
def test_a_page_of_a_superseded_cycle_does_not_commit_and_its_run_fails(sandbox):
    sandbox.control.set_page_size(2)

    def another_cycle_takes_the_lock(object_name: str, done: int, total: int | None) -> None:
        if done == 2:
            fence_advance("another-cycle")

    cycle = sync_cycle(objects=["Account"], progress=another_cycle_takes_the_lock)
    cycle.refresh_from_db()
    run = SyncRun.objects.get(object_name="Account")
    assert run.status == SyncRun.Status.FAILED and run.error.startswith(FENCED)
    assert cycle.status == SyncRun.Status.FAILED and FENCED in cycle.error
    assert run.fetched == 2 and Account.objects.count() == 2  # the second page rolled back
    assert sandbox.control.count("Account") > 2
    watermark = SyncState.objects.get(object_name="Account")
    assert (watermark.modstamp, watermark.last_id) == (run.watermark_modstamp, run.watermark_id)
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_of_a_superseded_cycle_cannot_end_as_a_success(synced):
    synced.control.set_page_size(1)

    def superseded_after_the_last_page(object_name: str, done: int, total: int | None) -> None:
        if done == total:
            fence_advance("another-cycle")

    cycle = sync_cycle(objects=["Account"], progress=superseded_after_the_last_page)
    cycle.refresh_from_db()
    assert cycle.status == SyncRun.Status.FAILED and FENCED in cycle.error
    assert SyncRun.objects.get(object_name="Account", mode="incremental").status == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_superseded_reconcile_marks_nothing_deleted(synced):
    purged = Account.objects.order_by("sfdc_id").first()
    synced.control.purge("Account", purged.sfdc_id)
    with cycle_lock() as lock:
        run = run_start(object_name="Account", mode=SyncRun.Mode.RECONCILE,
                        generation=lock.generation)
        fence_advance("another-cycle")
        with run_recorded(run) as recording:
            reconcile_object(
                recording.charge(SalesforceClient.from_settings()), "Account", run, no_progress
            )
    assert run.status == SyncRun.Status.FAILED and run.error.startswith(FENCED)
    purged.refresh_from_db()
    assert not purged.is_deleted
    assert SyncState.objects.get(object_name="Account").last_reconcile_at is None


@pytest.mark.django_db(transaction=True)
def test_a_partition_helper_of_a_superseded_cycle_writes_nothing(sandbox):
    with cycle_lock() as lock:
        run = run_start(object_name="Account", mode=SyncRun.Mode.FULL, generation=lock.generation)
        SyncPartition.objects.create(run=run)  # the whole id space
        fence_advance("another-cycle")
        assert help_with_partitions(run.pk) == 1
    partition = SyncPartition.objects.get()
    assert partition.status == SyncPartition.Status.FAILED and partition.error.startswith(FENCED)
    assert not Account.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_resync_of_selected_records_is_not_fenced(synced):
    account = Account.objects.order_by("sfdc_id").first()
    synced.control.update("Account", account.sfdc_id, {"Industry": "Fenced Not"})
    with cycle_lock() as lock:
        assert lock is not None
        run = sync_records(object_name="Account", sfdc_ids=[account.sfdc_id])
    assert run.status == SyncRun.Status.SUCCESS and run.generation is None
    account.refresh_from_db()
    assert account.industry == "Fenced Not"


def stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] == "T"


@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
def test_a_cycle_paused_past_its_lock_ttl_cannot_commit_after_a_newer_cycle(sandbox):
    assert sync_cycle().status == SyncRun.Status.SUCCESS
    control = sandbox.control
    expected = update_accounts(control)
    control.set_page_size(1)
    paused = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "sync_sfdc", "--object", "Account"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=child_environment(SYNC_CRASHPOINTS="page_fetched:3:SIGSTOP", SYNC_LOCK_TTL_SECONDS="1"),
    )
    try:
        deadline = time.monotonic() + 60
        while not stopped(paused.pid):
            assert paused.poll() is None and time.monotonic() < deadline, "never stopped"
            time.sleep(0.05)
        time.sleep(1.5)  # its lock expires: the thread that renews it is stopped too
        newer = sync_cycle()
        assert newer is not None and newer.status == SyncRun.Status.SUCCESS, newer
        watermark = SyncState.objects.values_list("modstamp", "last_id").get(object_name="Account")
    finally:
        os.kill(paused.pid, signal.SIGCONT)
    _, stderr = paused.communicate(timeout=120)
    assert paused.returncode == 1 and FENCED in stderr, stderr
    stale = SyncRun.objects.get(object_name="Account", status="failed")
    assert stale.error.startswith(FENCED)
    assert stale.fetched == 2  # pages 1 and 2; page 3 was refused
    assert SyncRun.objects.get(object_name="", status="failed").error.startswith(FENCED)
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
    assert SyncState.objects.values_list("modstamp", "last_id").get(
        object_name="Account"
    ) == watermark
    assert Activity.objects.count() == expected
    assert Activity.objects.values("contact", "attribute").distinct().count() == expected
    assert Account.objects.count() == control.count("Account", include_deleted=True)
    with_contacts = Account.objects.exclude(contacts=None).distinct()
    assert set(with_contacts.values_list("industry", flat=True)) == {
        f"Crash Test {n}" for n in range(with_contacts.count())
    }


@pytest.mark.faults
@pytest.mark.django_db(transaction=True)
def test_a_cycle_starts_at_once_after_the_lock_holder_was_killed(sandbox):
    crashed = run_manage("sync_sfdc", SYNC_CRASHPOINTS="after_commit:1")  # TTL: 120 s
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert django_rq.get_connection("sync").exists(LOCK_KEY)  # the dead worker's lock
    assert not cycle_lock_held()  # the schedule does not wait for it either
    started = time.monotonic()
    resumed = run_manage("sync_sfdc")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert time.monotonic() - started < 60
    assert SyncRun.objects.filter(object_name="", status="success").exists()
    assert Account.objects.count() == sandbox.control.count("Account")


@pytest.mark.django_db(transaction=True)
def test_a_live_holders_lock_is_not_broken(sandbox):
    with cycle_lock() as lock:
        assert lock is not None
        assert cycle_lock_held()
        assert sync_cycle() is None


@pytest.mark.django_db
def test_a_killed_holder_not_yet_reaped_is_gone():
    me = this_process()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: S603
    try:
        holder = CycleFence(**{**me, "holder_pid": child.pid,
                               "holder_started": process_started(child.pid)})
        assert not holder_gone(holder)
        child.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert holder_gone(holder)  # a zombie: killed, its parent has not reaped it yet
    finally:
        child.kill()
        child.wait()


def a_dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    child.wait()
    return child.pid


@pytest.mark.django_db
def test_a_holder_is_gone_only_when_this_machine_shows_it_dead():
    me = this_process()
    assert not holder_gone(CycleFence(**me))
    assert holder_gone(CycleFence(**{**me, "holder_pid": a_dead_pid()}))
    # the pid was reused by a younger process
    assert holder_gone(CycleFence(**{**me, "holder_started": process_started(os.getpid()) - 1}))
    for field in ("holder_host", "holder_boot_id", "holder_pid_namespace"):
        elsewhere = CycleFence(**{**me, "holder_pid": a_dead_pid(), field: "elsewhere"})
        assert not holder_gone(elsewhere), field


@pytest.mark.django_db
def test_every_acquisition_moves_the_generation_on():
    first = fence_advance("a")
    assert fence_advance("b") == first + 1
    assert CycleFence.objects.get(pk=FENCE_PK).lock_token == "b"


@pytest.mark.django_db(transaction=True)
def test_no_cycle_starts_while_a_former_one_stays_stopped_mid_commit(settings):
    """A page that passed its check holds the fence row until it commits: the next cycle waits
    for it at most the lock TTL, then gives up and leaves the lock free."""
    settings.SYNC_LOCK_TTL_SECONDS = 1
    fence_advance("former")
    database = connection.settings_dict
    other = psycopg2.connect(
        dbname=database["NAME"], user=database["USER"] or "postgres",
        host=database["HOST"] or "127.0.0.1", port=database["PORT"] or 5432,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"SELECT generation FROM {CycleFence._meta.db_table} FOR SHARE"  # noqa: S608
            )
            with cycle_lock() as lock:
                assert lock is None
            assert not django_rq.get_connection("sync").exists(LOCK_KEY)
    finally:
        other.close()
    with cycle_lock() as lock:
        assert lock is not None and lock.generation is not None
