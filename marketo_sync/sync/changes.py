"""Change Data Capture, the database side: what the listener commits and the re-sync job reads.

Events are triggers, never the data written: only `entityName`, `recordIds` and `changeType`
are kept, and the job reads those records from Salesforce through `sync_records` (same overwrite
rule, Change Data Value, 5,000 rule and history as a cycle). Anything that may have been missed
(GAP and overflow events, a refused replay id, a stream that cannot be opened) enqueues an
incremental cycle instead, whose watermark catches everything.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import django_rq
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from marketo_sync.sync.mapping import MAPPINGS
from marketo_sync.sync.models import PendingChange, StreamState, SyncRun
from marketo_sync.sync.services import sync_enqueue_cycle, sync_records

logger = logging.getLogger(__name__)

WAKE_KEY = "marketo-sync:changes-queued:{}"
WAKE_TTL_SECONDS = 600
GAP_PREFIX = "GAP_"


@dataclass
class Batch:
    """What one batch of received events asks for."""

    replay_ids: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    ids: dict[str, dict[str, None]] = field(default_factory=dict)
    committed_at: dict[str, datetime] = field(default_factory=dict)
    gaps: list[str] = field(default_factory=list)


def batch_from_messages(messages: list[dict]) -> Batch:
    batch = Batch()
    for message in messages:
        channel = message["channel"]
        data = message.get("data") or {}
        replay_id = (data.get("event") or {}).get("replayId")
        if isinstance(replay_id, int):
            batch.replay_ids[channel] = max(replay_id, batch.replay_ids.get(channel, replay_id))
        batch.counts[channel] = batch.counts.get(channel, 0) + 1
        header = (data.get("payload") or {}).get("ChangeEventHeader") or {}
        entity, change_type = header.get("entityName"), header.get("changeType", "")
        if entity not in MAPPINGS:
            continue
        if change_type.startswith(GAP_PREFIX):
            batch.gaps.append(f"{change_type} on {entity}")
            if change_type == "GAP_OVERFLOW":
                continue
        batch.ids.setdefault(entity, {}).update(dict.fromkeys(header.get("recordIds") or []))
        stamp = header.get("commitTimestamp")
        if isinstance(stamp, int):
            moment = datetime.fromtimestamp(stamp / 1000, tz=UTC)
            batch.committed_at[entity] = max(moment, batch.committed_at.get(entity, moment))
    return batch


def stream_commit_batch(*, messages: list[dict]) -> Batch:
    """One transaction: the channels' last replay ids and one outbox row per object; the re-sync
    jobs (and, for a gap, a cycle) are enqueued once it commits."""
    batch = batch_from_messages(messages)
    now = timezone.now()
    with transaction.atomic():
        for channel, replay_id in batch.replay_ids.items():
            state, _ = StreamState.objects.select_for_update().get_or_create(channel=channel)
            state.replay_id = replay_id
            state.connected = True
            state.heartbeat_at = now
            state.last_event_at = now
            state.events_received = F("events_received") + batch.counts.get(channel, 0)
            state.save()
        for object_name, ids in batch.ids.items():
            if ids:
                PendingChange.objects.create(
                    object_name=object_name,
                    sfdc_ids=list(ids),
                    committed_at=batch.committed_at.get(object_name),
                )
                transaction.on_commit(partial(changes_wake, object_name=object_name))
        if batch.gaps:
            reason = "change events missed: " + ", ".join(sorted(set(batch.gaps)))
            StreamState.objects.filter(channel__in=list(batch.replay_ids)).update(
                last_fallback_at=now, last_fallback_reason=reason[:255]
            )
            transaction.on_commit(lambda: stream_fallback_cycle(reason=reason))
    return batch


def changes_wake(*, object_name: str) -> str | None:
    """Enqueue a re-sync job for the object unless one is already queued: the events that
    arrive meanwhile ride along with it (its outbox read comes after it clears the flag)."""
    connection = django_rq.get_connection("sync")
    if not connection.set(WAKE_KEY.format(object_name), 1, nx=True, ex=WAKE_TTL_SECONDS):
        return None
    job = django_rq.get_queue("sync").enqueue(
        "marketo_sync.sync.jobs.run_sync_changes", object_name, result_ttl=600, failure_ttl=86400
    )
    return job.id


def changes_resync(*, object_name: str) -> SyncRun | None:
    """Re-sync exactly the ids waiting in the outbox for this object, then clear those rows.

    A burst costs what a SystemModstamp window would: the by-id read takes 2,000 ids per API
    call. A failed re-sync still clears its rows but enqueues a cycle: the watermark covers them.
    """
    django_rq.get_connection("sync").delete(WAKE_KEY.format(object_name))
    rows = list(
        PendingChange.objects.filter(object_name=object_name).values_list(
            "pk", "sfdc_ids", "committed_at"
        )
    )
    if not rows:
        return None
    ids = list(dict.fromkeys(i for _, row_ids, _ in rows for i in row_ids))
    run = sync_records(object_name=object_name, sfdc_ids=ids)
    PendingChange.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()
    if run.status != SyncRun.Status.SUCCESS:
        stream_fallback_cycle(reason=f"event re-sync of {object_name} failed: {run.error}"[:255])
        return run
    newest = max((c for _, _, c in rows if c is not None), default=None)
    if newest is not None:
        lag = (timezone.now() - newest).total_seconds()
        StreamState.objects.filter(channel__in=channels_of(object_name)).update(
            last_lag_seconds=lag
        )
    return run


def channels_of(object_name: str) -> list[str]:
    return ["/data/ChangeEvents", f"/data/{object_name}ChangeEvent"]


def stream_fallback_cycle(*, reason: str, channels: list[str] | None = None) -> str | None:
    """Something may have been missed: record why and let the watermark catch it."""
    logger.warning("change stream fallback to a cycle: %s", reason)
    states = StreamState.objects.all()
    if channels is not None:
        states = states.filter(channel__in=channels)
    states.update(last_fallback_at=timezone.now(), last_fallback_reason=reason[:255])
    return sync_enqueue_cycle()


def stream_set_connected(*, channels: list[str], connected: bool) -> None:
    now = timezone.now()
    for channel in channels:
        StreamState.objects.update_or_create(
            channel=channel, defaults={"connected": connected, "heartbeat_at": now}
        )


def stream_heartbeat(*, channels: list[str]) -> None:
    StreamState.objects.filter(channel__in=channels).update(heartbeat_at=timezone.now())


def stream_replay_ids(*, channels: list[str]) -> dict[str, int]:
    return {
        channel: replay_id
        for channel, replay_id in StreamState.objects.filter(
            channel__in=channels, replay_id__isnull=False
        ).values_list("channel", "replay_id")
        if replay_id is not None
    }
