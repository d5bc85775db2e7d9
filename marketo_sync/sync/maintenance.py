"""Drift repair that the incremental pull cannot see: reconcile and formula refresh.

Reconcile compares `(Id, SystemModstamp, IsDeleted)` of every Salesforce record with the local
copy in the database (a temp table, never Python sets) and pulls or marks only what differs —
including records purged from the recycle bin, which no incremental query ever returns.
Formula fields change without moving SystemModstamp, so they are re-read on their own schedule.
Both run under the cycle lock and their writes are fenced by its generation (see `fence`).
"""

import logging
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from accounts.salesforce_fields import parse_datetime
from activities.models import Activity
from activities.services import account_changes_log
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import ProgressCallback, cycle_lock, fail_dead_runs
from marketo_sync.sync.engine import ObjectSync, mark_absent_as_deleted
from marketo_sync.sync.fence import fenced
from marketo_sync.sync.mapping import FORMULA_OBJECTS, MAPPINGS, OBJECT_ORDER
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.runs import run_recorded, run_start
from marketo_sync.sync.selectors import sync_is_paused

logger = logging.getLogger(__name__)

REMOTE_TABLE = "sync_reconcile_remote"
PULL_CHUNK = 2000
MaintenanceWork = Callable[[SalesforceClient, str, SyncRun, ProgressCallback], None]


def no_progress(object_name: str, done: int, total: int | None) -> None:
    """The default progress callback: nobody is watching (the scheduled job)."""


def run_guarded(
    work: MaintenanceWork, mode: str, progress: ProgressCallback = no_progress
) -> list[SyncRun] | None:
    """Run `work(client, object_name, run, progress)` per object under the cycle lock; None when
    a cycle holds it, [] while the sync is paused. The first run that does not succeed ends the
    job."""
    with cycle_lock() as lock:
        if lock is None:
            return None
        fail_dead_runs()
        if sync_is_paused():
            logger.info("sync is paused; %s skipped", mode)
            return []
        client = SalesforceClient.from_settings()
        runs = []
        for object_name in OBJECT_ORDER if mode == SyncRun.Mode.RECONCILE else FORMULA_OBJECTS:
            run = run_start(object_name=object_name, mode=mode, generation=lock.generation)
            with run_recorded(run) as recording:
                work(recording.charge(client), object_name, run, progress)
            runs.append(run)
            if run.status != SyncRun.Status.SUCCESS:
                break
        return runs


def sync_reconcile(progress: ProgressCallback = no_progress) -> list[SyncRun] | None:
    return run_guarded(reconcile_object, SyncRun.Mode.RECONCILE, progress)


def sync_formula_refresh(progress: ProgressCallback = no_progress) -> list[SyncRun] | None:
    return run_guarded(refresh_formulas, SyncRun.Mode.FORMULA, progress)


def reconcile_object(
    client: SalesforceClient, object_name: str, run: SyncRun, progress: ProgressCallback
) -> None:
    sync = ObjectSync(client, object_name, run)
    mapping = MAPPINGS[object_name]
    table = connection.ops.quote_name(mapping.model._meta.db_table)
    key = connection.ops.quote_name(mapping.key)
    stamp = connection.ops.quote_name(mapping.modstamp_field)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {REMOTE_TABLE} (sfdc_id varchar(18) PRIMARY KEY, "
            "modstamp timestamptz, is_deleted boolean)"
        )
        cursor.execute(f"TRUNCATE {REMOTE_TABLE}")
    # User has no IsDeleted in Salesforce (users are deactivated, never deleted).
    columns = "Id, SystemModstamp, IsDeleted" if "IsDeleted" in sync.field_names() else \
        "Id, SystemModstamp"
    soql = f"SELECT {columns} FROM {object_name}"  # noqa: S608 - SOQL
    fetched = 0
    for records in remote_records(client, sync, soql):
        fetched += len(records)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {REMOTE_TABLE} SELECT * FROM unnest(%s::varchar[], "  # noqa: S608
                "%s::timestamptz[], %s::boolean[]) ON CONFLICT DO NOTHING",
                [
                    [r["Id"] for r in records],
                    [parse_datetime(r["SystemModstamp"]) for r in records],
                    [bool(r.get("IsDeleted")) for r in records],
                ],
            )
        progress(object_name, fetched, None)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT r.sfdc_id FROM {REMOTE_TABLE} r LEFT JOIN {table} l ON l.{key} = r.sfdc_id
            WHERE l.id IS NULL OR l.{stamp} IS NULL OR r.modstamp > l.{stamp}
               OR (r.is_deleted AND NOT l.is_deleted)
            """  # noqa: S608 - identifiers from model metadata
        )
        to_pull = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(to_pull), PULL_CHUNK):
        for page in sync.records_by_id(to_pull[start : start + PULL_CHUNK]):
            sync.apply_page(page["records"])
    with fenced(run.generation):
        gone = mark_absent_as_deleted(mapping, present_table=REMOTE_TABLE, since=run.started_at)
        SyncRun.objects.filter(pk=run.pk).update(
            fetched=F("fetched") + fetched, deleted=F("deleted") + gone
        )
        SyncState.objects.filter(object_name=object_name).update(last_reconcile_at=timezone.now())


def remote_records(client: SalesforceClient, sync: ObjectSync, soql: str) -> Iterator[list]:
    """Every record of a `queryAll`, a page at a time; through Bulk API 2.0 when the object is
    large, as a full sync reads it (a few calls instead of one per 2,000 records)."""
    stream = client.query_pages(soql, include_deleted=True)
    first = next(stream)
    if first["totalSize"] <= settings.SYNC_BULK_THRESHOLD:
        yield first["records"]
        for page in stream:
            yield page["records"]
        return
    stream.close()
    yield from sync.bulk_read(soql)


def formula_pages(client: SalesforceClient, sync: ObjectSync) -> Iterator[tuple[list, list]]:
    sync.field_names()
    formulas = sync.state.describe.get("formulas", [])
    if not formulas:
        return
    fields = ", ".join(formulas)
    soql = f"SELECT Id, {fields} FROM {sync.mapping.object_name}"  # noqa: S608 - SOQL
    for page in client.query_pages(soql, include_deleted=False):
        yield formulas, page["records"]


def refresh_formulas(
    client: SalesforceClient, object_name: str, run: SyncRun, progress: ProgressCallback
) -> None:
    """Changed formula values update the rows (modstamp untouched); on accounts they are
    account data and log Change Data Value. A formula the copy never had (newly visible to the
    sync user) is filled in silently: nothing changed for the marketer."""
    sync = ObjectSync(client, object_name, run)
    mapping = sync.mapping
    model = mapping.model
    refreshed = 0
    for formulas, records in formula_pages(client, sync):
        by_id = {r["Id"]: r for r in records}
        with fenced(run.generation):
            rows = list(
                model._default_manager.select_for_update()
                .filter(**{f"{mapping.key}__in": by_id}, is_deleted=False)
                .order_by(mapping.key)
            )
            changed_rows, changes_by_account = [], {}
            for row in rows:
                remote = by_id[getattr(row, mapping.key)]
                changes = [
                    (name, row.custom_fields.get(name), remote.get(name))
                    for name in formulas
                    if name not in row.custom_fields or row.custom_fields[name] != remote.get(name)
                ]
                if not changes:
                    continue
                seen_before = [change for change in changes if change[0] in row.custom_fields]
                if mapping.tracks_changes and seen_before:
                    changes_by_account[row.pk] = seen_before
                for name, _, value in changes:
                    row.custom_fields[name] = value
                    if mapping.tracks_changes:
                        assert isinstance(row, Account)  # the one object that tracks changes
                        row.sfdc_values[name] = value
                changed_rows.append(row)
            model._default_manager.bulk_update(
                changed_rows,
                ["custom_fields", "sfdc_values"] if mapping.tracks_changes else ["custom_fields"],
            )
            logged = account_changes_log(
                changes_by_account=changes_by_account,
                source=Activity.Source.SFDC_SYNC,
                reason="Salesforce formula recalculated",
                sync_run_id=run.pk,
            )
            SyncRun.objects.filter(pk=run.pk).update(
                fetched=F("fetched") + len(records),
                updated=F("updated") + len(changed_rows),
                activities_logged=F("activities_logged") + logged.activities_logged,
                accounts_skipped_activity_limit=F("accounts_skipped_activity_limit")
                + logged.accounts_skipped,
            )
        refreshed += len(records)
        progress(object_name, refreshed, None)
    with fenced(run.generation):
        SyncState.objects.filter(object_name=object_name).update(
            last_formula_refresh_at=timezone.now()
        )
