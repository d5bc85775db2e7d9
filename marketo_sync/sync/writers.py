"""Set-based writes of one page: upsert by Salesforce id, people, merges, orphans.

Every writer loads the rows its page touches in one query (locked, so a concurrent local edit is
wholly before or after the sync's write), decides per record in Python, and writes with a constant
number of statements. Only a record whose SystemModstamp is newer than the stored one changes
local data: re-reads of unchanged records leave local edits alone.
"""

import csv
import io
import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from django.db import connection, models, transaction
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.salesforce_fields import (
    LEAD_COMPANY_FIELDS,
    PERSON_SALESFORCE_DATES,
    BadRecord,
    clean_id,
)
from accounts.services import person_absorb
from activities.models import Activity
from activities.services import FieldChange, account_changes_log
from marketo_sync.db import quoted_column, quoted_table, reassign_related
from marketo_sync.fields import concrete_field
from marketo_sync.sync.mapping import SYSTEM_FIELDS, ObjectMapping


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
    line: str = ""  # the row as the staging COPY's CSV (`RecordWriter.stage`)

    def converted(self) -> dict[str, Any]:
        """The column values, or the record's BadRecord; each row is written once."""
        if self.error:
            raise BadRecord(self.error)
        return self.values


def named_fields(fields: list[models.Field], rows: list[dict[str, Any]]) -> list[models.Field]:
    """The fields that at least one row names, by field (`owner`) or column (`owner_id`)."""
    names: set[str] = set()
    for row in rows:
        names.update(row)
    return [f for f in fields if f.attname in names or f.name in names]


class CsvLines(list):
    """A file for csv.writer that keeps each written row as its own line of COPY's CSV.

    The csv module quotes in C, not a Python call per value. An empty unquoted value is NULL to
    COPY, so None is written as one; text columns that cannot be NULL read it back as ''
    (`FORCE_NOT_NULL`).
    """

    write = list.append


# JSON columns are encoded as their JSONField does (no custom encoder).
encode_json = json.JSONEncoder().encode


def csv_lines(fields: list[models.Field], rows: list[dict[str, Any]]) -> list[str]:
    """The rows' values of these fields as lines of COPY's CSV. A row that lacks one of the
    fields gets the field's default; a row may name a relation by the field (`owner`) or its
    column (`owner_id`)."""
    attnames = [f.attname for f in fields]
    known = set(attnames)
    defaults = {f.attname: f.get_default() for f in fields}
    renames = {f.name: f.attname for f in fields if f.name != f.attname}
    as_json = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    pick = operator.itemgetter(*attnames)
    lines = CsvLines()
    writer = csv.writer(lines, lineterminator="\n")
    for row in rows:
        if row.keys() != known:
            row = {**defaults, **{renames.get(name, name): value for name, value in row.items()}}
        values = pick(row)
        if as_json:
            values = list(values)
            for index in as_json:
                if values[index] is not None:
                    values[index] = encode_json(values[index])
        writer.writerow(values)
    return lines


def not_null_text(fields: list[models.Field]) -> list[models.Field]:
    return [f for f in fields if not f.null and isinstance(f, models.CharField | models.TextField)]


def upsert(
    model: type[models.Model], key: str, rows: list[dict[str, Any]], update_fields: list[str]
) -> None:
    """Insert or update a page of rows given as column values (see `upsert_staged`); on a
    conflict only `update_fields` change."""
    if not rows:
        return
    fields = named_fields([f for f in model._meta.concrete_fields if not f.primary_key], rows)
    upsert_staged(model, key, [f.attname for f in fields], csv_lines(fields, rows),
                  update_fields=update_fields)


@dataclass(frozen=True)
class Lookup:
    """A relation filled by joining the staged Salesforce id to the related table."""

    column: str  # the relation's column, e.g. owner_id
    staged: str  # the staging column holding the related record's Salesforce id
    model: type[models.Model]
    record_field: str  # the Salesforce field naming the related record, e.g. OwnerId


def upsert_staged(
    model: type[models.Model],
    key: str,
    staged: list[str],
    lines: list[str],
    lookups: list[Lookup] | None = None,
    constants: dict[str, Any] | None = None,
    returning: tuple[str, ...] = (),
    update_fields: list[str] | None = None,
) -> list[tuple]:
    """Insert or update rows staged as CSV lines of the `staged` columns (model columns, then
    the lookups' Salesforce ids): COPY into a temporary table, then one `INSERT … SELECT … ON
    CONFLICT (key) DO UPDATE`, which looks up each lookup's local id by its Salesforce id and
    binds the page's `constants` and the other columns' defaults once. On a conflict every
    column it writes changes, or only `update_fields`. Returns `returning` columns of each
    written row, key first.

    No model instances and no per-value SQL: COPY's CSV is parsed in one pass (the same page
    bound as one SQL array per column made PostgreSQL parse tens of thousands of literals, twice
    the time of the write itself), and the lines can be built before the page's transaction.
    """
    if not lines:
        return []
    lookups, constants = lookups or [], constants or {}
    meta = model._meta
    columns = {f.attname for f in meta.concrete_fields}
    lookup_columns = [name for name in staged if name not in columns]  # Salesforce ids only
    stored = [concrete_field(model, name) for name in staged if name in columns]
    related = [concrete_field(model, lookup.column) for lookup in lookups]
    fixed = [concrete_field(model, name) for name in constants]
    written = {f.attname for f in (*stored, *related, *fixed)}
    defaulted = [
        f for f in meta.concrete_fields if not f.primary_key and f.attname not in written
    ]
    quote = connection.ops.quote_name
    table = quoted_table(model)
    staging = quote(f"staging_{meta.db_table}")
    extra = "".join(f", NULL::varchar(18) AS {quote(name)}" for name in lookup_columns)
    # A probe of the related table's Salesforce id index per staged row: a join would hash the
    # whole related table (every account) for each page of a few thousand rows.
    probes = [
        f"(SELECT id FROM {quoted_table(lookup.model)} "  # noqa: S608 - model metadata
        f"WHERE sfdc_id = page.{quote(lookup.staged)})"
        for lookup in lookups
    ]
    selected = [
        *(f"page.{quoted_column(f)}" for f in stored),
        *probes,
        *(f"CAST(%s AS {f.db_type(connection)})" for f in (*fixed, *defaulted)),
    ]
    parameters = [
        *(f.get_db_prep_save(value, connection) for f, value in zip(fixed, constants.values(),
                                                                      strict=True)),
        *(f.get_db_prep_save(f.get_default(), connection) for f in defaulted),
    ]
    inserted = [quoted_column(f) for f in (*stored, *related, *fixed, *defaulted)]
    key_column = quoted_column(concrete_field(model, key))
    changed = (
        [*stored, *related, *fixed] if update_fields is None
        else [concrete_field(model, name) for name in update_fields]
    )
    updates = ", ".join(
        f"{column} = EXCLUDED.{column}"
        for column in (quoted_column(f) for f in changed)
        if column != key_column
    )
    returned = ", ".join(quoted_column(concrete_field(model, name)) for name in (key, *returning))
    copied = [
        quote(name) if name in lookup_columns else quoted_column(concrete_field(model, name))
        for name in staged
    ]
    text = ", ".join(quoted_column(f) for f in not_null_text(stored))
    options = f"FORMAT csv, FORCE_NOT_NULL ({text})" if text else "FORMAT csv"
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Shaped by this call's columns, so dropped when it is done rather than at the commit.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} AS "  # noqa: S608 - model metadata
            f"SELECT {', '.join(quoted_column(f) for f in stored)}{extra} FROM {table} "
            "WITH NO DATA"
        )
        # In one read (the size argument): psycopg2 reads 8 KB at a time by default, and each
        # read waits for the GIL, which the thread preparing the next page holds.
        cursor.copy_expert(
            f"COPY {staging} ({', '.join(copied)}) FROM STDIN WITH ({options})",
            io.StringIO(data := "".join(lines)), len(data) + 1,
        )
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(inserted)}) "  # noqa: S608 - model metadata
            f"SELECT {', '.join(selected)} FROM {staging} page "
            f"ON CONFLICT ({key_column}) DO UPDATE SET {updates} RETURNING {returned}",
            parameters,
        )
        written_rows = cursor.fetchall()
        cursor.execute(f"DROP TABLE {staging}")
        return written_rows


def fill_columns(
    model: type[models.Model], key: str, rows: list[dict[str, Any]], columns: list[str]
) -> None:
    """Set only these columns of existing rows found by their `key`, in one statement."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in (key, *columns)]
    arrays = [[row[name] for row in rows] for name in (key, *columns)]
    casts = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    names = [quoted_column(field) for field in fields]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quoted_table(model)} AS t SET {assignments} "  # noqa: S608 - metadata
            f"FROM unnest({casts}) AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}",
            arrays,
        )


def unfilled_values(row: PreparedRow, current: Mapping[str, Any], columns: list[str]) -> dict:
    """The values of newly mapped columns that a stored row lacks, if Salesforce's differ."""
    if row.error or all(current[column] == row.values[column] for column in columns):
        return {}
    return {column: row.values[column] for column in columns}


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
    return dict(model._default_manager.filter(sfdc_id__any_of=ids).values_list("sfdc_id", "pk"))


def children_follow_accounts(*, only_unlinked: bool, account_field: str, ids: list) -> None:
    """Contacts and opportunities take their account's local row and Salesforce id.

    `only_unlinked`: children stored before their account arrived (matched by the account's
    Salesforce id, `account_field="sfdc_id"`) get its row; otherwise children of these account
    rows (`account_field="id"`, e.g. survivors of a merge) take the survivor's Salesforce id.
    """
    if only_unlinked:
        assignment = "account_id = a.id"
        condition = "child.account_id IS NULL AND child.account_sfdc_id <> '' " \
            "AND child.account_sfdc_id = a.sfdc_id"
    else:
        assignment = "account_sfdc_id = a.sfdc_id"
        condition = "child.account_id = a.id AND child.account_sfdc_id <> a.sfdc_id"
    for model in (Contact, Opportunity):
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {quoted_table(model)} AS child SET {assignment}
                FROM {quoted_table(Account)} a
                WHERE {condition} AND a.{account_field} = ANY(%s)
                """,  # noqa: S608 - identifiers from model metadata and constants
                [ids],
            )


@dataclass
class WriteResult:
    """What a writer made of its page: the ids that are fine (applied, or unchanged and already
    stored), the records to quarantine (id → why), and the ids whose rows it wrote with the
    run's stamp (`synced_by_run`). The engine records the first two; a full read notes the ids
    it saw that are not stamped."""

    fine: list[str]
    bad: dict[str, str]
    stamped: set[str] = field(default_factory=set)


class PageWriter(Protocol):
    def stage(self, rows: list[PreparedRow]) -> None: ...

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> WriteResult: ...


class RecordWriter:
    """Upsert by Salesforce id: what every object kind shares (Users need nothing more).

    A page is staged before its transaction (`stage`: each row's values as a CSV line, in the
    prefetch thread), then written: the writer reads the stored rows, decides per record and
    sends the lines of the records it applies. Subclasses add their kind's columns through the
    hooks `lookups` (relations, staged as Salesforce ids and joined), `staged_columns` with
    `staged_values`, `constants`, `existing_columns`, `keep_unchanged`, `track_update` and
    `after_upsert`. `unfilled` names the columns mapped since the rows were stored: an
    unchanged record fills those, and only those (they hold no local edits).
    """

    returning: tuple[str, ...] = ()  # columns of the written rows `after_upsert` needs
    # Whether two pages may be written at once (see `ObjectSync.apply_stream`): true while a
    # page's writes stay on the rows of its own records.
    pages_overlap = True

    def __init__(
        self, mapping: ObjectMapping, run_id: int | None, unfilled: tuple[str, ...] = ()
    ) -> None:
        self.mapping = mapping
        self.model = mapping.model
        self.run_id = run_id
        self.unfilled = list(unfilled)
        # Applied or unchanged, yet still quarantined (e.g. a contact waiting for its account).
        self.held_back: set[str] = set()
        self.bad: dict[str, str] = {}

    def staged_columns(self) -> list[str]:
        """What a staged line holds: model columns, then the lookups' Salesforce ids."""
        mapping = self.mapping
        columns = [mapping.key, mapping.modstamp_field, "is_deleted", *mapping.columns.values(),
                   "custom_fields"]
        if mapping.merges:
            columns.append("master_record_sfdc_id")
        return [*columns, *(lookup.staged for lookup in self.related)]

    def staged_values(self, row: PreparedRow) -> list[Any]:
        """The `staged_columns` of a converted row, with no database; may raise BadRecord."""
        mapping, record, values = self.mapping, row.record, row.values
        # The SystemModstamp as Salesforce sent it (`prepare` checked its form): PostgreSQL
        # reads it as it is, where the parsed datetime would be formatted back into text.
        staged = [row.sfdc_id, record["SystemModstamp"], bool(record.get("IsDeleted")),
                  *mapping.column_values(values), encode_json(values["custom_fields"])]
        if mapping.merges:
            staged.append(clean_id(record.get("MasterRecordId")))
        staged.extend(clean_id(record.get(lookup.record_field)) for lookup in self.related)
        return staged

    @cached_property
    def related(self) -> list[Lookup]:
        """The kind's `lookups`, built once per page instead of once per staged row."""
        return self.lookups()

    def lookups(self) -> list[Lookup]:
        if not self.mapping.owner:
            return []
        return [Lookup("owner_id", "owner_sfdc_id", SalesforceUser, "OwnerId")]

    def constants(self) -> dict[str, Any]:
        """Columns every written row of the page gets the same value in."""
        return {"synced_at": timezone.now(), "synced_by_run": self.run_id}

    def stage(self, rows: list[PreparedRow]) -> None:
        """Give each convertible row its line of COPY's CSV (see `CsvLines`), so the page can
        send any subset of its rows; thread-safe: no database."""
        lines = CsvLines()
        writer = csv.writer(lines, lineterminator="\n")
        for row in rows:
            if row.error:
                continue
            try:
                writer.writerow(self.staged_values(row))
            except BadRecord as exc:
                row.error = str(exc)
                continue
            row.line = lines[-1]

    def existing_columns(self) -> list[str]:
        mapping = self.mapping
        columns = ["pk", mapping.key, mapping.modstamp_field, "is_deleted", "custom_fields",
                   *mapping.columns.values()]
        if mapping.owner:
            columns.append("owner__sfdc_id")
        return columns

    def existing(self, ids: list[str]) -> dict[str, dict]:
        key = self.mapping.key
        # Locked in key order, so two writers touching the same rows (a re-sync beside a cycle)
        # wait for each other instead of deadlocking.
        rows = (
            self.model._default_manager.select_for_update(of=("self",))
            .filter(**{f"{key}__any_of": ids})
            .order_by(key)
            .values(*self.existing_columns())
        )
        return {row[key]: row for row in rows}

    def keep_unchanged(self, row: PreparedRow, current: dict) -> None:
        """A re-read record that is not a Salesforce update: local data stays as it is."""

    def track_update(
        self, row: PreparedRow, current: dict | None, deleted: bool, outcome: PageOutcome
    ) -> None:
        """Note what a Salesforce update changes (its converted values in `row.values`),
        before it is written."""

    def after_upsert(self, written: list[tuple], outcome: PageOutcome) -> None:
        """Work that needs the page's rows in place; `written`: (key, *returning) of each."""

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> WriteResult:
        """Apply the page; only a newer SystemModstamp than the stored one changes local data."""
        mapping = self.mapping
        existing = self.existing([r.sfdc_id for r in rows])
        fine: list[str] = []
        lines: list[str] = []
        to_fill: list[dict[str, Any]] = []
        merged: list[tuple[str, str]] = []
        for row in rows:
            current = existing.get(row.sfdc_id)
            try:
                master = clean_id(row.record.get("MasterRecordId"))
                deleted = bool(row.record.get("IsDeleted"))
                stored = current[mapping.modstamp_field] if current else None
                if current and stored and row.modstamp <= stored:
                    fine.append(row.sfdc_id)
                    self.keep_unchanged(row, current)
                    if fill := unfilled_values(row, current, self.unfilled):
                        to_fill.append({mapping.key: row.sfdc_id, **fill})
                    if deleted and master:
                        merged.append((row.sfdc_id, master))  # idempotent: nothing left to move
                    continue
                row.converted()  # a record whose values cannot be stored is quarantined
            except BadRecord as exc:
                self.bad[row.sfdc_id] = str(exc)
                continue
            fine.append(row.sfdc_id)
            if mapping.merges and deleted and master:
                merged.append((row.sfdc_id, master))
            self.track_update(row, current, deleted, outcome)
            if current:
                outcome.updated += 1
            else:
                outcome.created += 1
            if deleted and not (current and current["is_deleted"]):
                outcome.deleted += 1
            assert row.line, "a page is staged before it is written"
            lines.append(row.line)
        written = upsert_staged(
            self.model, mapping.key, self.staged_columns(), lines, self.related,
            self.constants(), self.returning,
        )
        fill_columns(self.model, mapping.key, to_fill, self.unfilled)
        self.after_upsert(written, outcome)
        self.apply_merges(merged)
        return WriteResult(
            fine=[sfdc_id for sfdc_id in fine if sfdc_id not in self.bad
                  and sfdc_id not in self.held_back],
            bad=self.bad,
            stamped={row[0] for row in written},
        )

    def apply_merges(self, merged: list[tuple[str, str]]) -> None:
        """Move what hangs off merged-away records to the survivors; a loser whose survivor is
        not synced yet is quarantined, so the move is retried."""
        if not merged:
            return
        key = self.mapping.key
        pks = dict(
            self.model._default_manager.filter(
                **{f"{key}__in": {sfdc_id for pair in merged for sfdc_id in pair}}
            ).values_list(key, "pk")
        )
        pairs = []
        for loser, master in merged:
            if master in pks:
                pairs.append((pks[loser], pks[master]))
            else:
                self.bad[loser] = f"merged into {master}, which is not synced yet"
        reassign_related(self.model, pairs)
        self.after_merge([survivor for _, survivor in pairs])

    def after_merge(self, survivor_pks: list[int]) -> None:
        """Survivors of this page's merges have taken over their losers' related rows."""


class AccountWriter(RecordWriter):
    """Accounts: a Salesforce update overwrites local edits and logs Change Data Value."""

    pages_overlap = False  # a page's children and activities are other rows

    def __init__(
        self, mapping: ObjectMapping, run_id: int | None, unfilled: tuple[str, ...] = ()
    ) -> None:
        super().__init__(mapping, run_id, unfilled)
        self.changes_by_account: dict[int, list[FieldChange]] = {}
        self.deletions_by_account: dict[int, list[FieldChange]] = {}
        self.modstamps: dict[int, datetime] = {}

    def staged_columns(self) -> list[str]:
        return [*super().staged_columns(), "sfdc_values"]

    def staged_values(self, row: PreparedRow) -> list[Any]:
        synced = self.mapping.synced_values(row.record)
        return [*super().staged_values(row), encode_json(synced)]

    def constants(self) -> dict[str, Any]:
        return {**super().constants(), "locally_edited_at": None, "locally_edited_by": None}

    def existing_columns(self) -> list[str]:
        return [*super().existing_columns(), "locally_edited_at"]

    def track_update(
        self, row: PreparedRow, current: dict | None, deleted: bool, outcome: PageOutcome
    ) -> None:
        if current is None:
            return
        if current["locally_edited_at"]:
            outcome.local_edits_overwritten += 1
        self.modstamps[current["pk"]] = row.modstamp
        if current["is_deleted"] != deleted:
            self.deletions_by_account[current["pk"]] = [
                ("IsDeleted", current["is_deleted"], deleted)
            ]
        elif not deleted:
            changed = self.changed_fields(current, row.values, row.record)
            if changed:
                self.changes_by_account[current["pk"]] = changed

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

    def after_upsert(self, written: list[tuple], outcome: PageOutcome) -> None:
        if self.changes_by_account or self.deletions_by_account:
            logged = account_changes_log(
                changes_by_account=self.changes_by_account,
                history_only=self.deletions_by_account,
                source=Activity.Source.SFDC_SYNC,
                reason="Salesforce update",
                sync_run_id=self.run_id,
                modstamps=self.modstamps,
            )
            outcome.activities_logged += logged.activities_logged
            outcome.accounts_skipped_activity_limit += logged.accounts_skipped
        if written:
            children_follow_accounts(
                only_unlinked=True, account_field="sfdc_id", ids=[row[0] for row in written]
            )

    def after_merge(self, survivor_pks: list[int]) -> None:
        if survivor_pks:
            children_follow_accounts(only_unlinked=False, account_field="id", ids=survivor_pks)


class AccountChildWriter(RecordWriter):
    """Records that belong to an account (contacts, opportunities): its row and Salesforce id."""

    def lookups(self) -> list[Lookup]:
        return [*super().lookups(), Lookup("account_id", "account_sfdc_id", Account, "AccountId")]

    def existing_columns(self) -> list[str]:
        return [*super().existing_columns(), "account_id", "account_sfdc_id"]


class ContactWriter(AccountChildWriter):
    """Contacts. One whose account is not in the local copy is stored without it and stays
    quarantined (see record_unknown_accounts): resolving it here would reopen it as a new error
    every cycle and reset its retry backoff."""

    returning = ("account_sfdc_id", "account_id", "is_deleted")

    def constants(self) -> dict[str, Any]:
        return {**super().constants(), "sfdc_type": Contact.SfdcType.CONTACT}

    def keep_unchanged(self, row: PreparedRow, current: dict) -> None:
        self.hold_if_waiting(row.sfdc_id, current["account_sfdc_id"], current["account_id"],
                             current["is_deleted"])

    def after_upsert(self, written: list[tuple], outcome: PageOutcome) -> None:
        for sfdc_id, account_sfdc_id, account_id, is_deleted in written:
            self.hold_if_waiting(sfdc_id, account_sfdc_id, account_id, is_deleted)

    def hold_if_waiting(
        self, sfdc_id: str, account_sfdc_id: str, account_id: int | None, is_deleted: bool
    ) -> None:
        """A live contact whose account is not in the local copy waits for it."""
        if account_sfdc_id and account_id is None and not is_deleted:
            self.held_back.add(sfdc_id)


class OpportunityWriter(AccountChildWriter):
    """Opportunities also point at the contact a conversion created them for."""

    def lookups(self) -> list[Lookup]:
        return [*super().lookups(), Lookup("contact_id", "contact_sfdc_id", Contact, "ContactId")]


LEAD_UPSERT_FIELDS = (
    "first_name", "last_name", "email", "phone", "title", *PERSON_SALESFORCE_DATES.values(),
    *LEAD_COMPANY_FIELDS.values(),
    "lead_status", "custom_fields", "sfdc_lead_last_modified", "owner", "synced_at", "is_deleted",
    "master_record_sfdc_id", "synced_by_run",
)


@dataclass
class Conversion:
    row: PreparedRow
    current: Mapping[str, Any] | None
    contact_id: str
    values: dict


class LeadWriter:
    """Leads are people: a converted lead keeps its row, which gains the contact id.

    A lead converted into a contact that another person row already holds (several leads merged
    into one contact) is marked merged into that contact, and its history moves there. An
    unchanged lead fills the `unfilled` columns of a person that is still a lead (a contact's
    are the contact's to fill).
    """

    pages_overlap = False  # conversions and merges reach other person rows

    def __init__(
        self, mapping: ObjectMapping, run_id: int | None, unfilled: tuple[str, ...] = ()
    ) -> None:
        self.mapping = mapping
        self.unfilled = list(unfilled)
        self.run_id = run_id

    def stage(self, rows: list[PreparedRow]) -> None:
        """Nothing ahead: what a lead's row becomes depends on the stored person rows."""

    def write(self, rows: list[PreparedRow], outcome: PageOutcome) -> WriteResult:
        by_lead = {
            p["sfdc_lead_id"]: p
            for p in Contact.objects.select_for_update()
            .filter(sfdc_lead_id__any_of=[r.sfdc_id for r in rows])
            .values("pk", "sfdc_lead_id", "sfdc_id", "sfdc_type", "sfdc_lead_last_modified",
                    "is_deleted", "master_record_sfdc_id", *self.unfilled)
        }
        owners = lookup_ids(rows, "OwnerId", SalesforceUser)
        now = timezone.now()
        bad: dict[str, str] = {}
        ok: list[str] = []
        upserts: list[dict[str, Any]] = []
        to_fill: list[dict[str, Any]] = []
        touched: list[Contact] = []
        conversions: list[Conversion] = []
        merged: list[tuple[str, str]] = []
        for row in rows:
            current = by_lead.get(row.sfdc_id)
            try:
                master = clean_id(row.record.get("MasterRecordId"))
                deleted = bool(row.record.get("IsDeleted"))
                stored = current and current["sfdc_lead_last_modified"]
                if current and stored and row.modstamp <= stored:
                    ok.append(row.sfdc_id)
                    if current["sfdc_type"] == Contact.SfdcType.LEAD and (
                        fill := unfilled_values(row, current, self.unfilled)
                    ):
                        to_fill.append({"sfdc_lead_id": row.sfdc_id, **fill})
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
                synced_by_run=self.run_id,
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
        into_contacts = self.link_conversions(conversions, upserts, touched)
        upsert(Contact, "sfdc_lead_id", upserts, list(LEAD_UPSERT_FIELDS))
        fill_columns(Contact, "sfdc_lead_id", to_fill, self.unfilled)
        if touched:
            Contact.objects.bulk_update(
                touched, ["sfdc_lead_last_modified", "is_deleted", "master_record_sfdc_id"]
            )
        self.merge_leads(merged)
        self.merge_into_contacts(into_contacts)
        return WriteResult(fine=ok, bad=bad, stamped={row["sfdc_lead_id"] for row in upserts})

    @staticmethod
    def touch(
        current: Mapping[str, Any], modstamp: datetime, merged_into: str | None = None
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
        person_absorb(absorbed)
        if relinked:
            Contact.objects.bulk_update(
                relinked, ["sfdc_id", "sfdc_type", "sfdc_lead_id", "sfdc_lead_last_modified"]
            )
        return into_contacts

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


WRITERS: dict[str, type[RecordWriter] | type[LeadWriter]] = {
    "user": RecordWriter,
    "account": AccountWriter,
    "contact": ContactWriter,
    "lead": LeadWriter,
    "opportunity": OpportunityWriter,
}


def writer_for(
    mapping: ObjectMapping, run_id: int | None, unfilled: tuple[str, ...] = ()
) -> PageWriter:
    """The writer of the mapping's object kind, for one page of one run; `unfilled`: the
    columns mapped since the stored rows were written."""
    return WRITERS[mapping.kind](mapping, run_id, unfilled)
