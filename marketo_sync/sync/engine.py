"""The pull engine: Salesforce pages in, set-based upserts out, one transaction per page.

Per page: one query loads the rows the page touches (locked, so a concurrent local edit is either
before or after, never mixed), one or two resolve related ids, one upsert writes, activities are
fanned out set-wise, and the watermark is saved in the same transaction — so a crash anywhere
resumes without loss or duplicates, and re-applying a page is a no-op. The next page is fetched
in a background thread while the current one is written.
"""

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from simple_salesforce.format import format_soql

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from activities.models import Activity
from activities.services import change_data_value_log
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceRequestError
from marketo_sync.sync.crashpoints import crashpoint
from marketo_sync.sync.mapping import (
    MAPPINGS,
    SYSTEM_FIELDS,
    UNQUERYABLE_TYPES,
    BadRecord,
    ObjectMapping,
    clean_id,
    parse_datetime,
)
from marketo_sync.sync.models import SyncError, SyncRun, SyncState

logger = logging.getLogger(__name__)

DESCRIBE_MAX_AGE = timedelta(days=1)
ERROR_RETRY_DELAY = timedelta(minutes=5)
IDS_PER_QUERY = 200
SEEN_TABLE = "sync_seen_ids"


@dataclass
class PageOutcome:
    """Counts of one applied page, added to the run in the page's own transaction."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    activities_logged: int = 0
    accounts_skipped_activity_limit: int = 0
    local_edits_overwritten: int = 0
    errors: int = 0

    def as_updates(self) -> dict[str, Any]:
        return {name: F(name) + value for name, value in vars(self).items() if value}


@dataclass
class PreparedRow:
    record: dict
    sfdc_id: str
    modstamp: datetime
    values: dict[str, Any] = field(default_factory=dict)


def prefetched(pages: Iterator[dict]) -> Iterator[dict]:
    """Fetch the next page in a thread while the caller writes the current one."""
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        handoff.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
            handoff.put(exc)

    thread = threading.Thread(target=fetch, name="sfdc-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class ObjectSync:
    """Pull one Salesforce object into its model for one run."""

    def __init__(
        self, client: SalesforceClient, object_name: str, run: SyncRun, track_seen: bool = False
    ) -> None:
        self.client = client
        self.mapping: ObjectMapping = MAPPINGS[object_name]
        self.run = run
        self.state, _ = SyncState.objects.get_or_create(object_name=object_name)
        self.track_seen = track_seen
        if track_seen:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {SEEN_TABLE} "
                    "(sfdc_id varchar(18) PRIMARY KEY)"
                )
                cursor.execute(f"TRUNCATE {SEEN_TABLE}")

    def remember_seen(self, records: list[dict]) -> None:
        """A full run notes every id it saw, in a temp table (not in Python memory)."""
        ids = [str(r.get("Id") or "")[:18] for r in records if r.get("Id")]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SEEN_TABLE} (sfdc_id) SELECT unnest(%s::varchar[]) "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                [ids],
            )

    # -- schema ------------------------------------------------------------------------------

    def field_names(self) -> list[str]:
        """Every field the sync user can see, from a describe cached for a day."""
        state = self.state
        stale = state.last_describe_at is None or (
            timezone.now() - state.last_describe_at > DESCRIBE_MAX_AGE
        )
        if stale or not state.describe.get("fields"):
            self.refresh_describe()
        return state.describe["fields"]

    def refresh_describe(self) -> None:
        described = self.client.describe(self.mapping.object_name)
        names = [f["name"] for f in described["fields"] if f["type"] not in UNQUERYABLE_TYPES]
        formulas = [f["name"] for f in described["fields"] if f.get("calculated")]
        self.state.describe = {"fields": names, "formulas": formulas}
        self.state.last_describe_at = timezone.now()
        self.state.save(update_fields=["describe", "last_describe_at", "updated_at"])

    def select(self) -> str:
        """SOQL (not SQL): field names come from Salesforce's own describe."""
        fields = ", ".join(self.field_names())
        return f"SELECT {fields} FROM {self.mapping.object_name}"  # noqa: S608

    # -- fetching ----------------------------------------------------------------------------

    def soql(self, where: str) -> str:
        return f"{self.select()} {where} ORDER BY SystemModstamp, Id"

    def incremental_where(self) -> str:
        if self.state.modstamp is None:
            return ""
        overlap = timedelta(seconds=settings.SYNC_OVERLAP_SECONDS)
        return format_soql("WHERE SystemModstamp >= {}", self.state.modstamp - overlap)

    def pages(self, mode: str) -> Iterator[dict]:
        """Raw result pages; the SOQL is built here, in the caller's thread (it may describe)."""
        where = "" if mode == SyncRun.Mode.FULL else self.incremental_where()
        try:
            yield from prefetched(self.client.query_pages(self.soql(where)))
        except SalesforceRequestError as exc:
            if exc.error_code != "INVALID_FIELD":
                raise
            self.refresh_describe()  # schema drift: a field went away; re-describe once
            yield from prefetched(self.client.query_pages(self.soql(where)))

    def records_by_id(self, sfdc_ids: list[str]) -> Iterator[dict]:
        select = self.select()
        for start in range(0, len(sfdc_ids), IDS_PER_QUERY):
            chunk = sfdc_ids[start : start + IDS_PER_QUERY]
            yield from self.client.query_pages(format_soql(f"{select} WHERE Id IN {{}}", chunk))

    # -- applying ----------------------------------------------------------------------------

    def prepare(self, records: list[dict], outcome: PageOutcome) -> list[PreparedRow]:
        """Valid rows of a page; bad ones become SyncErrors (quarantined, not dropped)."""
        prepared: list[PreparedRow] = []
        bad: dict[str, str] = {}
        for record in records:
            raw_id = record.get("Id") or ""
            try:
                sfdc_id = clean_id(raw_id)
                modstamp = parse_datetime(record.get("SystemModstamp"))
                if not sfdc_id or modstamp is None:
                    raise BadRecord("Id and SystemModstamp are required")
                prepared.append(PreparedRow(record, sfdc_id, modstamp))
            except BadRecord as exc:
                bad[str(raw_id)[:18]] = str(exc)
        self.quarantine(bad, outcome)
        return prepared

    def quarantine(self, bad: dict[str, str], outcome: PageOutcome) -> None:
        if not bad:
            return
        outcome.errors += len(bad)
        retry_at = timezone.now() + ERROR_RETRY_DELAY
        SyncError.objects.bulk_create(
            [
                SyncError(
                    object_name=self.mapping.object_name,
                    sfdc_id=sfdc_id,
                    message=message[:2000],
                    run=self.run,
                    next_try_at=retry_at,
                )
                for sfdc_id, message in bad.items()
            ],
            update_conflicts=True,
            unique_fields=["object_name", "sfdc_id"],
            update_fields=["message", "run", "next_try_at", "last_seen_at"],
        )
        SyncError.objects.filter(
            object_name=self.mapping.object_name, sfdc_id__in=list(bad), resolved_at__isnull=True
        ).update(attempts=F("attempts") + 1, resolved_at=None)

    def resolve_errors(self, sfdc_ids: list[str]) -> None:
        SyncError.objects.filter(
            object_name=self.mapping.object_name, sfdc_id__in=sfdc_ids, resolved_at__isnull=True
        ).update(resolved_at=timezone.now())

    def apply_page(self, records: list[dict]) -> PageOutcome:
        outcome = PageOutcome(fetched=len(records))
        with transaction.atomic():
            if self.track_seen:
                self.remember_seen(records)
            rows = self.prepare(records, outcome)
            if self.mapping.object_name == "Lead":
                applied = LeadWriter(self).write(rows, outcome)
            else:
                applied = RecordWriter(self).write(rows, outcome)
            self.resolve_errors(applied)
            crashpoint("after_upsert_before_commit")
            if rows:
                last = max(rows, key=lambda r: (r.modstamp, r.sfdc_id))
                self.advance_watermark(last.modstamp, last.sfdc_id)
            SyncRun.objects.filter(pk=self.run.pk).update(
                heartbeat_at=timezone.now(),
                watermark_modstamp=self.state.modstamp,
                watermark_id=self.state.last_id,
                **outcome.as_updates(),
            )
        crashpoint("after_commit")
        return outcome

    def advance_watermark(self, modstamp: datetime, last_id: str) -> None:
        state = self.state
        if state.modstamp is None or (modstamp, last_id) > (state.modstamp, state.last_id):
            state.modstamp, state.last_id = modstamp, last_id
            SyncState.objects.filter(pk=state.pk).update(modstamp=modstamp, last_id=last_id)


class RecordWriter:
    """Upsert by Salesforce id for User, Account, Contact and Opportunity pages."""

    def __init__(self, sync: ObjectSync) -> None:
        self.sync = sync
        self.mapping = sync.mapping
        self.model = self.mapping.model

    def existing(self, ids: list[str]) -> dict[str, dict]:
        columns = ["pk", self.mapping.key, self.mapping.modstamp_field, "is_deleted",
                   "custom_fields", *self.mapping.columns.values()]
        if self.mapping.owner:
            columns.append("owner__sfdc_id")
        if self.mapping.tracks_changes:
            columns.append("locally_edited_at")
        rows = (
            self.model.objects.select_for_update(of=("self",))
            .filter(**{f"{self.mapping.key}__in": ids})
            .values(*columns)
        )
        return {row[self.mapping.key]: row for row in rows}

    def lookups(self, rows: list[PreparedRow], field_name: str, model: type) -> dict[str, int]:
        ids = set()
        for row in rows:
            value = row.record.get(field_name)
            if value:
                try:
                    ids.add(clean_id(value))
                except BadRecord:
                    continue
        if not ids:
            return {}
        return dict(model.objects.filter(sfdc_id__in=ids).values_list("sfdc_id", "pk"))

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> list[str]:
        mapping = self.mapping
        existing = self.existing([r.sfdc_id for r in rows])
        owners = self.lookups(rows, "OwnerId", SalesforceUser) if mapping.owner else {}
        accounts = self.lookups(rows, "AccountId", Account) if mapping.account_lookup else {}
        contacts = (
            self.lookups(rows, "ContactId", Contact) if mapping.object_name == "Opportunity" else {}
        )
        now = timezone.now()
        bad: dict[str, str] = {}
        to_write: list[Any] = []
        changes_by_account: dict[int, list[tuple[str, Any, Any]]] = {}
        merged: list[tuple[str, str]] = []
        for row in rows:
            current = existing.get(row.sfdc_id)
            stored = current and current[mapping.modstamp_field]
            if stored and row.modstamp <= stored:
                continue  # not a Salesforce update: re-reads leave local data alone
            try:
                values = mapping.convert(row.record)
                master = clean_id(row.record.get("MasterRecordId"))
                account_sfdc_id = clean_id(row.record.get("AccountId"))
            except BadRecord as exc:
                bad[row.sfdc_id] = str(exc)
                continue
            deleted = bool(row.record.get("IsDeleted"))
            values.update(
                {
                    mapping.key: row.sfdc_id,
                    mapping.modstamp_field: row.modstamp,
                    "is_deleted": deleted,
                    "synced_at": now,
                }
            )
            if mapping.owner:
                values["owner_id"] = owners.get(clean_id(row.record.get("OwnerId")) or "")
            if mapping.account_lookup:
                values["account_sfdc_id"] = account_sfdc_id
                values["account_id"] = accounts.get(account_sfdc_id)
            if mapping.object_name == "Opportunity":
                values["contact_id"] = contacts.get(clean_id(row.record.get("ContactId")) or "")
            if mapping.object_name == "Contact":
                values["sfdc_type"] = Contact.SfdcType.CONTACT
            if mapping.object_name in {"Account", "Contact"}:
                values["master_record_sfdc_id"] = master
                if deleted and master:
                    merged.append((row.sfdc_id, master))
            if mapping.tracks_changes:
                values.update(
                    sfdc_values=mapping.synced_values(row.record),
                    locally_edited_at=None,
                    locally_edited_by=None,
                )
                if current:
                    if current["locally_edited_at"]:
                        outcome.local_edits_overwritten += 1
                    if not current["is_deleted"] and not deleted:
                        changed = self.changed_fields(current, values, row.record)
                        if changed:
                            changes_by_account[current["pk"]] = changed
            if current:
                outcome.updated += 1
            else:
                outcome.created += 1
            if deleted and not (current and current["is_deleted"]):
                outcome.deleted += 1
            to_write.append(self.model(**values))
            written_fields = list(values)
        self.sync.quarantine(bad, outcome)
        if to_write:
            update_fields = [name for name in written_fields if name != mapping.key]
            self.model.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=[mapping.key],
                update_fields=update_fields,
            )
        if changes_by_account:
            logged = change_data_value_log(
                changes_by_account=changes_by_account,
                source=Activity.Source.SFDC_SYNC,
                reason="Salesforce update",
                sync_run_id=self.sync.run.pk,
            )
            outcome.activities_logged += logged.activities_logged
            outcome.accounts_skipped_activity_limit += logged.accounts_skipped
        written = [obj_key(o, mapping.key) for o in to_write]
        if mapping.object_name == "Account" and written:
            link_orphans(written)
        if merged:
            self.apply_merges(merged)
        return written

    def changed_fields(
        self, current: dict, values: dict, record: dict
    ) -> list[tuple[str, Any, Any]]:
        """(attribute, old local value, new value) for every field whose local value changes."""
        changes = []
        for sf_name, column in self.mapping.columns.items():
            if current[column] != values[column]:
                changes.append((sf_name, current[column], values[column]))
        new_owner = clean_id(record.get("OwnerId"))
        if (current.get("owner__sfdc_id") or "") != new_owner:
            changes.append(("OwnerId", current.get("owner__sfdc_id"), new_owner or None))
        old_custom, new_custom = current["custom_fields"] or {}, values["custom_fields"]
        for name in sorted(set(old_custom) | set(new_custom)):
            if name in SYSTEM_FIELDS:
                continue
            if old_custom.get(name) != new_custom.get(name):
                changes.append((name, old_custom.get(name), new_custom.get(name)))
        return changes

    def apply_merges(self, merged: list[tuple[str, str]]) -> None:
        """Move what hangs off a merged-away record to the surviving one."""
        survivors = dict(
            self.model.objects.filter(sfdc_id__in=[m for _, m in merged]).values_list(
                "sfdc_id", "pk"
            )
        )
        losers = dict(
            self.model.objects.filter(sfdc_id__in=[loser for loser, _ in merged]).values_list(
                "sfdc_id", "pk"
            )
        )
        unknown = {}
        for loser, master in merged:
            survivor_pk = survivors.get(master)
            if survivor_pk is None:
                unknown[loser] = f"merged into {master}, which is not synced yet"
                continue
            loser_pk = losers[loser]
            if self.mapping.object_name == "Account":
                Contact.objects.filter(account_id=loser_pk).update(
                    account_id=survivor_pk, account_sfdc_id=master
                )
                Opportunity.objects.filter(account_id=loser_pk).update(
                    account_id=survivor_pk, account_sfdc_id=master
                )
            else:
                Activity.objects.filter(contact_id=loser_pk).update(contact_id=survivor_pk)
                Opportunity.objects.filter(contact_id=loser_pk).update(contact_id=survivor_pk)
        self.sync.quarantine(unknown, PageOutcome())


def obj_key(instance: Any, key: str) -> str:
    return getattr(instance, key)


def link_orphans(account_sfdc_ids: list[str]) -> None:
    """Contacts and opportunities that arrived before their account get it now."""
    for model in (Contact, Opportunity):
        table = connection.ops.quote_name(model._meta.db_table)
        account_table = connection.ops.quote_name(Account._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS child SET account_id = a.id
                FROM {account_table} a
                WHERE child.account_id IS NULL AND child.account_sfdc_id = a.sfdc_id
                  AND a.sfdc_id = ANY(%s)
                """,  # noqa: S608 - table names from model metadata
                [account_sfdc_ids],
            )


class LeadWriter:
    """Leads are people: a converted lead keeps its row, which gains the contact id."""

    def __init__(self, sync: ObjectSync) -> None:
        self.sync = sync
        self.mapping = sync.mapping

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> list[str]:
        lead_ids = [r.sfdc_id for r in rows]
        by_lead = {
            p["sfdc_lead_id"]: p
            for p in Contact.objects.select_for_update()
            .filter(sfdc_lead_id__in=lead_ids)
            .values("pk", "sfdc_lead_id", "sfdc_id", "sfdc_type", "sfdc_lead_last_modified")
        }
        owners = RecordWriter(self.sync).lookups(rows, "OwnerId", SalesforceUser)
        now = timezone.now()
        bad: dict[str, str] = {}
        plain: list[Contact] = []
        written: list[str] = []
        for row in rows:
            current = by_lead.get(row.sfdc_id)
            stored = current and current["sfdc_lead_last_modified"]
            if stored and row.modstamp <= stored:
                continue
            try:
                values = self.mapping.convert(row.record)
                converted_contact = (
                    clean_id(row.record.get("ConvertedContactId"))
                    if row.record.get("IsConverted")
                    else ""
                )
            except BadRecord as exc:
                bad[row.sfdc_id] = str(exc)
                continue
            values.update(
                sfdc_lead_id=row.sfdc_id,
                sfdc_lead_last_modified=row.modstamp,
                owner_id=owners.get(clean_id(row.record.get("OwnerId")) or ""),
                synced_at=now,
            )
            written.append(row.sfdc_id)
            if current:
                outcome.updated += 1
            else:
                outcome.created += 1
            if converted_contact:
                self.link_conversion(current, converted_contact, values)
            elif current and current["sfdc_type"] == Contact.SfdcType.CONTACT:
                Contact.objects.filter(pk=current["pk"]).update(
                    sfdc_lead_last_modified=row.modstamp
                )
            else:
                values["is_deleted"] = bool(row.record.get("IsDeleted"))
                outcome.deleted += int(values["is_deleted"])
                plain.append(Contact(sfdc_type=Contact.SfdcType.LEAD, **values))
        self.sync.quarantine(bad, outcome)
        if plain:
            Contact.objects.bulk_create(
                plain,
                update_conflicts=True,
                unique_fields=["sfdc_lead_id"],
                update_fields=[
                    *self.mapping.columns.values(), "custom_fields", "sfdc_lead_last_modified",
                    "owner", "synced_at", "is_deleted",
                ],
            )
        return written

    def link_conversion(self, current: dict | None, contact_id: str, values: dict) -> None:
        """Converted in Salesforce (rare): the person row gains the contact id, stays one row."""
        contact_row = Contact.objects.select_for_update().filter(sfdc_id=contact_id).first()
        if current and contact_row and contact_row.pk != current["pk"]:
            Activity.objects.filter(contact=contact_row).update(contact_id=current["pk"])
            Opportunity.objects.filter(contact=contact_row).update(contact_id=current["pk"])
            contact_row.delete()
            contact_row = None
        link = {
            "sfdc_id": contact_id,
            "sfdc_type": Contact.SfdcType.CONTACT,
            "sfdc_lead_id": values["sfdc_lead_id"],
            "sfdc_lead_last_modified": values["sfdc_lead_last_modified"],
        }
        if current:
            Contact.objects.filter(pk=current["pk"]).update(**link)
        elif contact_row:
            Contact.objects.filter(pk=contact_row.pk).update(**link)
        else:
            person = {k: v for k, v in values.items() if k not in link}
            Contact.objects.create(**person, **link)
