"""What the admin, the commands and the schedule call to drive the sync.

Jobs get their ids here: inside a transaction django-rq enqueues on commit and returns no job.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import django_rq
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from rq.job import JobStatus

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import cycle_lock, cycle_lock_held, fail_dead_runs, sync_object
from marketo_sync.sync.mapping import FORMULA_OBJECTS, MAPPINGS, OBJECT_ORDER
from marketo_sync.sync.models import RecordCheck, SyncError, SyncRun, SyncState
from marketo_sync.sync.selectors import (
    last_cycle,
    pause_description,
    sync_is_paused,
    sync_pause_record,
)

CYCLE_JOB_ID = "marketo-sync-cycle"


@dataclass(frozen=True)
class MaintenanceJob:
    job_id: str
    function: str
    interval_setting: str  # seconds between runs
    last_run_field: str  # on SyncState
    objects: tuple[str, ...]


MAINTENANCE_JOBS = (
    MaintenanceJob(
        "marketo-sync-reconcile",
        "marketo_sync.sync.jobs.run_sync_reconcile",
        "SYNC_RECONCILE_INTERVAL_SECONDS",
        "last_reconcile_at",
        OBJECT_ORDER,
    ),
    MaintenanceJob(
        "marketo-sync-formulas",
        "marketo_sync.sync.jobs.run_sync_formula_refresh",
        "SYNC_FORMULA_REFRESH_INTERVAL_SECONDS",
        "last_formula_refresh_at",
        FORMULA_OBJECTS,
    ),
)


# RQ renews a running job's heartbeat every 30 s; a "started" job silent for longer than this
# belongs to a killed worker and must not block the schedule until RQ's own clean-up.
STALE_JOB_AFTER = timedelta(seconds=120)


def cycle_pending() -> bool:
    """A cycle job is queued or running (RQ), or a cycle holds the lock."""
    return cycle_lock_held() or job_pending(CYCLE_JOB_ID)


def job_pending(job_id: str) -> bool:
    """The job is queued, or running on a worker that is still alive."""
    job = django_rq.get_queue("sync").fetch_job(job_id)
    if job is None:
        return False
    status = job.get_status(refresh=True)
    if status == JobStatus.STARTED:
        heartbeat = job.last_heartbeat
        return (
            heartbeat is None
            or timezone.now() - heartbeat.replace(tzinfo=heartbeat.tzinfo or UTC) < STALE_JOB_AFTER
        )
    return status in {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def sync_enqueue_cycle(*, full: bool = False, requested_by: object = None) -> str | None:
    """Queue a cycle unless one is queued or running; returns the job id, or None."""
    if cycle_pending():
        return None
    queue = django_rq.get_queue("sync")
    queue.enqueue(
        "marketo_sync.sync.jobs.run_sync_cycle",
        full=full,
        job_id=CYCLE_JOB_ID,
        job_timeout=6 * 3600,
        result_ttl=3600,
        failure_ttl=86400,
        description=f"Salesforce sync cycle ({'full' if full else 'incremental'})",
    )
    return CYCLE_JOB_ID


def sync_enqueue_records(*, object_name: str, sfdc_ids: list[str]) -> str:
    if object_name not in MAPPINGS:
        raise ValueError(f"unknown object {object_name!r}")
    job_id = f"marketo-sync-records-{uuid.uuid4().hex}"
    django_rq.get_queue("sync").enqueue(
        "marketo_sync.sync.jobs.run_sync_records", object_name, list(sfdc_ids),
        job_id=job_id, result_ttl=3600,
    )
    return job_id


def sync_records(*, object_name: str, sfdc_ids: list[str]) -> SyncRun:
    """Pull just these records now ("Re-sync selected", Convert Person's read-back).

    Records fetched by id never move a watermark, and every write is row-locked and guarded by
    SystemModstamp, so this runs beside a cycle instead of waiting for a long full sync. For the
    same reason its writes are not fenced (its run has no cycle generation): a cycle that takes
    the lock meanwhile does not refuse them, and none of them can undo a newer write. When no
    cycle holds the lock, it is taken anyway so that dead runs get cleaned up. The returned run
    says how it went.
    """
    if object_name not in MAPPINGS:
        raise ValueError(f"unknown object {object_name!r}")
    with cycle_lock() as acquired:
        if acquired:
            fail_dead_runs()
        run = sync_object(
            SalesforceClient.from_settings(), object_name, SyncRun.Mode.RECORDS, sfdc_ids=sfdc_ids
        )
    record_checks_record(run=run, object_name=object_name, sfdc_ids=sfdc_ids)
    return run


def record_checks_record(*, run: SyncRun, object_name: str, sfdc_ids: list[str]) -> None:
    """What a read of these records by id did to each of them, kept for the record's page.

    Decided after the run from what it left behind (a few set-based queries): an open sync
    error means it failed, a row the run wrote was updated, a row it left alone was already up
    to date, and an id with no row was not found in Salesforce.
    """
    run.refresh_from_db()
    mapping = MAPPINGS[object_name]
    errors = dict(
        SyncError.objects.filter(
            object_name=object_name, sfdc_id__in=sfdc_ids, resolved_at=None, dismissed=False
        ).values_list("sfdc_id", "message")
    )
    synced_at = dict(
        mapping.model._default_manager.filter(**{f"{mapping.key}__in": sfdc_ids}).values_list(
            mapping.key, "synced_at"
        )
    )
    checks = []
    for sfdc_id in dict.fromkeys(sfdc_ids):
        if not run.succeeded:
            result, message = RecordCheck.Result.FAILED, run.error or run.get_status_display()
        elif sfdc_id in errors:
            result, message = RecordCheck.Result.FAILED, errors[sfdc_id]
        elif sfdc_id not in synced_at:
            result, message = RecordCheck.Result.MISSING, ""
        elif synced_at[sfdc_id] and synced_at[sfdc_id] >= run.started_at:
            result, message = RecordCheck.Result.UPDATED, ""
        else:
            result, message = RecordCheck.Result.UNCHANGED, ""
        checks.append(RecordCheck(
            object_name=object_name, sfdc_id=sfdc_id, checked_at=run.finished_at or timezone.now(),
            result=result, message=message, run=run,
        ))
    RecordCheck.objects.bulk_create(
        checks, update_conflicts=True, unique_fields=["object_name", "sfdc_id"],
        update_fields=["checked_at", "result", "message", "run"],
    )


def sync_set_paused(*, paused: bool, by: str = "", reason: str = "") -> None:
    """Pause or resume every object, recording when, by whom and why (the status page and
    `sync_sfdc --status` show it). Pausing a paused sync keeps its first record."""
    for object_name in OBJECT_ORDER:
        SyncState.objects.get_or_create(object_name=object_name)
    if paused:
        SyncState.objects.filter(paused=False).update(
            paused=True, paused_at=timezone.now(), paused_by=by, paused_reason=reason
        )
    else:
        SyncState.objects.update(paused=False, paused_at=None, paused_by="", paused_reason="")


# Where the schedule (a worker) leaves the interval it runs with, for the web process to show:
# the two may be configured differently (the demo's workers run every minute).
SCHEDULE_INTERVAL_KEY = "marketo-sync:schedule-interval-seconds"


def schedule_interval_record(seconds: int) -> None:
    """Kept for an hour: a schedule that stopped ticking no longer speaks for the workers."""
    django_rq.get_connection("sync").set(SCHEDULE_INTERVAL_KEY, seconds, ex=3600)


def schedule_interval_seconds() -> int:
    """The interval the schedule last ran with, or this process's setting if none ticked."""
    recorded = django_rq.get_connection("sync").get(SCHEDULE_INTERVAL_KEY)
    return int(recorded) if recorded is not None else settings.SYNC_INTERVAL_SECONDS


def next_cycle_due(interval_seconds: int | None = None) -> datetime | None:
    """When the schedule will start the next cycle: interval after the last one ended."""
    last = last_cycle()
    if last is None or last.finished_at is None:
        return None if last else timezone.now()
    interval = schedule_interval_seconds() if interval_seconds is None else interval_seconds
    return last.finished_at + timedelta(seconds=interval)


def sync_cycle_due() -> bool:
    """The schedule's "due" check: nothing pending and the interval since the last end passed.

    A last cycle that never ended while nothing holds the lock or runs its job died with its
    worker: a cycle is due at once (it records the dead one as failed under the lock).
    """
    if cycle_pending() or sync_is_paused():
        return False
    last = last_cycle()
    if last is not None and last.finished_at is None:
        return True
    due = next_cycle_due(settings.SYNC_INTERVAL_SECONDS)
    return due is not None and due <= timezone.now()


def maintenance_due() -> list[MaintenanceJob]:
    """Reconcile and formula refresh jobs whose interval has passed for one of their objects.

    Checked by the minute tick (not fixed cron slots), so a run skipped because a cycle held
    the lock is not lost: it stays due and starts at the next free tick. Objects that were never
    maintained count from their first full sync.
    """
    if cycle_pending() or sync_is_paused():
        return []
    now = timezone.now()
    due = []
    for job in MAINTENANCE_JOBS:
        cutoff = now - timedelta(seconds=getattr(settings, job.interval_setting))
        last_run = job.last_run_field
        overdue = SyncState.objects.filter(object_name__in=job.objects).filter(
            Q(**{f"{last_run}__lt": cutoff})
            | Q(**{f"{last_run}__isnull": True, "last_full_at__lt": cutoff})
        )
        if overdue.exists() and not job_pending(job.job_id):
            due.append(job)
    return due


def sync_enqueue_maintenance(job: MaintenanceJob) -> str:
    django_rq.get_queue("sync").enqueue(
        job.function, job_id=job.job_id, job_timeout=6 * 3600, result_ttl=3600,
        failure_ttl=86400,
    )
    return job.job_id


def sync_status() -> dict:
    last = last_cycle()
    pause = sync_pause_record()
    return {
        "paused": pause is not None,
        "pause": pause_description(pause) if pause else "",
        "running": cycle_pending(),
        "last_cycle": last,
        "next_cycle_at": None if pause else next_cycle_due(),
        "recent_runs": list(SyncRun.objects.filter(~Q(object_name=""))[:20]),
        "api_used": last.api_used if last else None,
        "api_limit": last.api_limit if last else None,
        "states": list(SyncState.objects.all()),
    }


def backlog_history(limit: int = 30) -> dict[str, list[tuple[int, int]]]:
    """Per object, the backlog each recent run measured (the totalSize of its own query)."""
    series: dict[str, list[tuple[int, int]]] = {}
    runs = (
        SyncRun.objects.filter(mode=SyncRun.Mode.INCREMENTAL, backlog__isnull=False)
        .exclude(object_name="")
        .order_by("-started_at")
        .values_list("object_name", "pk", "backlog")[: limit * len(OBJECT_ORDER)]
    )
    for object_name, pk, backlog in reversed(runs):
        if backlog is not None:  # always set: filtered by the query
            series.setdefault(object_name, []).append((pk, backlog))
    return series


def backlog_estimates() -> list[dict]:
    """What waits per object (only objects with something waiting) and how long catching up
    takes at the last measured rate."""
    estimates = []
    for state in SyncState.objects.filter(backlog__gt=0).order_by("object_name"):
        last = (
            SyncRun.objects.filter(object_name=state.object_name, status=SyncRun.Status.SUCCESS)
            .exclude(finished_at=None)
            .filter(fetched__gt=0)
            .order_by("-started_at")
            .first()
        )
        rate = None
        if last and last.finished_at:
            seconds = max((last.finished_at - last.started_at).total_seconds(), 0.001)
            rate = last.fetched / seconds
        catch_up = (
            timedelta(seconds=round(state.backlog / rate)) if rate and state.backlog else None
        )
        estimates.append({"state": state, "rate": rate, "catch_up": catch_up})
    return estimates
