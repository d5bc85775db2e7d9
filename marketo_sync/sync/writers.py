"""Set-based writes of one page: upsert by Salesforce id, people, merges, orphans.

Every writer loads the rows its page touches in one query (locked, so a concurrent local edit is
wholly before or after the sync's write), decides per record in Python, and writes with a constant
number of statements. Only a record whose SystemModstamp is newer than the stored one changes
local data: re-reads of unchanged records leave local edits alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, models
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.salesforce_fields import BadRecord, clean_id
from activities.models import Activity
from activities.services import FieldChange, change_data_value_log
from marketo_sync.sync.mapping import SYSTEM_FIELDS, ObjectMapping

if TYPE_CHECKING:
    from marketo_sync.sync.engine import ObjectSync


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
        return {name: models.F(name) + value for name, value in vars(self).items() if value}


@dataclass
class PreparedRow:
    """A record with its checked key and, converted ahead of the write, its column values.

    The conversion is pure (no database), so it runs in the prefetch thread while the page
    before is being written; a value that cannot be stored leaves `error` instead.
    """

    record: dict
    sfdc_id: str
    modstamp: datetime
    values: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def converted(self) -> dict[str, Any]:
        """The column values, or the record's BadRecord; each row is written once."""
        if self.error:
            raise BadRecord(self.error)
        return self.values


def quoted_table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def upsert(
    model: type[models.Model], key: str, rows: list[dict[str, Any]], update_fields: list[str]
) -> None:
    """Insert or update a page of rows by their unique `key` in one statement.

    `INSERT … SELECT FROM unnest(one typed array per column) ON CONFLICT (key) DO UPDATE`: no
    model instances, no per-value preparation (the values are already converted and checked by
    the mapping). Django's bulk_create builds and prepares one instance per row, which made it
    the slowest step of a full sync. Columns a row does not name get the field's default.
    """
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    arrays: list[list[Any]] = []
    for column in fields:
        default = column.get_default()
        values = [row.get(column.attname, row.get(column.name, default)) for row in rows]
        if isinstance(column, models.JSONField):
            values = [None if v is None else json.dumps(v, cls=column.encoder) for v in values]
        arrays.append(values)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    casts = ", ".join(
        "%s::jsonb[]" if isinstance(f, models.JSONField) else f"%s::{f.db_type(connection)}[]"
        for f in fields
    )
    updates = ", ".join(
        f"{quote(column)} = EXCLUDED.{quote(column)}"
        for column in (model._meta.get_field(name).column for name in update_fields)
    )
    key_column = quote(model._meta.get_field(key).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quoted_table(model)} ({columns}) "  # noqa: S608 - model metadata
            f"SELECT * FROM unnest({casts}) ON CONFLICT ({key_column}) DO UPDATE SET {updates}",
            arrays,
        )


def lookup_ids(rows: list[PreparedRow], field_name: str, model: type[models.Model]) -> dict:
    """Local pk by Salesforce id for one lookup field of the page (one query)."""
    ids = set()
    for row in rows:
        try:
            value = clean_id(row.record.get(field_name))
        except BadRecord:
            continue
        if value:
            ids.add(value)
    if not ids:
        return {}
    return dict(model.objects.filter(sfdc_id__any_of=ids).values_list("sfdc_id", "pk"))


def reassign_related(model: type[models.Model], pairs: list[tuple[int, int]]) -> None:
    """Point everything that references a loser row at its survivor: one UPDATE per relation.

    Walks the model's reverse foreign keys, so a relation added later moves too.
    """
    if not pairs:
        return
    losers, survivors = (list(column) for column in zip(*pairs, strict=True))
    for relation in model._meta.related_objects:
        if not relation.one_to_many:  # reverse side of a ForeignKey
            continue
        table = quoted_table(relation.related_model)
        column = connection.ops.quote_name(relation.field.column)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS r SET {column} = v.survivor
                FROM unnest(%s::bigint[], %s::bigint[]) AS v(loser, survivor)
                WHERE r.{column} = v.loser
                """,  # noqa: S608 - identifiers from model metadata
                [losers, survivors],
            )


def link_orphans(account_sfdc_ids: list[str]) -> None:
    """Contacts and opportunities stored before their account arrived get it now."""
    for model in (Contact, Opportunity):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {quoted_table(model)} AS child SET account_id = a.id
                FROM {quoted_table(Account)} a
                WHERE child.account_id IS NULL AND child.account_sfdc_id <> ''
                  AND child.account_sfdc_id = a.sfdc_id AND a.sfdc_id = ANY(%s)
                """,  # noqa: S608 - table names from model metadata
                [account_sfdc_ids],
            )


class RecordWriter:
    """Upsert by Salesforce id for User, Account, Contact and Opportunity pages."""

    def __init__(self, sync: ObjectSync) -> None:
        self.sync = sync
        self.mapping: ObjectMapping = sync.mapping
        self.model = self.mapping.model

    def existing(self, ids: list[str]) -> dict[str, dict]:
        mapping = self.mapping
        columns = ["pk", mapping.key, mapping.modstamp_field, "is_deleted", "custom_fields",
                   *mapping.columns.values()]
        if mapping.owner:
            columns.append("owner__sfdc_id")
        if mapping.tracks_changes:
            columns.append("locally_edited_at")
        if mapping.account_lookup:
            columns += ["account_id", "account_sfdc_id"]
        # Locked in key order, so two writers touching the same rows (a re-sync beside a cycle)
        # wait for each other instead of deadlocking.
        rows = (
            self.model.objects.select_for_update(of=("self",))
            .filter(**{f"{mapping.key}__any_of": ids})
            .order_by(mapping.key)
            .values(*columns)
        )
        return {row[mapping.key]: row for row in rows}

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> list[str]:
        """Apply the page; returns the ids that are fine (applied, or unchanged and stored)."""
        mapping = self.mapping
        existing = self.existing([r.sfdc_id for r in rows])
        owners = lookup_ids(rows, "OwnerId", SalesforceUser) if mapping.owner else {}
        accounts = lookup_ids(rows, "AccountId", Account) if mapping.account_lookup else {}
        contacts = (
            lookup_ids(rows, "ContactId", Contact) if mapping.object_name == "Opportunity" else {}
        )
        now = timezone.now()
        bad: dict[str, str] = {}
        ok: list[str] = []
        to_write: list[dict[str, Any]] = []
        changes_by_account: dict[int, list[FieldChange]] = {}
        merged: list[tuple[str, str]] = []
        # Contacts stored without their (unknown) account stay quarantined: resolving them here
        # would reopen them as new errors every cycle and reset their retry backoff.
        waiting_for_account: set[str] = set()
        for row in rows:
            current = existing.get(row.sfdc_id)
            try:
                master = clean_id(row.record.get("MasterRecordId"))
                deleted = bool(row.record.get("IsDeleted"))
                stored = current and current[mapping.modstamp_field]
                if stored and row.modstamp <= stored:
                    ok.append(row.sfdc_id)  # not a Salesforce update: local data stays
                    if self.waits_for_account(current):
                        waiting_for_account.add(row.sfdc_id)
                    if deleted and master:
                        merged.append((row.sfdc_id, master))  # idempotent: nothing left to move
                    continue
                values = row.converted()
                account_sfdc_id = clean_id(row.record.get("AccountId"))
            except BadRecord as exc:
                bad[row.sfdc_id] = str(exc)
                continue
            ok.append(row.sfdc_id)
            values.update(
                {
                    mapping.key: row.sfdc_id,
                    mapping.modstamp_field: row.modstamp,
                    "is_deleted": deleted,
                    "synced_at": now,
                }
            )
            if mapping.owner:
                values["owner_id"] = owners.get(clean_id(row.record.get("OwnerId")))
            if mapping.account_lookup:
                values["account_sfdc_id"] = account_sfdc_id
                values["account_id"] = accounts.get(account_sfdc_id)
                if self.waits_for_account(values):
                    waiting_for_account.add(row.sfdc_id)
            if mapping.object_name == "Opportunity":
                values["contact_id"] = contacts.get(clean_id(row.record.get("ContactId")))
            if mapping.object_name == "Contact":
                values["sfdc_type"] = Contact.SfdcType.CONTACT
            if mapping.merges:
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
            to_write.append(values)
        self.sync.quarantine(bad, outcome)
        if to_write:
            upsert(
                self.model, mapping.key, to_write,
                [name for name in to_write[0] if name != mapping.key],
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
        if mapping.object_name == "Account" and to_write:
            link_orphans([values[mapping.key] for values in to_write])
        unmerged = self.apply_merges(merged)
        return [
            sfdc_id for sfdc_id in ok
            if sfdc_id not in unmerged and sfdc_id not in waiting_for_account
        ]

    def waits_for_account(self, row: dict) -> bool:
        """A live contact whose account is not in the local copy (see record_unknown_accounts)."""
        return (
            self.mapping.object_name == "Contact"
            and bool(row["account_sfdc_id"])
            and row["account_id"] is None
            and not row["is_deleted"]
        )

    def changed_fields(self, current: dict, values: dict, record: dict) -> list[FieldChange]:
        """(attribute, old local value, new value) for every field whose local value changes."""
        changes = [
            (sf_name, current[column], values[column])
            for sf_name, column in self.mapping.columns.items()
            if current[column] != values[column]
        ]
        new_owner = clean_id(record.get("OwnerId"))
        if (current.get("owner__sfdc_id") or "") != new_owner:
            changes.append(("OwnerId", current.get("owner__sfdc_id"), new_owner or None))
        old_custom, new_custom = current["custom_fields"] or {}, values["custom_fields"]
        for name in sorted(set(old_custom) | set(new_custom)):
            if name not in SYSTEM_FIELDS and old_custom.get(name) != new_custom.get(name):
                changes.append((name, old_custom.get(name), new_custom.get(name)))
        return changes

    def apply_merges(self, merged: list[tuple[str, str]]) -> set[str]:
        """Move what hangs off merged-away records to the survivors; returns losers whose
        survivor is not synced yet (quarantined, so the move is retried)."""
        if not merged:
            return set()
        key = self.mapping.key
        pks = dict(
            self.model.objects.filter(
                **{f"{key}__in": {sfdc_id for pair in merged for sfdc_id in pair}}
            ).values_list(key, "pk")
        )
        pairs, unknown = [], {}
        for loser, master in merged:
            if master in pks:
                pairs.append((pks[loser], pks[master]))
            else:
                unknown[loser] = f"merged into {master}, which is not synced yet"
        reassign_related(self.model, pairs)
        if self.model is Account and pairs:
            self.follow_account_ids([survivor for _, survivor in pairs])
        self.sync.quarantine(unknown, PageOutcome())
        return set(unknown)

    @staticmethod
    def follow_account_ids(account_pks: list[int]) -> None:
        """Children moved to a surviving account also carry its Salesforce id."""
        for model in (Contact, Opportunity):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""
                    UPDATE {quoted_table(model)} AS child SET account_sfdc_id = a.sfdc_id
                    FROM {quoted_table(Account)} a
                    WHERE child.account_id = a.id AND a.id = ANY(%s)
                      AND child.account_sfdc_id <> a.sfdc_id
                    """,  # noqa: S608 - table names from model metadata
                    [account_pks],
                )


# The columns a Contact record writes; a converted lead's row takes them over from a contact row
# that the Contact sync created before the conversion reached the Lead sync.
CONTACT_DATA_COLUMNS = (
    "first_name", "last_name", "email", "phone", "title", "account_id", "account_sfdc_id",
    "owner_id", "sfdc_last_modified", "custom_fields", "master_record_sfdc_id", "is_deleted",
    "synced_at",
)
LEAD_UPSERT_FIELDS = (
    "first_name", "last_name", "email", "phone", "title", "company", "lead_status",
    "custom_fields", "sfdc_lead_last_modified", "owner", "synced_at", "is_deleted",
    "master_record_sfdc_id",
)


@dataclass
class Conversion:
    row: PreparedRow
    current: dict | None
    contact_id: str
    values: dict


class LeadWriter:
    """Leads are people: a converted lead keeps its row, which gains the contact id.

    A lead converted into a contact that another person row already holds (several leads merged
    into one contact) is marked merged into that contact, and its history moves there.
    """

    def __init__(self, sync: ObjectSync) -> None:
        self.sync = sync
        self.mapping = sync.mapping

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> list[str]:
        by_lead = {
            p["sfdc_lead_id"]: p
            for p in Contact.objects.select_for_update()
            .filter(sfdc_lead_id__any_of=[r.sfdc_id for r in rows])
            .values("pk", "sfdc_lead_id", "sfdc_id", "sfdc_type", "sfdc_lead_last_modified",
                    "is_deleted", "master_record_sfdc_id")
        }
        owners = lookup_ids(rows, "OwnerId", SalesforceUser)
        now = timezone.now()
        bad: dict[str, str] = {}
        ok: list[str] = []
        upserts: list[dict[str, Any]] = []
        touched: list[Contact] = []
        conversions: list[Conversion] = []
        merged: list[tuple[str, str]] = []
        for row in rows:
            current = by_lead.get(row.sfdc_id)
            try:
                master = clean_id(row.record.get("MasterRecordId"))
                deleted = bool(row.record.get("IsDeleted"))
                stored = current and current["sfdc_lead_last_modified"]
                if stored and row.modstamp <= stored:
                    ok.append(row.sfdc_id)
                    if deleted and master:
                        merged.append((row.sfdc_id, master))
                    continue
                values = row.converted()
                converted_contact = (
                    clean_id(row.record.get("ConvertedContactId"))
                    if row.record.get("IsConverted")
                    else ""
                )
            except BadRecord as exc:
                bad[row.sfdc_id] = str(exc)
                continue
            ok.append(row.sfdc_id)
            values.update(
                sfdc_lead_id=row.sfdc_id,
                sfdc_lead_last_modified=row.modstamp,
                owner_id=owners.get(clean_id(row.record.get("OwnerId"))),
                synced_at=now,
                is_deleted=deleted,
                master_record_sfdc_id=master,
            )
            if current:
                outcome.updated += 1
            else:
                outcome.created += 1
            if converted_contact:
                conversions.append(Conversion(row, current, converted_contact, values))
            elif current and current["sfdc_type"] == Contact.SfdcType.CONTACT:
                touched.append(self.touch(current, row.modstamp))  # the contact side rules
            else:
                if deleted and not (current and current["is_deleted"]):
                    outcome.deleted += 1
                upserts.append({"sfdc_type": Contact.SfdcType.LEAD, **values})
                if deleted and master:
                    merged.append((row.sfdc_id, master))
        self.sync.quarantine(bad, outcome)
        into_contacts = self.link_conversions(conversions, upserts, touched)
        upsert(Contact, "sfdc_lead_id", upserts, list(LEAD_UPSERT_FIELDS))
        if touched:
            Contact.objects.bulk_update(
                touched, ["sfdc_lead_last_modified", "is_deleted", "master_record_sfdc_id"]
            )
        self.merge_leads(merged)
        self.merge_into_contacts(into_contacts)
        return ok

    @staticmethod
    def touch(
        current: dict, modstamp: datetime, merged_into: str | None = None
    ) -> Contact:
        return Contact(
            pk=current["pk"],
            sfdc_lead_last_modified=modstamp,
            is_deleted=True if merged_into else current["is_deleted"],
            master_record_sfdc_id=merged_into or current["master_record_sfdc_id"],
        )

    def link_conversions(
        self,
        conversions: list[Conversion],
        upserts: list[dict[str, Any]],
        touched: list[Contact],
    ) -> list[tuple[int, str]]:
        """Give converted leads' rows their contact id; returns (row pk, contact id) of leads
        merged into a contact another row holds."""
        if not conversions:
            return []
        targets = {
            c["sfdc_id"]: c
            for c in Contact.objects.select_for_update()
            .filter(sfdc_id__in=[c.contact_id for c in conversions])
            .values("pk", "sfdc_id", "sfdc_lead_id")
        }
        claimed: set[str] = set()
        relinked: list[Contact] = []
        absorbed: list[tuple[int, int]] = []
        into_contacts: list[tuple[int, str]] = []
        for conversion in conversions:
            lead_id, contact_id = conversion.row.sfdc_id, conversion.contact_id
            current, target = conversion.current, targets.get(contact_id)
            link = {
                "sfdc_id": contact_id,
                "sfdc_type": Contact.SfdcType.CONTACT,
                "sfdc_lead_id": lead_id,
                "sfdc_lead_last_modified": conversion.row.modstamp,
            }
            held_by_other_lead = target and target["sfdc_lead_id"] not in (None, lead_id)
            if contact_id in claimed or held_by_other_lead:
                if current:
                    touched.append(self.touch(current, conversion.row.modstamp, contact_id))
                    into_contacts.append((current["pk"], contact_id))
                else:
                    upserts.append({
                        **conversion.values, "sfdc_type": Contact.SfdcType.LEAD,
                        "is_deleted": True, "master_record_sfdc_id": contact_id,
                    })
            elif current:
                if target and target["pk"] != current["pk"]:
                    absorbed.append((target["pk"], current["pk"]))
                relinked.append(Contact(pk=current["pk"], **link))
            elif target:
                relinked.append(Contact(pk=target["pk"], **link))
            else:
                upserts.append({**conversion.values, **link})
            claimed.add(contact_id)
        self.absorb(absorbed)
        if relinked:
            Contact.objects.bulk_update(
                relinked, ["sfdc_id", "sfdc_type", "sfdc_lead_id", "sfdc_lead_last_modified"]
            )
        return into_contacts

    @staticmethod
    def absorb(pairs: list[tuple[int, int]]) -> None:
        """(contact row, lead row): the lead's row takes over the contact row's data and
        history, and the contact row goes (its contact id moves to the lead's row)."""
        if not pairs:
            return
        table = quoted_table(Contact)
        assignments = ", ".join(f"{c} = k.{c}" for c in CONTACT_DATA_COLUMNS)
        contact_rows, lead_rows = (list(column) for column in zip(*pairs, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS l SET {assignments}
                FROM {table} k, unnest(%s::bigint[], %s::bigint[]) AS v(k, l)
                WHERE k.id = v.k AND l.id = v.l
                """,  # noqa: S608 - identifiers from model metadata
                [contact_rows, lead_rows],
            )
        reassign_related(Contact, pairs)
        Contact.objects.filter(pk__in=contact_rows).delete()

    @staticmethod
    def merge_leads(merged: list[tuple[str, str]]) -> None:
        """A lead merged into another: its history moves to the surviving lead's person."""
        if not merged:
            return
        pks = dict(
            Contact.objects.filter(
                sfdc_lead_id__in={sfdc_id for pair in merged for sfdc_id in pair}
            ).values_list("sfdc_lead_id", "pk")
        )
        reassign_related(
            Contact,
            [(pks[loser], pks[master]) for loser, master in merged
             if loser in pks and master in pks and pks[loser] != pks[master]],
        )

    @staticmethod
    def merge_into_contacts(into: list[tuple[int, str]]) -> None:
        if not into:
            return
        pks = dict(
            Contact.objects.filter(sfdc_id__in={c for _, c in into}).values_list("sfdc_id", "pk")
        )
        reassign_related(
            Contact, [(pk, pks[c]) for pk, c in into if c in pks and pks[c] != pk]
        )
