"""Reads of the sync's state that the admin, the schedule and the engine share."""

from dataclasses import dataclass

from django.db.models import BigIntegerField, Case, OuterRef, Q, QuerySet, Subquery, When

from accounts.models import Account
from marketo_sync.sync.mapping import MAPPINGS, SYSTEM_FIELDS
from marketo_sync.sync.models import RecordCheck, SyncError, SyncRun, SyncState


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


def described(object_name: str, part: str) -> dict:
    """One part of the object's last describe (empty before the first sync described it)."""
    describe = (
        SyncState.objects.filter(object_name=object_name).values_list("describe", flat=True).first()
    )
    return dict((describe or {}).get(part, {}))


def picklist_values(*, object_name: str) -> dict[str, list[str]]:
    """Active values of each picklist field, as the last describe listed them."""
    return described(object_name, "picklists")


def salesforce_field_labels(*, object_name: str) -> dict[str, str]:
    """Each field's label in Salesforce, by API name."""
    return described(object_name, "labels")


@dataclass(frozen=True)
class RecordSyncStatus:
    """What a record's page says about its sync: open errors (its data may be stale) and the
    last on-request read from Salesforce."""

    open_errors: list[SyncError]
    last_check: RecordCheck | None


def record_sync_status(*, sfdc_ids: dict[str, str]) -> RecordSyncStatus:
    """For one local record known to Salesforce under these ids (object name → id): a person
    may be both a Lead and a Contact. Two queries whatever the record."""
    known = {object_name: sfdc_id for object_name, sfdc_id in sfdc_ids.items() if sfdc_id}
    if not known:
        return RecordSyncStatus(open_errors=[], last_check=None)
    matches = Q()
    for object_name, sfdc_id in known.items():
        matches |= Q(object_name=object_name, sfdc_id=sfdc_id)
    return RecordSyncStatus(
        open_errors=list(
            SyncError.objects.filter(matches, resolved_at=None, dismissed=False)
            .order_by("-last_seen_at")
        ),
        last_check=RecordCheck.objects.filter(matches).order_by("-checked_at").first(),
    )


# The local model that holds each Salesforce object, as the admin names its change page.
LOCAL_RECORD_PAGES = {
    "Account": "admin:accounts_account_change",
    "Contact": "admin:accounts_contact_change",
    "Lead": "admin:accounts_contact_change",
    "Opportunity": "admin:accounts_opportunity_change",
    "User": "admin:accounts_salesforceuser_change",
}


def sync_errors_with_local_records(errors: QuerySet[SyncError]) -> QuerySet[SyncError]:
    """Each error with the local row of its record (`local_pk`), in the same query: one
    indexed lookup per error of the page, never a query per row."""
    local_pk = Case(
        *(
            When(
                object_name=object_name,
                then=Subquery(
                    MAPPINGS[object_name].model._default_manager.filter(
                        **{MAPPINGS[object_name].key: OuterRef("sfdc_id")}
                    ).values("pk")[:1]
                ),
            )
            for object_name in LOCAL_RECORD_PAGES
        ),
        default=None,
        output_field=BigIntegerField(),
    )
    return errors.annotate(local_pk=local_pk)


def local_record_admin_target(error: SyncError) -> tuple[str, int] | None:
    """(admin URL name, pk) of the error's local record, if the local copy has it."""
    local_pk = getattr(error, "local_pk", None)
    if local_pk is None:
        return None
    return LOCAL_RECORD_PAGES[error.object_name], local_pk
