"""The sandbox org's data: SQLite tables built from the schema, with Salesforce's record rules.

Ids are 18-character with real key prefixes and allocated monotonically (so `ORDER BY Id`
follows creation order); every write moves `SystemModstamp`; deletes are soft (visible to
`queryAll`) until purged; deleting an account deletes its contacts and opportunities.
One lock serialises access: the server is threaded, SQLite connections are not shared safely.
"""

import json
import math
import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from marketo_sync.salesforce.ids import InvalidSalesforceId, checksum_suffix, normalize_sfdc_id
from marketo_sync.sandbox.schema import (
    NUMBER_TYPES,
    OBJECTS,
    STAGES,
    STRING_TYPES,
    Field,
    SObject,
    revenue_band,
    sobject,
)
from marketo_sync.sandbox.soql import ADDRESS_KEYS, Compiled, column_sql
from marketo_sync.sandbox.streaming import Change

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_POD = "5g"
STAGE_PROBABILITY = dict(STAGES)
COMPOUND_NAME = {"Contact", "Lead", "User"}
INT_LIMIT = 2**31
DOUBLE_LIMIT = 10**18
CURRENCY_LIMIT = 10**16
CHILDREN = {"Account": (("Contact", "AccountId"), ("Opportunity", "AccountId"))}
CHANGE_EVENT_ENTITIES = ("Account", "Contact", "Lead", "Opportunity", "User")
EVENT_EXCLUDED = {"Id", "SystemModstamp", "IsDeleted"}


class RecordError(Exception):
    """A write or read Salesforce would refuse: HTTP status, errorCode, message, fields."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def as_json(self, code_key: str = "errorCode") -> dict:
        body: dict[str, object] = {"message": self.message, code_key: self.code}
        if self.fields:
            body["fields"] = self.fields
        return body


def create_private(path: Path) -> None:
    """The org file holds the client secret and the integration password: readable by its
    owner only from the moment it exists (SQLite gives its WAL files the same mode)."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


UNIX_EPOCH = datetime(1970, 1, 1)


def format_datetime(millis: int | None) -> str | None:
    """Salesforce's JSON datetime: UTC, milliseconds, `+0000`."""
    if millis is None:
        return None
    # isoformat of a naive UTC moment: a few times cheaper than strftime on every value served.
    moment = UNIX_EPOCH + timedelta(milliseconds=millis)
    return moment.isoformat(timespec="milliseconds") + "+0000"


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def encode_id(prefix: str, number: int) -> str:
    digits = []
    for _ in range(10):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    id15 = prefix + ID_POD + "".join(reversed(digits))
    return id15 + checksum_suffix(id15)


def canonical_id(value: str) -> str:
    """The 18-char form of a 15- or 18-char id, since Salesforce accepts both wherever an id goes;
    anything else is returned unchanged and then is simply not found."""
    try:
        return normalize_sfdc_id(value)
    except InvalidSalesforceId:
        return value


def api_value(spec: Field, raw: int | float | str | bytes | None) -> object:
    """Stored value → JSON value (booleans, datetimes, numbers as Salesforce sends them)."""
    if raw is None:
        return False if spec.type == "boolean" else None
    if spec.type == "boolean":
        return bool(raw)
    if spec.type == "datetime":
        return format_datetime(int(raw))
    if spec.type == "int":
        return int(raw)
    if spec.type == "address":
        parts = json.loads(str(raw))
        if all(value is None for value in parts.values()):
            return None
        return dict(sorted({**parts, "geocodeAccuracy": None, "latitude": None,
                            "longitude": None}.items()))
    return raw


class Store:
    """All records of the org, written by Salesforce's rules (SystemModstamp, deletes, merges)."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        if path:
            create_private(Path(path))
        self.db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self.db.execute("PRAGMA journal_mode = WAL" if path else "PRAGMA journal_mode = MEMORY")
        self.db.execute("PRAGMA synchronous = OFF")
        self._last_millis = 0
        self.on_commit: Callable[[list[Change]], None] | None = None
        self._changes: list[Change] = []
        self._create_tables()

    def _create_tables(self) -> None:
        with self.lock:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
            for obj in OBJECTS.values():
                columns = ", ".join(f'"{f.name}" {f.sql_type}' for f in obj.fields)
                self.db.execute(
                    f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({columns}, "_cascade_of" TEXT)'
                )
                stored = {row[1] for row in self.db.execute(f'PRAGMA table_info("{obj.name}")')}
                for field in obj.fields:
                    if field.name not in stored:  # an org file from before the field existed
                        self.db.execute(
                            f'ALTER TABLE "{obj.name}" ADD COLUMN "{field.name}" {field.sql_type}'
                        )
                self.db.execute(
                    f'CREATE UNIQUE INDEX IF NOT EXISTS "{obj.name}_id" ON "{obj.name}" ("Id")'
                )
                self.db.execute(
                    f'CREATE INDEX IF NOT EXISTS "{obj.name}_modstamp" '
                    f'ON "{obj.name}" ("SystemModstamp", "Id")'
                )
                if obj.field("AccountId"):
                    self.db.execute(
                        f'CREATE INDEX IF NOT EXISTS "{obj.name}_account" '
                        f'ON "{obj.name}" ("AccountId")'
                    )

    # -- meta, ids and the clock -------------------------------------------------------------

    def meta(self, key: str, default: Any = None) -> Any:
        """A value as it was stored: its type is the caller's to know."""
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
            return default if row is None else row[0]

    def set_meta(self, key: str, value: object) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def take_numbers(self, key: str, count: int = 1) -> int:
        """Reserve `count` numbers of the counter `key` and return the first: read and write
        happen under one lock, so concurrent requests never get the same number."""
        with self.lock:
            start = int(self.meta(key, 1))
            self.set_meta(key, start + count)
        return start

    def allocate_ids(self, obj: SObject, count: int) -> list[str]:
        start = self.take_numbers(f"next_id:{obj.key_prefix}", count)
        return [encode_id(obj.key_prefix, n) for n in range(start, start + count)]

    def now_millis(self) -> int:
        """Strictly increasing and never ahead of the real clock, as Salesforce never stamps the
        future: a write in the millisecond of the previous one waits for the next millisecond.
        One write (a batch insert, a cascade, a conversion) takes one stamp."""
        with self.lock:
            now = int(time.time() * 1000)
            while now <= self._last_millis:
                time.sleep((self._last_millis + 1 - now) / 1000)
                now = int(time.time() * 1000)
            self._last_millis = now
            return now

    def clear(self) -> None:
        with self.lock:
            for obj in OBJECTS.values():
                self.db.execute(f'DELETE FROM "{obj.name}"')
            self.db.execute("DELETE FROM meta")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested calls join the outer transaction."""
        with self.lock:
            if self.db.in_transaction:
                yield
                return
            self.db.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                self._changes.clear()
                raise
            self.db.execute("COMMIT")
            self._publish()

    # -- change events -----------------------------------------------------------------------

    def _records_changes(self, obj: SObject) -> bool:
        return self.on_commit is not None and obj.name in CHANGE_EVENT_ENTITIES

    def _record_change(self, change: Change) -> None:
        """Every write of a change-event entity passes here; a transaction's changes are
        published together at commit (one event per record set), others at once."""
        self._changes.append(change)
        if not self.db.in_transaction:
            self._publish()

    def _publish(self) -> None:
        changes, self._changes = self._changes, []
        if changes and self.on_commit is not None:
            self.on_commit(changes)

    def _event_values(self, obj: SObject, row: dict, names: Iterable[str]) -> dict:
        values = {}
        for name in names:
            spec = obj.field(name)
            if spec is None or spec.calculated or name in EVENT_EXCLUDED:
                continue
            values[name] = api_value(spec, row.get(name))
        return values

    def _record_write(self, obj: SObject, before: dict, values: dict) -> None:
        after = {**before, **values}
        user = after.get("LastModifiedById") or after.get("CreatedById")
        if values.get("IsDeleted") and not before["IsDeleted"]:
            change_type, fields = "DELETE", {}
        elif "IsDeleted" in values and not values["IsDeleted"] and before["IsDeleted"]:
            names = [f.name for f in obj.fields if after.get(f.name) is not None]
            change_type, fields = "UNDELETE", self._event_values(obj, after, names)
        else:
            names = [n for n in values if n == "LastModifiedDate" or before.get(n) != values[n]]
            change_type, fields = "UPDATE", self._event_values(obj, after, names)
        self._record_change(Change(obj.name, change_type, before["Id"], fields, user))

    # -- reads -------------------------------------------------------------------------------

    def raw(self, obj: SObject, record_id: str) -> dict | None:
        with self.lock:
            cursor = self.db.execute(f'SELECT * FROM "{obj.name}" WHERE "Id" = ?', [record_id])
            row = cursor.fetchone()
            if row is None:
                return None
            return dict(zip([c[0] for c in cursor.description], row, strict=True))

    def record(self, obj: SObject, record_id: str, version: str) -> dict | None:
        """The full record as `GET sobjects/{type}/{id}` returns it."""
        stored = self.raw(obj, record_id)
        if stored is None:
            return None
        body: dict[str, object] = {"attributes": attributes(obj.name, record_id, version)}
        body.update({f.name: api_value(f, stored[f.name]) for f in obj.fields})
        for compound in obj.compounds:
            parts = dict(zip(ADDRESS_KEYS, (stored[n] for n in compound.components), strict=True))
            body[compound.name] = api_value(compound, json.dumps(parts))
        return body

    def count(self, obj: SObject, include_deleted: bool = False) -> int:
        where = "" if include_deleted else ' WHERE "IsDeleted" = 0'
        with self.lock:
            return self.db.execute(f'SELECT COUNT(*) FROM "{obj.name}"{where}').fetchone()[0]

    def snapshot(self, compiled: Compiled) -> "array[int] | int":
        """Row ids matching a query in its order (or the count for COUNT()): a query locator's
        snapshot, kept as 8 bytes a row (a list of a million ints would be ~36 MB); the records
        themselves are read a page at a time."""
        base = f"FROM {compiled.sql_from} WHERE {compiled.sql_where}"
        with self.lock:
            if compiled.is_count:
                return self.db.execute(f"SELECT COUNT(*) {base}", compiled.params).fetchone()[0]
            sql = f"SELECT t.rowid {base} ORDER BY {compiled.sql_order}"
            if compiled.limit is not None or compiled.offset is not None:
                sql += f" LIMIT {compiled.limit if compiled.limit is not None else -1}"
                sql += f" OFFSET {compiled.offset or 0}"
            return array("q", (row[0] for row in self.db.execute(sql, compiled.params)))

    def rows(self, compiled: Compiled, rowids: Sequence[int]) -> list[tuple]:
        """The given rows in the given order: the record's Id (always fetched, because every
        record's `attributes.url` names it), then the selected columns."""
        if not rowids:
            return []
        select = ['t."Id"']
        for path, spec in compiled.columns:
            if len(path) == 1:
                select.append(column_sql("t", spec))
            else:
                lookup = compiled.sobject.relationship(path[0])
                assert lookup is not None  # resolved when the query compiled
                select.append(column_sql(f"j_{lookup.relationship}", spec))
                select.append(f'j_{lookup.relationship}."Id"')
        marks = ",".join("?" * len(rowids))
        sql = (
            f"SELECT t.rowid, {', '.join(select)} FROM {compiled.sql_from} "
            f"WHERE t.rowid IN ({marks})"
        )
        with self.lock:
            found = {row[0]: row[1:] for row in self.db.execute(sql, list(rowids))}
        return [found[r] for r in rowids if r in found]

    def modified_between(
        self, obj: SObject, start: int, end: int, deleted: bool
    ) -> list[tuple[str, int]]:
        with self.lock:
            return self.db.execute(
                f'SELECT "Id", "SystemModstamp" FROM "{obj.name}" WHERE "IsDeleted" = ? '
                'AND "SystemModstamp" >= ? AND "SystemModstamp" < ? ORDER BY "SystemModstamp"',
                [int(deleted), start, end],
            ).fetchall()

    # -- writes ------------------------------------------------------------------------------

    def validate(self, obj: SObject, values: dict, creating: bool) -> dict:
        """Canonical field names and storage values, or the error Salesforce gives."""
        clean: dict = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            spec = obj.field(name)
            if spec is None:
                raise RecordError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {obj.name}",
                    [name],
                )
            if not spec.writable:
                raise RecordError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {spec.name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [spec.name],
                )
            clean[spec.name] = self._storage_value(spec, value)
        if creating:
            missing = [
                f.name for f in obj.fields if f.required and clean.get(f.name) in (None, "")
            ]
            if missing:
                raise RecordError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        return clean

    def _storage_value(self, spec: Field, value: object) -> object:
        if value is None or value == "":
            if spec.required:
                raise RecordError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{spec.name}]",
                    [spec.name],
                )
            return None
        problem = RecordError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {spec.type} from value {value!r} for {spec.name}",
            [spec.name],
        )
        if spec.type == "boolean":
            if not isinstance(value, bool):
                raise problem
            return int(value)
        if spec.type in NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise problem
            return self._number(spec, value)
        if spec.type == "date":
            try:
                return date.fromisoformat(str(value)).isoformat()
            except ValueError:
                raise problem from None
        if spec.type == "datetime":
            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise problem from None
            return to_millis(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        if not isinstance(value, str):
            raise problem
        text_type = spec.type in STRING_TYPES and spec.type not in {"id", "reference"}
        if text_type and len(value) > spec.length:
            raise RecordError(
                400,
                "STRING_TOO_LONG",
                f"{spec.label or spec.name}: data value too large: {value[:40]}... "
                f"(max length={spec.length})",
                [spec.name],
            )
        if spec.type == "reference":
            value = canonical_id(value)
            target = sobject(spec.reference_to or "")
            if target is None or self.raw(target, value) is None:
                raise RecordError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY" if len(value) in (15, 18) else "MALFORMED_ID",
                    f"{spec.label or spec.name}: id value of incorrect type: {value}",
                    [spec.name],
                )
        return value

    def _number(self, spec: Field, value: int | float) -> int | float:
        """Numbers the field can hold (int: 32 bits; currency: the 16 integer digits of its
        describe precision 18, scale 2; others: 18 digits), else NUMBER_OUTSIDE_VALID_RANGE."""
        if spec.type == "int":
            fits = -INT_LIMIT <= value < INT_LIMIT
        else:
            bound = CURRENCY_LIMIT if spec.type == "currency" else DOUBLE_LIMIT
            fits = abs(value) < bound and math.isfinite(value)
        if not fits:
            raise RecordError(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{spec.label or spec.name}: value outside of valid range on numeric field: "
                f"{str(value)[:40]}",
                [spec.name],
            )
        return int(value) if spec.type == "int" else float(value)

    def _derived(self, obj: SObject, row: dict) -> dict:
        """Fields Salesforce computes: compound names, opportunity flags, the formula."""
        derived: dict = {}
        if obj.name in COMPOUND_NAME and ("FirstName" in row or "LastName" in row):
            derived["Name"] = " ".join(
                p for p in (row.get("FirstName"), row.get("LastName")) if p
            )
        if obj.name == "Opportunity" and "StageName" in row:
            stage = row["StageName"]
            derived["IsClosed"] = int(stage in {"Closed Won", "Closed Lost"})
            derived["IsWon"] = int(stage == "Closed Won")
            if row.get("Probability") is None:
                derived["Probability"] = float(STAGE_PROBABILITY.get(stage, 0))
        if obj.name == "Account" and "AnnualRevenue" in row:
            derived["AnnualRevenueBand__c"] = revenue_band(row["AnnualRevenue"])
        return derived

    def insert_many(
        self, obj: SObject, rows: list[dict], user_id: str | None, stamp: int | None = None
    ) -> list[str]:
        """Insert validated rows (storage values) with system fields; returns the new ids."""
        if not rows:
            return []
        ids = self.allocate_ids(obj, len(rows))
        names = [f.name for f in obj.fields]
        prepared = []
        if stamp is None and any("SystemModstamp" not in row for row in rows):
            stamp = self.now_millis()
        for record_id, row in zip(ids, rows, strict=True):
            now = stamp
            system = {"Id": record_id, "IsDeleted": 0, "SystemModstamp": now}
            if obj.field("CreatedDate"):
                system.update(
                    CreatedDate=now,
                    LastModifiedDate=now,
                    CreatedById=user_id,
                    LastModifiedById=user_id,
                )
            full = {**self._defaults(obj, user_id), **system, **row}
            full.update(self._derived(obj, full))
            prepared.append([full.get(n) for n in names])
        marks = ",".join("?" * len(names))
        columns = ",".join(f'"{n}"' for n in names)
        with self.lock:
            self.db.executemany(
                f'INSERT INTO "{obj.name}" ({columns}) VALUES ({marks})', prepared
            )
            if self._records_changes(obj):
                for values in prepared:
                    row = dict(zip(names, values, strict=True))
                    present = [n for n in names if row[n] is not None]
                    self._record_change(
                        Change(
                            obj.name,
                            "CREATE",
                            row["Id"],
                            self._event_values(obj, row, present),
                            row.get("CreatedById"),
                        )
                    )
        return ids

    def _defaults(self, obj: SObject, user_id: str | None) -> dict:
        defaults: dict = {}
        if obj.field("OwnerId"):
            defaults["OwnerId"] = user_id
        if obj.name == "Lead":
            defaults.update(Status="Open - Not Contacted", IsConverted=0)
        if obj.name == "User":
            defaults["IsActive"] = 1
        return defaults

    def live(self, obj: SObject, record_id: str) -> dict:
        stored = self.raw(obj, record_id)
        if stored is None:
            raise RecordError(404, "NOT_FOUND", "The requested resource does not exist")
        if stored["IsDeleted"]:
            raise RecordError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return stored

    def update(
        self,
        obj: SObject,
        record_id: str,
        changes: dict,
        user_id: str | None,
        stamp: int | None = None,
    ) -> None:
        """Apply storage values as a Salesforce user's edit: the modstamp moves."""
        with self.lock:
            current = self.live(obj, record_id)
            if obj.name == "Lead" and current["IsConverted"]:
                raise RecordError(
                    400,
                    "CANNOT_UPDATE_CONVERTED_LEAD",
                    "cannot reference converted lead",
                )
            merged = {**current, **changes}
            changes = {**changes, **self._derived(obj, merged)}
            now = stamp if stamp is not None else self.now_millis()
            changes["SystemModstamp"] = now
            if obj.field("LastModifiedDate"):
                changes.update(LastModifiedDate=now, LastModifiedById=user_id)
            self._write(obj, record_id, changes)

    def _write(self, obj: SObject, record_id: str, values: dict) -> None:
        """The one place records change; a write that moves SystemModstamp is a Salesforce
        save and publishes a change event (a formula recalculation does not)."""
        assignments = ", ".join(f'"{name}" = ?' for name in values)
        with self.lock:
            saved = "SystemModstamp" in values and self._records_changes(obj)
            before = self.raw(obj, record_id) if saved else None
            self.db.execute(
                f'UPDATE "{obj.name}" SET {assignments} WHERE "Id" = ?',
                [*values.values(), record_id],
            )
            if before is not None:
                self._record_write(obj, before, values)

    def set_raw(self, obj: SObject, record_id: str, values: dict) -> None:
        """Change stored values without touching the modstamp (formula recalculation)."""
        self.live(obj, record_id)
        self._write(obj, record_id, values)

    def delete(self, obj: SObject, record_id: str, user_id: str | None) -> None:
        with self.lock:
            self.live(obj, record_id)
            stamp = self.now_millis()
            self._mark_deleted(obj, [record_id], user_id, None, stamp)
            for child_name, lookup in CHILDREN.get(obj.name, ()):
                child = OBJECTS[child_name]
                child_ids = [
                    row[0]
                    for row in self.db.execute(
                        f'SELECT "Id" FROM "{child_name}" WHERE "{lookup}" = ? '
                        'AND "IsDeleted" = 0',
                        [record_id],
                    )
                ]
                self._mark_deleted(child, child_ids, user_id, record_id, stamp)

    def _mark_deleted(
        self,
        obj: SObject,
        ids: Iterable[str],
        user_id: str | None,
        cascade_of: str | None,
        stamp: int,
    ) -> None:
        for record_id in ids:
            now = stamp
            values = {"IsDeleted": 1, "SystemModstamp": now, "_cascade_of": cascade_of}
            if obj.field("LastModifiedDate"):
                values.update(LastModifiedDate=now, LastModifiedById=user_id)
            self._write(obj, record_id, values)

    def undelete(self, obj: SObject, record_id: str, user_id: str | None) -> None:
        with self.lock:
            stored = self.raw(obj, record_id)
            if stored is None or not stored["IsDeleted"]:
                raise RecordError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin")
            ids = [(obj, record_id)]
            for child_name, _ in CHILDREN.get(obj.name, ()):
                ids.extend(
                    (OBJECTS[child_name], row[0])
                    for row in self.db.execute(
                        f'SELECT "Id" FROM "{child_name}" WHERE "_cascade_of" = ?', [record_id]
                    )
                )
            now = self.now_millis()
            for target, target_id in ids:
                self._write(
                    target,
                    target_id,
                    {"IsDeleted": 0, "SystemModstamp": now, "_cascade_of": None},
                )

    def purge(self, obj: SObject, record_id: str) -> None:
        """Hard delete (emptied recycle bin): gone from queryAll too, children included."""
        with self.lock:
            if self.raw(obj, record_id) is None:
                raise RecordError(404, "NOT_FOUND", "The requested resource does not exist")
            for child_name, _ in CHILDREN.get(obj.name, ()):
                self.db.execute(
                    f'DELETE FROM "{child_name}" WHERE "_cascade_of" = ?', [record_id]
                )
            self.db.execute(f'DELETE FROM "{obj.name}" WHERE "Id" = ?', [record_id])

    def merge(
        self, obj: SObject, master_id: str, loser_ids: list[str], user_id: str | None
    ) -> None:
        """Losers are deleted with MasterRecordId; their children move to the master."""
        with self.lock:
            self.live(obj, master_id)
            stamp = self.now_millis()
            for loser_id in loser_ids:
                self.live(obj, loser_id)
                for child_name, lookup in CHILDREN.get(obj.name, ()):
                    child = OBJECTS[child_name]
                    child_ids = [
                        row[0]
                        for row in self.db.execute(
                            f'SELECT "Id" FROM "{child_name}" WHERE "{lookup}" = ?', [loser_id]
                        )
                    ]
                    for child_id in child_ids:
                        self.update(child, child_id, {lookup: master_id}, user_id, stamp)
                self._write(obj, loser_id, {"MasterRecordId": master_id})
                self._mark_deleted(obj, [loser_id], user_id, None, stamp)
            self.update(obj, master_id, {}, user_id, stamp)

    def convert_lead(
        self,
        lead_id: str,
        converted_status: str,
        owner_id: str | None,
        opportunity_name: str | None,
        create_opportunity: bool,
        user_id: str | None,
    ) -> dict:
        """SOAP convertLead: the lead stays, converted; Account, Contact, Opportunity appear."""
        lead_obj, account_obj = OBJECTS["Lead"], OBJECTS["Account"]
        with self.transaction():
            lead = self.live(lead_obj, lead_id)
            if lead["IsConverted"]:
                raise RecordError(400, "INVALID_STATUS", "This lead was already converted.")
            status_ok = self.db.execute(
                'SELECT 1 FROM "LeadStatus" WHERE "ApiName" = ? AND "IsConverted" = 1',
                [converted_status],
            ).fetchone()
            if not status_ok:
                raise RecordError(
                    400, "INVALID_STATUS", f"invalid convertedStatus: {converted_status}"
                )
            owner = owner_id or lead["OwnerId"] or user_id
            now = self.now_millis()
            (account_id,) = self.insert_many(
                account_obj,
                [{
                    "Name": lead["Company"], "Industry": lead["Industry"], "OwnerId": owner,
                    "NumberOfEmployees": lead["NumberOfEmployees"],
                    "AnnualRevenue": lead["AnnualRevenue"], "BillingCity": lead["City"],
                    "BillingState": lead["State"], "BillingCountry": lead["Country"],
                }],
                user_id,
                now,
            )
            (contact_id,) = self.insert_many(
                OBJECTS["Contact"],
                [
                    {
                        "AccountId": account_id,
                        "FirstName": lead["FirstName"],
                        "LastName": lead["LastName"],
                        "Email": lead["Email"],
                        "Phone": lead["Phone"],
                        "Title": lead["Title"],
                        "LeadSource": lead["LeadSource"],
                        "OwnerId": owner,
                    }
                ],
                user_id,
                now,
            )
            opportunity_id = None
            if create_opportunity:
                close = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
                (opportunity_id,) = self.insert_many(
                    OBJECTS["Opportunity"],
                    [
                        {
                            "AccountId": account_id,
                            "ContactId": contact_id,
                            "Name": opportunity_name or f"{lead['Company']}-",
                            "StageName": "Prospecting",
                            "CloseDate": close,
                            "LeadSource": lead["LeadSource"],
                            "OwnerId": owner,
                        }
                    ],
                    user_id,
                    now,
                )
            self._write(
                lead_obj,
                lead_id,
                {
                    "IsConverted": 1,
                    "Status": converted_status,
                    "ConvertedDate": datetime.now(UTC).date().isoformat(),
                    "ConvertedAccountId": account_id,
                    "ConvertedContactId": contact_id,
                    "ConvertedOpportunityId": opportunity_id,
                    "SystemModstamp": now,
                    "LastModifiedDate": now,
                    "LastModifiedById": user_id,
                },
            )
        return {
            "leadId": lead_id,
            "accountId": account_id,
            "contactId": contact_id,
            "opportunityId": opportunity_id,
        }


def attributes(type_name: str, record_id: str, version: str) -> dict:
    return {"type": type_name, "url": f"/services/data/v{version}/sobjects/{type_name}/{record_id}"}
