"""Reads of the sync's state that the admin, the schedule and the engine share."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account
from marketo_sync.sync.mapping import MAPPINGS, SYSTEM_FIELDS
from marketo_sync.sync.models import StreamState, SyncRun, SyncState

STREAM_HEARTBEAT_FRESH = timedelta(seconds=120)


def sync_is_paused() -> bool:
    """An operator paused the sync (the schedule, the buttons and every kind of run obey it)."""
    return SyncState.objects.filter(paused=True).exists()


def last_cycle() -> SyncRun | None:
    return SyncRun.objects.filter(object_name="").order_by("-started_at").first()


def synced_field_names(*, object_names: tuple[str, ...]) -> list[str]:
    """Salesforce field API names the sync stores for these objects: mapped columns, owners and
    whatever the cached describes list (custom and formula fields), system fields left out.

    Read from a handful of state rows, never a DISTINCT over a large table.
    """
    names = {name for object_name in object_names for name in MAPPINGS[object_name].columns}
    names.add("OwnerId")
    for describe in SyncState.objects.filter(object_name__in=object_names).values_list(
        "describe", flat=True
    ):
        names.update((describe or {}).get("fields", []))
    return sorted(names - SYSTEM_FIELDS)


def accounts_skipped_by_activity_limit(*, run: SyncRun) -> QuerySet[Account]:
    """Accounts whose changes in this run logged no activities (too many contacts).

    Read from their history rows, so the list stays true whatever the contact counts are now. A
    cycle's changes are recorded on its object runs; cycles never overlap, so those are the runs
    started while the cycle ran.
    """
    if run.object_name:
        runs = SyncRun.objects.filter(pk=run.pk)
    else:
        runs = SyncRun.objects.filter(started_at__gte=run.started_at).exclude(object_name="")
        if run.finished_at:
            runs = runs.filter(started_at__lte=run.finished_at)
    return (
        Account.objects.filter(history__sync_run__in=runs, history__activities_skipped=True)
        .distinct()
        .order_by("name", "pk")
    )


def picklist_values(*, object_name: str) -> dict[str, list[str]]:
    """Active values of each picklist field, as the last describe listed them (none before the
    first sync described the object)."""
    describe = (
        SyncState.objects.filter(object_name=object_name).values_list("describe", flat=True).first()
    )
    return dict((describe or {}).get("picklists", {}))


def stream_healthy() -> bool:
    """The listener is connected on every channel and alive (heartbeat within two minutes)."""
    states = StreamState.objects.all()
    fresh = timezone.now() - STREAM_HEARTBEAT_FRESH
    return (
        states.exists()
        and not states.filter(connected=False).exists()
        and not states.filter(heartbeat_at__lt=fresh).exists()
    )


def sync_interval_seconds() -> int:
    """The wait between cycles in force: longer while the change stream is healthy."""
    if stream_healthy():
        return settings.SYNC_INTERVAL_SECONDS_STREAMING
    return settings.SYNC_INTERVAL_SECONDS
