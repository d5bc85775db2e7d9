"""The sync's Prometheus metrics, read from the database and Redis at every scrape.

Nothing is counted in process memory: every web process (and a restarted one) reports the same
numbers, because the counters are sums over the runs the sync recorded.
"""

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import django_rq
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from marketo_sync.sync.models import StreamState, SyncError, SyncRun, SyncState
from marketo_sync.sync.selectors import sync_is_paused

PREFIX = "marketo_sync"
# Per object run counters: (metric name, SyncRun field, help).
RUN_COUNTERS = (
    ("records_fetched", "fetched", "Records read from Salesforce."),
    ("records_created", "created", "Records created locally."),
    ("records_updated", "updated", "Records updated locally."),
    ("records_deleted", "deleted", "Records marked deleted locally."),
    ("records_quarantined", "errors", "Records that could not be applied (SyncError rows)."),
    ("activities_logged", "activities_logged", "Activities written by the sync."),
    (
        "accounts_skipped_activity_limit",
        "accounts_skipped_activity_limit",
        "Account changes that logged no activity (more contacts than ACTIVITY_CONTACT_LIMIT).",
    ),
)
CYCLE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
QUEUES = ("sync", "default")


def run_counters() -> Iterator[Metric]:
    totals: dict[str, Mapping[str, Any]] = {
        row["object_name"]: row
        for row in SyncRun.objects.exclude(object_name="")
        .values("object_name")
        .annotate(**{field: Sum(field) for _, field, _ in RUN_COUNTERS})
    }
    for name, field, documentation in RUN_COUNTERS:
        counter = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=["object"])
        for object_name, row in sorted(totals.items()):
            counter.add_metric([object_name], row[field] or 0)
        yield counter


def object_gauges() -> Iterator[Metric]:
    now = timezone.now()
    lag = GaugeMetricFamily(
        f"{PREFIX}_sync_lag_seconds",
        "Now minus the object's watermark (SystemModstamp of the last record applied).",
        labels=["object"],
    )
    backlog = GaugeMetricFamily(
        f"{PREFIX}_backlog_records",
        "Records waiting in Salesforce at the last incremental query (its totalSize).",
        labels=["object"],
    )
    for object_name, modstamp, waiting in SyncState.objects.values_list(
        "object_name", "modstamp", "backlog"
    ):
        if modstamp is not None:
            lag.add_metric([object_name], (now - modstamp).total_seconds())
        if waiting is not None:
            backlog.add_metric([object_name], waiting)
    yield lag
    yield backlog


def cycle_duration() -> Metric:
    """Whole cycles that ended, in the histogram's cumulative buckets (one query)."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    cycles = SyncRun.objects.filter(object_name="", finished_at__isnull=False).annotate(
        duration=duration
    )
    counts = cycles.aggregate(
        total=Sum("duration"),
        count=Count("pk"),
        **{
            f"le_{bound}": Count("pk", filter=Q(duration__lte=timedelta(seconds=bound)))
            for bound in CYCLE_BUCKETS
        },
    )
    buckets = [(str(float(bound)), counts[f"le_{bound}"]) for bound in CYCLE_BUCKETS]
    buckets.append(("+Inf", counts["count"]))
    total = counts["total"].total_seconds() if counts["total"] else 0.0
    return HistogramMetricFamily(
        f"{PREFIX}_cycle_duration_seconds", "Duration of the sync cycles that ended.",
        buckets=buckets, sum_value=total,
    )


def state_gauges() -> Iterator[Metric]:
    budget = (
        SyncRun.objects.filter(api_limit__isnull=False, api_used__isnull=False)
        .order_by("-finished_at", "-started_at")
        .values_list("api_used", "api_limit")
        .first()
    )
    used, limit = budget or (None, None)
    if used is not None and limit is not None:  # always both: filtered by the query
        yield GaugeMetricFamily(
            f"{PREFIX}_api_daily_used", "Salesforce API calls used today (Sforce-Limit-Info).",
            value=used,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_api_daily_remaining", "Salesforce API calls left today.",
            value=limit - used,
        )
    yield GaugeMetricFamily(
        f"{PREFIX}_paused", "1 while an operator has paused the sync.",
        value=int(sync_is_paused()),
    )
    last_success = (
        SyncRun.objects.filter(object_name="", status=SyncRun.Status.SUCCESS)
        .exclude(finished_at=None)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_last_successful_cycle_age_seconds",
        "Seconds since the last successful cycle ended (+Inf before the first).",
        value=(timezone.now() - last_success).total_seconds() if last_success else float("inf"),
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_open_record_errors", "Quarantined records neither resolved nor dismissed.",
        value=SyncError.objects.filter(dismissed=False, resolved_at=None).count(),
    )


def queue_gauges() -> Iterator[Metric]:
    """Jobs waiting per RQ queue; absent (not zero) while Redis cannot be reached."""
    waiting = GaugeMetricFamily(
        f"{PREFIX}_queue_jobs", "Jobs waiting in the RQ queue.", labels=["queue"]
    )
    try:
        for name in QUEUES:
            waiting.add_metric([name], django_rq.get_queue(name).count)
    except RedisError:
        return
    yield waiting


def stream_gauges() -> Iterator[Metric]:
    """The Change Data Capture stream per channel, as the listener last committed it."""
    labels = ["channel"]
    connected = GaugeMetricFamily(
        f"{PREFIX}_stream_connected", "1 while the listener holds the channel's subscription.",
        labels=labels,
    )
    last_event = GaugeMetricFamily(
        f"{PREFIX}_stream_last_event_timestamp_seconds",
        "Unix time the listener committed the channel's last change event.", labels=labels,
    )
    received = CounterMetricFamily(
        f"{PREFIX}_stream_events_received", "Change events received on the channel.",
        labels=labels,
    )
    replay = GaugeMetricFamily(
        f"{PREFIX}_stream_replay_id", "Replay id the channel resumes from.", labels=labels
    )
    lag = GaugeMetricFamily(
        f"{PREFIX}_stream_last_change_lag_seconds",
        "From the Salesforce commit of the last change to its local re-sync commit.",
        labels=labels,
    )
    for state in StreamState.objects.all():
        label = [state.channel]
        connected.add_metric(label, int(state.connected))
        received.add_metric(label, state.events_received)
        if state.last_event_at is not None:
            last_event.add_metric(label, state.last_event_at.timestamp())
        if state.replay_id is not None:
            replay.add_metric(label, state.replay_id)
        if state.last_lag_seconds is not None:
            lag.add_metric(label, state.last_lag_seconds)
    yield from (connected, last_event, received, replay, lag)


class SyncCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from object_gauges()
        yield from run_counters()
        yield cycle_duration()
        yield from state_gauges()
        yield from queue_gauges()
        yield from stream_gauges()
