"""Partitioned full reads: one object's full sync shared by several RQ workers.

With `SYNC_PARTITIONS` > 1, a full read of an object with at least `SYNC_PARTITION_MIN_RECORDS`
records is split into id ranges (Salesforce ids of one object grow with creation, so equal
slices of the id space hold similar numbers of records; the ends stay open, so a record created
meanwhile still falls in a range). The worker running the cycle records the ranges as
`SyncPartition` rows and enqueues helper jobs, then works partitions itself like any helper, so a
single worker still finishes. Each partition is a keyset-ordered read of its range, restarted
like any other read; the object's watermark is stored once every partition is done, as the
highest record applied (as after a Bulk API read). Runs under the cycle lock: partitions belong
to the cycle's run and are worked only while that run is alive, and every helper's pages are
fenced by that run's cycle generation (see `fence`), whichever worker writes them.
"""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import (
    SalesforceApiLimitReached,
    SalesforceError,
)
from marketo_sync.salesforce.ids import id_from_number, id_number
from marketo_sync.sync.engine import ObjectSync
from marketo_sync.sync.fence import fenced
from marketo_sync.sync.models import SyncPartition, SyncRun
from marketo_sync.sync.runs import outcome_recorded

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
# How a partition's read ended, from the status its run would have.
PARTITION_STATUS: dict[str, SyncPartition.Status] = {
    SyncRun.Status.SUCCESS: SyncPartition.Status.DONE,
    SyncRun.Status.PAUSED: SyncPartition.Status.PAUSED,
    SyncRun.Status.FAILED: SyncPartition.Status.FAILED,
}
ProgressCallback = Callable[[str, int, int | None], None]


def count_records(client: SalesforceClient, object_name: str) -> int:
    """How many records the object has, deleted ones included (one query)."""
    return int(next(client.query_pages(f"SELECT COUNT() FROM {object_name}"))["totalSize"])  # noqa: S608


def first_and_last_id(client: SalesforceClient, object_name: str) -> tuple[str, str] | None:
    """The lowest and highest Id of the object, deleted records included (two queries)."""
    ends = []
    for direction in ("ASC", "DESC"):
        soql = f"SELECT Id FROM {object_name} ORDER BY Id {direction} LIMIT 1"  # noqa: S608
        records = next(client.query_pages(soql))["records"]
        if not records:
            return None
        ends.append(records[0]["Id"])
    return ends[0], ends[1]


def id_ranges(first_id: str, last_id: str, parts: int) -> list[tuple[str, str]]:
    """`parts` slices of equal width of the id space between two ids, open at both ends."""
    low, high = id_number(first_id), id_number(last_id) + 1
    width = max((high - low) // parts, 1)
    cuts = sorted(
        {id_from_number(low + width * i) for i in range(1, parts) if low + width * i < high}
    )
    bounds = ["", *cuts, ""]
    return list(zip(bounds, bounds[1:], strict=False))


def read_in_partitions(
    client: SalesforceClient, sync: ObjectSync, progress: ProgressCallback | None = None
) -> bool:
    """Read the object in partitions if it is worth it; False when the caller reads it whole."""
    parts = settings.SYNC_PARTITIONS
    object_name = sync.mapping.object_name
    if parts < 2:
        return False
    total = count_records(client, object_name)
    ends = first_and_last_id(client, object_name)
    if total < settings.SYNC_PARTITION_MIN_RECORDS or ends is None:
        return False
    run = sync.run
    run.backlog = total
    ranges = id_ranges(*ends, parts)
    with fenced(run.generation):
        SyncRun.objects.filter(pk=run.pk).update(backlog=total)
        SyncPartition.objects.bulk_create(
            SyncPartition(run=run, first_id=first, end_id=end) for first, end in ranges
        )
    queue = django_rq.get_queue("sync")
    for _ in range(min(parts, len(ranges)) - 1):
        queue.enqueue(
            "marketo_sync.sync.jobs.run_sync_partitions", run.pk,
            job_timeout=6 * 3600, result_ttl=600, description=f"{object_name} full read (helper)",
        )
    logger.info("%s: full read of %s records in %s partitions", object_name, total, len(ranges))

    def report() -> None:
        if progress:
            fetched = SyncRun.objects.values_list("fetched", flat=True).get(pk=run.pk)
            progress(object_name, fetched, total)

    while True:
        partition = claim_partition(run.pk)
        if partition is not None:
            work_partition(client, partition, report)
        elif not SyncPartition.objects.filter(
            run=run, status__in=[SyncPartition.Status.PENDING, SyncPartition.Status.RUNNING]
        ).exists():
            break
        else:
            time.sleep(POLL_SECONDS)  # the others are still reading theirs
            report()
    raise_for_unfinished(run)
    highest = (
        SyncPartition.objects.filter(run=run).exclude(highest_modstamp=None)
        .order_by("-highest_modstamp", "-highest_id").values_list("highest_modstamp", "highest_id")
        .first()
    )
    if highest is not None:
        modstamp, last_id = highest
        assert modstamp is not None  # excluded by the query
        sync.highest = (modstamp, last_id)
        sync.store_highest_watermark()
    return True


def raise_for_unfinished(run: SyncRun) -> None:
    """A partition that failed or paused fails or pauses the object's run with its message."""
    for partition in SyncPartition.objects.filter(run=run).exclude(
        status=SyncPartition.Status.DONE
    ):
        message = f"partition from {partition.first_id or 'start'}: {partition.error}"
        if partition.status == SyncPartition.Status.PAUSED:
            raise SalesforceApiLimitReached(message)
        raise SalesforceError(message)


def claim_partition(run_id: int) -> SyncPartition | None:
    """The next pending partition of a live run, or one whose worker stopped renewing it."""
    stale = timezone.now() - timedelta(seconds=settings.SYNC_LOCK_TTL_SECONDS)
    with transaction.atomic():
        partition = (
            SyncPartition.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("run")
            .filter(run_id=run_id, run__status=SyncRun.Status.RUNNING)
            .filter(
                Q(status=SyncPartition.Status.PENDING)
                | Q(status=SyncPartition.Status.RUNNING, heartbeat_at__lt=stale)
            )
            .order_by("pk")
            .first()
        )
        if partition is None:
            return None
        partition.status = SyncPartition.Status.RUNNING
        partition.attempts += 1
        partition.heartbeat_at = timezone.now()
        partition.save(update_fields=["status", "attempts", "heartbeat_at"])
    return partition


def work_partition(
    client: SalesforceClient, partition: SyncPartition, after_page: Callable[[], None]
) -> None:
    """Read one partition to its end; its outcome, calls and highest record go on its row."""
    run = partition.run
    sync = ObjectSync(
        client, run.object_name, run, track_seen=True,
        id_range=(partition.first_id, partition.end_id),
    )
    calls_before = client.api_calls

    def beat(done: int) -> None:
        SyncPartition.objects.filter(pk=partition.pk).update(
            heartbeat_at=timezone.now(), fetched=done
        )
        after_page()

    def record(run_status: str, error: str) -> None:
        modstamp, last_id = sync.highest or (None, "")
        SyncPartition.objects.filter(pk=partition.pk).update(
            status=PARTITION_STATUS[run_status], error=error, heartbeat_at=timezone.now(),
            api_calls=F("api_calls") + client.api_calls - calls_before,
            highest_modstamp=modstamp, highest_id=last_id,
        )

    with outcome_recorded(record):
        sync.apply_stream(sync.pages(SyncRun.Mode.FULL), beat)


def help_with_partitions(run_id: int) -> int:
    """A helper job: work this run's partitions until none is left to claim.

    Its API calls are added to the run here (the coordinator counts only its own client's).
    """
    client = SalesforceClient.from_settings()
    worked = 0
    while (partition := claim_partition(run_id)) is not None:
        calls_before = client.api_calls
        work_partition(client, partition, after_page=lambda: None)
        SyncRun.objects.filter(pk=run_id).update(
            api_calls=F("api_calls") + client.api_calls - calls_before
        )
        worked += 1
    return worked
