"""A sync cycle: every object in dependency order, one cycle at a time across all workers.

The cycle holds a Redis lock that expires (a killed worker cannot block the next cycle for
longer than the TTL) and is renewed by a heartbeat thread while the cycle lives. Taking it bumps
the fence generation in PostgreSQL, which every write of the cycle checks in its own transaction
(see `fence`): a worker whose lock expired under it cannot commit, whatever Redis says. A lock
whose holder the database shows dead (killed on this machine) is broken at once.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import django_rq
from django.conf import settings
from django.core.mail import mail_admins
from django.db import connection
from django.db.models import F, Q, Sum
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import Contact
from marketo_sync.faults import crashpoint
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceApiLimitReached
from marketo_sync.sync.ahead import BulkJobsAhead
from marketo_sync.sync.engine import SEEN_TABLE, ObjectSync, Page, mark_absent_as_deleted
from marketo_sync.sync.fence import dead_holder_token, fence_advance, fenced
from marketo_sync.sync.mapping import MAPPINGS, OBJECT_ORDER
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.partitions import read_in_partitions
from marketo_sync.sync.runs import SyncStopped, run_recorded, run_start
from marketo_sync.sync.selectors import sync_is_paused
from marketo_sync.sync.sync_errors import sync_errors_due, sync_errors_record

logger = logging.getLogger(__name__)

LOCK_KEY = "marketo-sync:cycle-lock"
COUNTERS = (
    "fetched", "created", "updated", "deleted", "activities_logged",
    "accounts_skipped_activity_limit", "local_edits_overwritten", "errors", "api_calls",
)
# Quarantined records retried per object per cycle (one query per 200 of them).
RETRY_LIMIT = 2000
ProgressCallback = Callable[[str, int, int | None], None]


RENEW_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
DELETE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class CycleLock:
    """`SET NX EX` lock with a token, renewed while held; released only by its owner.

    `generation` is the fence generation its acquisition started: the runs under it carry it.
    """

    def __init__(self) -> None:
        self.redis = django_rq.get_connection("sync")
        self.token = uuid.uuid4().hex
        self.generation: int | None = None
        self.ttl = settings.SYNC_LOCK_TTL_SECONDS
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Set when the key is gone or someone else's (Redis restarted, or expired while Redis
        # was unreachable): the cycle must stop, or two cycles could write at once.
        self.lost = threading.Event()
        # Compare-and-act in one step, so a lock that expired and was taken by another cycle
        # is never extended or deleted by its former owner.
        self._renew_script = self.redis.register_script(RENEW_IF_OWNER)
        self._release_script = self.redis.register_script(DELETE_IF_OWNER)

    def acquire(self) -> bool:
        if not self._set() and not self._break_dead_holder():
            return False
        self.generation = fence_advance(self.token)
        if self.generation is None:
            logger.warning("a former cycle stays stopped in the middle of a commit; not starting")
            self.release()
            return False
        self._thread = threading.Thread(target=self._renew, name="sync-lock", daemon=True)
        self._thread.start()
        return True

    def _set(self) -> bool:
        return bool(self.redis.set(LOCK_KEY, self.token, nx=True, ex=self.ttl))

    def _break_dead_holder(self) -> bool:
        """Take the lock of a holder the database shows dead, only if it still holds it."""
        token = dead_holder_token()
        if token is None or not self._release_script(keys=[LOCK_KEY], args=[token]):
            return False
        logger.warning("the cycle lock's holder is dead (killed); its lock is broken")
        return self._set()

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                if not self._renew_script(keys=[LOCK_KEY], args=[self.token, self.ttl]):
                    self.lost.set()
                    return
            except RedisError:
                logger.warning("could not renew the sync lock; retrying")

    def release(self) -> None:
        """Best effort: if Redis is gone, the lock expires by itself after its TTL."""
        self._stop.set()
        try:
            self._release_script(keys=[LOCK_KEY], args=[self.token])
        except RedisError:
            logger.warning("could not release the sync lock; it expires in %s s", self.ttl)


def cycle_lock_held() -> bool:
    """A live holder has the lock (one the database shows dead does not count: it is broken
    by the next cycle)."""
    holder = django_rq.get_connection("sync").get(LOCK_KEY)
    if holder is None:
        return False
    token = holder.decode() if isinstance(holder, bytes) else holder
    return token != dead_holder_token()


@contextmanager
def cycle_lock() -> Iterator[CycleLock | None]:
    """The held lock, or None when another cycle holds it."""
    lock = CycleLock()
    acquired = lock.acquire()
    try:
        yield lock if acquired else None
    finally:
        if acquired:
            lock.release()


def fail_dead_runs() -> int:
    """Call with the cycle lock held: no other cycle or maintenance run can be alive, so a run
    still `running` belongs to a dead worker, or to one whose lock expired under it (paused),
    whose writes the fence refuses from now on — except a re-sync of selected records, which
    runs beside a cycle without the lock and is alive while its page heartbeat is fresh."""
    alive = timezone.now() - timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS)
    records_alive = Q(mode=SyncRun.Mode.RECORDS, heartbeat_at__gte=alive)
    failed = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(records_alive).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="the worker running this sync stopped (killed or crashed); the next run resumed "
        "from the last committed page",
    )
    # The ids seen by full reads that will never finish. Looked up by run (the table's key),
    # never by scanning it: after a large full read it holds that read's dead rows until
    # vacuumed, and a scan of them would cost every cycle start.
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {SEEN_TABLE} s "  # noqa: S608
            f"USING {connection.ops.quote_name(SyncRun._meta.db_table)} r "
            "WHERE s.run_id = r.id AND r.mode = %s AND r.status <> %s",
            [SyncRun.Mode.FULL, SyncRun.Status.RUNNING],
        )
    return failed


def choose_mode(object_name: str, full: bool) -> str:
    state = SyncState.objects.filter(object_name=object_name).first()
    if full or state is None or state.last_full_at is None or unfilled_note(state):
        return SyncRun.Mode.FULL
    return SyncRun.Mode.INCREMENTAL


def unfilled_note(state: SyncState) -> str:
    """Why the object is read in full although it was before: fields mapped since, which the
    rows of records unchanged in Salesforce lack (an upgrade added their columns). Blank if
    none."""
    unfilled = MAPPINGS[state.object_name].unfilled_columns(state.filled_fields)
    if not unfilled:
        return ""
    return (
        f"read in full to fill newly synced fields on the records stored before: "
        f"{', '.join(sorted(unfilled))}"
    )


def sync_cycle(
    *,
    full: bool = False,
    objects: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    job_id: str = "",
) -> SyncRun | None:
    """Run one cycle now; None when another cycle holds the lock or the sync is paused."""
    with cycle_lock() as lock:
        if lock is None:
            logger.info("a sync cycle is already running; not starting another")
            return None
        fail_dead_runs()
        if sync_is_paused():
            logger.info("sync is paused; cycle skipped")
            return None
        modes = {name: choose_mode(name, full) for name in objects or OBJECT_ORDER}
        # A cycle whose objects all read in full (the first one, or --full) says so.
        all_full = set(modes.values()) == {SyncRun.Mode.FULL}
        cycle = run_start(
            mode=SyncRun.Mode.FULL if all_full else SyncRun.Mode.INCREMENTAL, job_id=job_id,
            generation=lock.generation,
        )

        def after_page(object_name: str, done: int, total: int | None) -> None:
            if lock.lost.is_set():
                raise SyncStopped(
                    "the cycle lock was lost (Redis restarted, or unreachable for longer than "
                    "its TTL): stopped so that two cycles never write at once; the next cycle "
                    "resumes from the last committed page"
                )
            if progress:
                progress(object_name, done, total)

        # Salesforce prepares the extracts of the large objects read in full after the first
        # while the objects before them are read; started once the first read succeeded (the
        # login and the API budget are fine: a cycle that cannot read starts no job).
        ahead = BulkJobsAhead(
            name for name, mode in list(modes.items())[1:] if mode == SyncRun.Mode.FULL
        )

        def totals(cycle: SyncRun) -> None:
            cycle_totals(cycle)
            cycle.api_calls += ahead.uncharged_calls

        with run_recorded(cycle, before_save=totals) as recording:
            client = recording.charge(SalesforceClient.from_settings())
            try:
                for object_name, mode in modes.items():
                    run = sync_object(
                        client, object_name, mode, after_page, generation=lock.generation,
                        ahead=ahead,
                    )
                    crashpoint("between_objects")
                    if run.status != SyncRun.Status.SUCCESS:
                        raise run_failure(run)
                    ahead.start()
            finally:
                ahead.close()
        if cycle.status in {SyncRun.Status.FAILED, SyncRun.Status.PAUSED}:
            notify_admins(cycle)
        return cycle


def cycle_summary(cycle: SyncRun) -> str:
    """The one line a cycle ends with: `sync_sfdc` prints it, the worker logs it."""
    took = f" in {cycle.finished_at - cycle.started_at}" if cycle.finished_at else ""
    return (
        f"sync {cycle.status}: {cycle.fetched} fetched, {cycle.created} created, "
        f"{cycle.updated} updated, {cycle.deleted} deleted, {cycle.activities_logged} "
        f"activities, {cycle.accounts_skipped_activity_limit} accounts over the activity "
        f"limit, {cycle.local_edits_overwritten} local edits overwritten, {cycle.errors} "
        f"records quarantined, {cycle.api_calls} API calls{took}"
    )


def cycle_log_summary(cycle: SyncRun) -> None:
    """Log the summary at WARNING when an operator should look: records quarantined, accounts
    skipped by the activity rule, or a cycle that paused or failed."""
    attention = (
        cycle.status != SyncRun.Status.SUCCESS
        or cycle.errors
        or cycle.accounts_skipped_activity_limit
    )
    logger.log(
        logging.WARNING if attention else logging.INFO,
        cycle_summary(cycle) + (f": {cycle.error}" if cycle.error else ""),
        extra={"run_id": cycle.pk},
    )


def run_failure(run: SyncRun) -> Exception:
    """An object's run that did not succeed ends its cycle the same way, with its message."""
    if run.status == SyncRun.Status.PAUSED:
        return SalesforceApiLimitReached(run.error)
    return SyncStopped(run.error)


def sync_object(
    client: SalesforceClient,
    object_name: str,
    mode: str,
    progress: ProgressCallback | None = None,
    sfdc_ids: list[str] | None = None,
    generation: int | None = None,
    ahead: BulkJobsAhead | None = None,
) -> SyncRun:
    """Pull one object; the run records how it went (success, paused or failed). Its writes are
    fenced by the cycle's `generation`; None (a re-sync of selected records) is not fenced.
    `ahead`: the cycle's Bulk jobs started ahead, of which the run takes its object's."""
    run = run_start(object_name=object_name, mode=mode, generation=generation)
    track_seen = mode == SyncRun.Mode.FULL and sfdc_ids is None
    sync = ObjectSync(client, object_name, run, track_seen=track_seen)
    if track_seen and (note := unfilled_note(sync.state)):
        logger.info("%s: %s", object_name, note, extra={"run_id": run.pk})
        run.note = note
        SyncRun.objects.filter(pk=run.pk).update(note=note)
    after_page = (lambda done: progress(object_name, done, run.backlog)) if progress else None
    with run_recorded(run) as recording:
        recording.charge(client)
        if ahead is not None:
            sync.started, calls = ahead.take(object_name)
            SyncRun.objects.filter(pk=run.pk).update(api_calls=F("api_calls") + calls)
        if sfdc_ids is not None:
            by_id = (
                Page(sync.prepare(raw["records"]), None, "none")
                for raw in sync.records_by_id(sfdc_ids)
            )
            sync.apply_stream(by_id, after_page)
        else:
            retry_failed_records(sync)
            if not (track_seen and read_in_partitions(client, sync, progress)):
                sync.apply_stream(sync.pages(mode), after_page)
        if track_seen:
            mark_missing_as_deleted(sync)
        if object_name == "Contact" and sfdc_ids is None:
            record_unknown_accounts(run)
    with fenced(generation):
        if run.status == SyncRun.Status.SUCCESS and mode == SyncRun.Mode.FULL and sfdc_ids is None:
            SyncState.objects.filter(object_name=object_name).update(
                last_full_at=run.started_at, filled_fields=sorted(sync.mapping.columns)
            )
        if run.backlog is not None and sfdc_ids is None:
            SyncState.objects.filter(object_name=object_name).update(backlog=run.backlog)
    return run


def retry_failed_records(sync: ObjectSync) -> None:
    """Quarantined records are fetched again by id until they apply or are dismissed."""
    due = sync_errors_due(object_name=sync.mapping.object_name, limit=RETRY_LIMIT)
    for raw in sync.records_by_id(due):
        sync.apply_page(raw["records"])


def mark_missing_as_deleted(sync: ObjectSync) -> None:
    """After a full read: rows whose record Salesforce no longer has at all (purged), found
    against the table of the ids this run saw, which is emptied afterwards."""
    with fenced(sync.run.generation):
        deleted = mark_absent_as_deleted(
            sync.mapping, present_table=SEEN_TABLE, since=sync.read_since, run_id=sync.run.pk
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {SEEN_TABLE} WHERE run_id = %s", [sync.run.pk])  # noqa: S608
        SyncRun.objects.filter(pk=sync.run.pk).update(deleted=F("deleted") + deleted)


def record_unknown_accounts(run: SyncRun) -> None:
    """Contacts whose account still does not exist after the cycle's accounts: a SyncError."""
    orphans = (
        Contact.objects.filter(account__isnull=True, is_deleted=False, sfdc_id__isnull=False)
        .exclude(account_sfdc_id="")
        .values_list("sfdc_id", "account_sfdc_id")[:RETRY_LIMIT]
    )
    with fenced(run.generation):
        sync_errors_record(
            object_name="Contact",
            errors={
                sfdc_id: f"account {account_id} is not in the local copy (not synced or not "
                "visible to the sync user); the contact is stored without it"
                for sfdc_id, account_id in orphans
                if sfdc_id  # always set: filtered by the query
            },
            run_id=run.pk,
        )


def cycle_totals(cycle: SyncRun) -> None:
    """A cycle's counters are the sums of its objects' runs (not of re-syncs beside it)."""
    totals = SyncRun.objects.filter(
        started_at__gte=cycle.started_at,
        object_name__gt="",
        mode__in=[SyncRun.Mode.FULL, SyncRun.Mode.INCREMENTAL],
    ).aggregate(**{name: Sum(name) for name in COUNTERS})
    for name in COUNTERS:
        setattr(cycle, name, totals[name] or 0)


def notify_admins(run: SyncRun) -> None:
    """E-mail the admins (Django's mail settings) when a cycle fails or pauses."""
    mail_admins(
        f"Salesforce sync {run.get_status_display().lower()}",
        f"The sync cycle started {run.started_at:%Y-%m-%d %H:%M:%S} UTC ended as "
        f"{run.get_status_display().lower()}:\n\n{run.error}\n\nNothing is lost: the next cycle "
        "resumes from the last committed page.",
        fail_silently=True,
    )
