"""The minute tick: cycles after a dead worker, drift repair that is due, runs beside a cycle."""

from datetime import timedelta

import django_rq
import pytest
from django.db import connection, transaction
from django.utils import timezone

from marketo_sync.sync.cycle import cycle_lock, fail_dead_runs, sync_cycle
from marketo_sync.sync.engine import SEEN_TABLE
from marketo_sync.sync.jobs import tick
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.services import (
    CYCLE_JOB_ID,
    maintenance_due,
    sync_cycle_due,
    sync_enqueue_cycle,
    sync_enqueue_records,
    sync_set_paused,
)

pytestmark = pytest.mark.django_db(transaction=True)



def queued_job_ids() -> set[str]:
    return set(django_rq.get_queue("sync").job_ids)


def test_a_cycle_whose_worker_died_does_not_stall_the_schedule(sandbox, settings, burst_worker):
    settings.SYNC_INTERVAL_SECONDS = 300
    dead = SyncRun.objects.create(mode="incremental", started_at=timezone.now())
    assert sync_cycle_due()  # no lock, no job: nobody is running it
    assert tick() == [CYCLE_JOB_ID]
    burst_worker()
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "stopped" in dead.error
    assert SyncRun.objects.filter(object_name="", status="success").count() == 1
    assert not sync_cycle_due()  # the interval now counts from the new cycle's end


def test_a_live_re_sync_beside_a_cycle_is_not_taken_for_dead(db, settings):
    settings.SYNC_LOCK_TTL_SECONDS = 60
    now = timezone.now()
    live = SyncRun.objects.create(
        object_name="Account", mode="records", started_at=now, heartbeat_at=now
    )
    stale = SyncRun.objects.create(
        object_name="Account", mode="records", started_at=now,
        heartbeat_at=now - timedelta(minutes=5),
    )
    orphaned_cycle = SyncRun.objects.create(mode="incremental", started_at=now, heartbeat_at=now)
    assert fail_dead_runs() == 2
    statuses = dict(SyncRun.objects.values_list("pk", "status"))
    assert statuses == {live.pk: "running", stale.pk: "failed", orphaned_cycle.pk: "failed"}


def test_ids_seen_by_full_reads_that_will_never_finish_are_dropped(db):
    now = timezone.now()
    dead = SyncRun.objects.create(object_name="Contact", mode="full", started_at=now)
    ended = SyncRun.objects.create(
        object_name="Lead", mode="full", started_at=now, status="failed", finished_at=now
    )
    with connection.cursor() as cursor:
        for run in (dead, ended):
            cursor.execute(
                f"INSERT INTO {SEEN_TABLE} (run_id, sfdc_id) SELECT %s, unnest(%s::varchar[])",
                [run.pk, ["003000000000001AAA", "003000000000002AAA"]],
            )
    assert fail_dead_runs() == 1
    with connection.cursor() as cursor:
        # only these runs' ids: the table has no foreign key, so the flush between tests leaves
        # the ids of an earlier test's failed full read behind
        cursor.execute(
            f"SELECT count(*) FROM {SEEN_TABLE} WHERE run_id IN (%s, %s)", [dead.pk, ended.pk]
        )
        assert cursor.fetchone()[0] == 0


def test_drift_repair_is_started_by_the_tick_when_due_and_never_lost(sandbox, settings):
    settings.SYNC_INTERVAL_SECONDS = 3600
    settings.SYNC_RECONCILE_INTERVAL_SECONDS = 86400
    settings.SYNC_FORMULA_REFRESH_INTERVAL_SECONDS = 3600
    assert sync_cycle().status == "success"
    assert maintenance_due() == []  # just fully synced: nothing to repair yet
    day_ago = timezone.now() - timedelta(days=1, minutes=1)
    SyncState.objects.update(last_full_at=day_ago)
    assert {job.job_id for job in maintenance_due()} == {
        "marketo-sync-reconcile", "marketo-sync-formulas",
    }
    enqueued = tick()
    assert set(enqueued) == {"marketo-sync-reconcile", "marketo-sync-formulas"}
    assert tick() == []  # already queued: not twice
    assert queued_job_ids() == set(enqueued)


def test_drift_repair_runs_after_a_slot_where_the_cycle_held_the_lock(
    sandbox, settings, burst_worker
):
    settings.SYNC_INTERVAL_SECONDS = 3600
    assert sync_cycle().status == "success"
    SyncState.objects.update(last_full_at=timezone.now() - timedelta(days=2))
    with cycle_lock() as acquired:
        assert acquired
        assert tick() == []  # a cycle runs: wait, but stay due
    job_ids = tick()
    assert "marketo-sync-reconcile" in job_ids
    burst_worker()
    runs = SyncRun.objects.filter(mode="reconcile")
    assert runs.count() == 5 and set(runs.values_list("status", flat=True)) == {"success"}
    assert not SyncState.objects.filter(last_reconcile_at=None).exists()
    assert "marketo-sync-reconcile" not in {job.job_id for job in maintenance_due()}


def test_nothing_is_started_while_the_sync_is_paused(sandbox):
    assert sync_cycle().status == "success"
    SyncState.objects.update(last_full_at=timezone.now() - timedelta(days=2))
    sync_set_paused(paused=True, reason="maintenance window")
    assert tick() == []
    assert maintenance_due() == []


def test_jobs_enqueued_inside_a_transaction_are_queued_on_commit_with_their_ids(db):
    with transaction.atomic():
        records_job = sync_enqueue_records(object_name="Account", sfdc_ids=["001000000000001AAA"])
        cycle_job = sync_enqueue_cycle()
        assert queued_job_ids() == set()  # nothing yet: a rollback would leave no job behind
    assert queued_job_ids() == {records_job, cycle_job} and cycle_job == CYCLE_JOB_ID
