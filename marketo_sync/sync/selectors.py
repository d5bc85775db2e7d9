"""Reads of the sync's state that the admin, the schedule and the engine share."""

from marketo_sync.sync.mapping import MAPPINGS, SYSTEM_FIELDS
from marketo_sync.sync.models import SyncRun, SyncState


def sync_is_paused() -> bool:
    """An operator paused the sync (the schedule, the buttons and every kind of run obey it)."""
    return SyncState.objects.filter(paused=True).exists()


def sync_pause_record() -> SyncState | None:
    """The state row recording when, by whom and why the sync was paused; None if it is not."""
    return SyncState.objects.filter(paused=True).order_by("paused_at").first()


def pause_description(state: SyncState) -> str:
    """"paused since … by …", as the status page, the CLI and a refused start say it."""
    since = f"{state.paused_at:%Y-%m-%d %H:%M:%S} UTC" if state.paused_at else "an unknown time"
    reason = f" ({state.paused_reason})" if state.paused_reason else ""
    return f"paused since {since} by {state.paused_by or 'an unknown user'}{reason}"


def running_description() -> str | None:
    """"a cycle started … is running (job …)" for the run holding the sync (None: none runs)."""
    running = (
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .exclude(mode=SyncRun.Mode.RECORDS)
        .order_by("object_name", "-started_at")
        .first()
    )
    if running is None:
        return None
    what = (
        "a cycle" if not running.object_name
        else f"a {running.get_mode_display().lower()} run of {running.object_name}"
    )
    job = f"job {running.job_id}" if running.job_id else "no RQ job: started from the command line"
    return f"{what} started {running.started_at:%Y-%m-%d %H:%M:%S} UTC is running ({job})"


def sync_start_refusal() -> str:
    """Why a cycle cannot start now: the pause, or the run that holds the cycle lock."""
    pause = sync_pause_record()
    if pause is not None:
        return pause_description(pause)
    return running_description() or "another cycle holds the cycle lock (it is starting)"


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
