"""The pull engine: Salesforce pages in, set-based writes out, one transaction per page.

Incremental and full reads are ordered by (SystemModstamp, Id) and each page's transaction also
stores the watermark it reached, so a crash anywhere resumes without loss or duplicates and
re-applying a page is a no-op. A full read of a large object goes through Bulk API 2.0 (no
ordering there), so its watermark is stored once at the end: the highest SystemModstamp seen.
Records fetched by id (retries, "re-sync selected") never move the watermark. The next page is
fetched in a background thread while the current one is written. Every page transaction ends
by checking the run's cycle generation against the fence (see `fence`), so a page of a cycle
whose lock has passed to another never commits.
"""

import logging
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Set
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import TypeVar, cast

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from simple_salesforce.format import format_soql

from accounts.salesforce_fields import BadRecord, clean_record_id, parse_datetime
from marketo_sync.db import analyze_column, column_has_statistics
from marketo_sync.faults import crashpoint
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceRequestError
from marketo_sync.sync.bulk import ReadStarted, bulk_records, job_records
from marketo_sync.sync.fence import fenced
from marketo_sync.sync.mapping import MAPPINGS, UNQUERYABLE_TYPES, ObjectMapping
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.sync_errors import sync_errors_record, sync_errors_resolve
from marketo_sync.sync.writers import WRITERS, PageOutcome, PreparedRow, writer_for

logger = logging.getLogger(__name__)
T = TypeVar("T")
U = TypeVar("U")

DESCRIBE_MAX_AGE = timedelta(days=1)
PAGE_SIZE = 2000
# Salesforce caps a SOQL statement at 100,000 characters; an id in an `IN` list takes at most
# 22 (18 characters, two quotes, a comma, and one spare).
SOQL_MAX_CHARS = 100_000
SOQL_CHARS_PER_ID = 22
SEEN_TABLE = "sync_seen_ids"
# Errors that a fresh query fixes: a field went away (re-describe first), a locator expired.
RESTARTABLE = {"INVALID_FIELD", "INVALID_QUERY_LOCATOR"}
MAX_RESTARTS = 2
WRITER_SWITCH_INTERVAL = 0.0005  # seconds; see `prefetched`
KEY_STATISTICS_AFTER_ROWS = 10_000  # see `ObjectSync.apply_stream`
# How long a page waits to commit behind the page written beside it before it gives way (rolls
# back and is written again after it): see `ObjectSync.apply_stream`.
BESIDE_WAIT_SECONDS = 10.0

__all__ = [
    "SEEN_TABLE", "ObjectSync", "Page", "PageOutcome", "PreparedPage", "mark_absent_as_deleted",
    "prefetched",
]


class GaveWay(Exception):
    """A page written beside the page before it waited too long to commit after it."""


@dataclass(frozen=True)
class PreparedPage:
    """A page checked and converted without the database: rows to write, records to quarantine."""

    records: list[dict]
    rows: list[PreparedRow]
    bad: dict[str, str]

    @cached_property
    def sfdc_ids(self) -> frozenset[str]:
        return frozenset([*(row.sfdc_id for row in self.rows), *self.bad])

    @cached_property
    def merges(self) -> bool:
        """Whether a record of the page was merged into another (its writes reach other rows)."""
        return any(row.record.get("IsDeleted") and row.record.get("MasterRecordId")
                   for row in self.rows)


@dataclass(frozen=True)
class Page:
    """One prepared page and how it moves the watermark.

    `watermark`: "page" (ordered stream: this page's last record), "end" (bulk: the highest
    seen, stored when the stream ends) or "none" (fetched by id).
    """

    prepared: PreparedPage
    total: int | None
    watermark: str


def read_ahead(items: Iterator[T]) -> Generator[T, None, None]:
    """The items, each next one requested in a thread of its own as soon as the one before
    arrived: a REST page downloads while the page before is prepared, instead of after it."""
    end = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfdc-read") as reader:
        following = reader.submit(next, items, end)
        while (item := following.result()) is not end:
            following = reader.submit(next, items, end)
            yield cast(T, item)


def prefetched(
    pages: Generator[T, None, None], prepare: Callable[[T], U], *, read_each_ahead: bool = True
) -> Iterator[U]:
    """Fetch and prepare the next page in a thread while the caller writes the current one.

    The database waits of the writing thread release the GIL, so the preparation (parsing,
    checking and converting every value) runs during them instead of after them. While both
    run, the interpreter switches threads more often than its default 5 ms: the writer waits on
    PostgreSQL a dozen times a page, and each time it would otherwise wait up to a whole
    interval for the preparing thread to let it go on.

    `read_each_ahead`: each next page is also requested in a thread of its own (`read_ahead`),
    so a REST round trip overlaps the preparation. Not for pages that are already downloaded
    ahead (Bulk results): there the thread would only parse, contending for the GIL with the
    preparation and the writers instead of waiting on the network (measured: 4% slower).
    """
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def fetch() -> None:
        ahead = read_ahead(pages) if read_each_ahead else pages
        try:
            for page in ahead:
                ready = prepare(page)
                while not stop.is_set():
                    try:
                        handoff.put(ready, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consuming thread
            handoff.put(exc)
        finally:
            ahead.close()

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
        sys.setswitchinterval(switch_interval)


def relax_commit_durability() -> None:
    """This transaction's commit does not wait for its WAL to reach the disk.

    Safe for a page: its watermark is in the same transaction, so a page that a database crash
    loses is lost together with the watermark that covers it, and the next run reads it again.
    It saves a disk flush per page (about a tenth of a full sync's time here).
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def cached_describe(client: SalesforceClient, state: SyncState) -> dict:
    """Fields the sync user can see, with their types, from a describe cached for a day."""
    stale = state.last_describe_at is None or (
        timezone.now() - state.last_describe_at > DESCRIBE_MAX_AGE
    )
    if stale or "labels" not in state.describe:
        describe_again(client, state)
    return state.describe


def describe_again(client: SalesforceClient, state: SyncState) -> None:
    described = client.describe(state.object_name)
    fields = [f for f in described["fields"] if f["type"] not in UNQUERYABLE_TYPES]
    state.describe = {
        "fields": [f["name"] for f in fields],
        "types": {f["name"]: f["type"] for f in fields},
        "formulas": [f["name"] for f in fields if f.get("calculated")],
        "labels": {f["name"]: f.get("label") or f["name"] for f in fields},
        # kept for the admin's dropdowns: local edits choose among Salesforce's values
        "picklists": {
            f["name"]: [v["value"] for v in f.get("picklistValues") or [] if v.get("active")]
            for f in fields
            if f["type"] == "picklist"
        },
    }
    state.last_describe_at = timezone.now()
    state.save(update_fields=["describe", "last_describe_at", "updated_at"])


def select_soql(object_name: str, fields: list[str]) -> str:
    """SOQL (not SQL): field names come from Salesforce's own describe."""
    return f"SELECT {', '.join(fields)} FROM {object_name}"  # noqa: S608


class ObjectSync:
    """Pull one Salesforce object into its model for one run."""

    def __init__(
        self,
        client: SalesforceClient,
        object_name: str,
        run: SyncRun,
        track_seen: bool = False,
        id_range: tuple[str, str] | None = None,
    ) -> None:
        """`id_range` (first Id inclusive, end Id exclusive; blank = open) reads one partition
        of a full sync: its watermark is only noted (`highest`), the coordinator stores it."""
        self.client = client
        self.mapping: ObjectMapping = MAPPINGS[object_name]
        self.run = run
        self.state, _ = SyncState.objects.get_or_create(object_name=object_name)
        # Columns mapped since the stored rows were written: every read fills them on the rows
        # of unchanged records, until a complete full read has filled them all.
        self.unfilled = tuple(self.mapping.unfilled_columns(self.state.filled_fields).values())
        self.track_seen = track_seen
        self.id_range = id_range
        # (SystemModstamp, Id) of the last record applied from an ordered stream in this run,
        # and the highest applied from any stream.
        self.position: tuple[datetime, str] | None = None
        self.highest: tuple[datetime, str] | None = None
        self.key_statistics_missing = not column_has_statistics(
            self.mapping.model, self.mapping.key
        )
        # A full read's Bulk job that the cycle started before this run (see `ahead`), and how
        # old the data read can be: a row written since then and not read may simply be newer
        # than the read, never deleted.
        self.started: ReadStarted | None = None
        self.read_since = run.started_at

    def remember_seen(self, records: list[dict], stamped: Set[str] = frozenset()) -> None:
        """A full run notes every id it saw that its writes did not stamp (unchanged records,
        quarantined ones), in a table keyed by run (not in Python memory)."""
        ids = [
            sfdc_id for sfdc_id in (str(r.get("Id") or "")[:18] for r in records)
            if sfdc_id and sfdc_id not in stamped
        ]
        if not ids:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SEEN_TABLE} (run_id, sfdc_id) "  # noqa: S608
                "SELECT %s, unnest(%s::varchar[]) ON CONFLICT DO NOTHING",
                [self.run.pk, ids],
            )

    # -- schema ------------------------------------------------------------------------------

    def field_names(self) -> list[str]:
        return self.described()["fields"]

    def described(self) -> dict:
        return cached_describe(self.client, self.state)

    def refresh_describe(self) -> None:
        describe_again(self.client, self.state)

    def select(self) -> str:
        return select_soql(self.mapping.object_name, self.field_names())

    # -- fetching ----------------------------------------------------------------------------

    def where(self, condition: str = "") -> str:
        """WHERE clause of this read: the condition, within the partition's id range if any."""
        conditions = [condition] if condition else []
        if self.id_range is not None:
            first_id, end_id = self.id_range
            if first_id:
                conditions.append(format_soql("Id >= {}", first_id))
            if end_id:
                conditions.append(format_soql("Id < {}", end_id))
        return f"WHERE {' AND '.join(conditions)}" if conditions else ""

    def ordered_soql(self, where: str) -> str:
        return f"{self.select()} {where} ORDER BY SystemModstamp, Id"

    def incremental_condition(self) -> str:
        if self.state.modstamp is None:
            return ""
        overlap = timedelta(seconds=settings.SYNC_OVERLAP_SECONDS)
        return format_soql("SystemModstamp >= {}", self.state.modstamp - overlap)

    def keyset_condition(self, position: tuple[datetime, str]) -> str:
        """After (SystemModstamp, Id); SOQL literals drop milliseconds, so this may re-read a
        few records of the same second (a no-op), never skip one."""
        modstamp, last_id = position
        return format_soql(
            "(SystemModstamp > {} OR (SystemModstamp = {} AND Id > {}))",
            modstamp, modstamp, last_id,
        )

    def pages(self, mode: str) -> Iterator[Page]:
        """Pages of an incremental or full read, restarted after the last applied record when
        Salesforce drops the query (expired locator) or the schema drifted (re-describe)."""
        full = mode == SyncRun.Mode.FULL
        restarts = 0
        while True:
            if self.position is not None:
                where = self.where(self.keyset_condition(self.position))
            else:
                where = self.where("" if full else self.incremental_condition())
            try:
                if full and self.position is None and self.started is not None:
                    started, self.started = self.started, None
                    self.read_since = min(self.read_since, started.created_at)
                    yield from self.bulk_pages(started.total, started)
                    return
                stream = self.client.query_pages(self.ordered_soql(where), batch_size=PAGE_SIZE)
                first = next(stream)
                total = first["totalSize"]
                if full and self.position is None and total > settings.SYNC_BULK_THRESHOLD:
                    stream.close()
                    yield from self.bulk_pages(total)
                    return
                yield Page(self.prepare(first["records"]), total, "page")
                for prepared in prefetched(stream, lambda raw: self.prepare(raw["records"])):
                    yield Page(prepared, total, "page")
                return
            except SalesforceRequestError as exc:
                if exc.error_code not in RESTARTABLE or restarts >= MAX_RESTARTS:
                    raise
                restarts += 1
                logger.warning("%s query restarted: %s", self.mapping.object_name, exc)
                if exc.error_code == "INVALID_FIELD":
                    self.refresh_describe()

    def bulk_pages(self, total: int, started: ReadStarted | None = None) -> Iterator[Page]:
        """A full read through Bulk API 2.0, by a new job or one started ahead; `apply_stream`
        stores the watermark after the last page."""
        if started is not None:
            records = job_records(
                self.client, self.mapping.object_name, started.job_id,
                self.described()["types"], max_records=settings.SYNC_BULK_MAX_RECORDS,
                page_size=PAGE_SIZE, first_results=started.first_results,
            )
        else:
            records = self.bulk_read(f"{self.select()} {self.where()}".strip())
        # Bulk results download ahead on their own (see `job_records`).
        yield from (Page(prepared, total, "end")
                    for prepared in prefetched(records, self.prepare, read_each_ahead=False))

    def bulk_read(self, soql: str) -> Generator[list[dict], None, None]:
        """Records of a Bulk API 2.0 `queryAll` job, in pages, typed as the REST API sends them."""
        return bulk_records(
            self.client,
            self.mapping.object_name,
            soql,
            self.described()["types"],
            max_records=settings.SYNC_BULK_MAX_RECORDS,
            poll_seconds=settings.SYNC_BULK_POLL_SECONDS,
            page_size=PAGE_SIZE,
        )

    def store_highest_watermark(self) -> None:
        """End of an unordered full read (bulk, or all partitions): the highest record applied."""
        assert self.highest is not None  # callers store it only once a record was applied
        with fenced(self.run.generation):
            self.advance_watermark(*self.highest)
            SyncRun.objects.filter(pk=self.run.pk).update(
                watermark_modstamp=self.state.modstamp, watermark_id=self.state.last_id
            )

    def records_by_id(self, sfdc_ids: list[str]) -> Iterator[dict]:
        """Raw result pages of these records (deleted ones included); apply them with the
        default `watermark="none"`: records picked by id say nothing about what came before.

        Up to a full page of ids per query (one API call per 2,000 records), as many as
        SOQL's length limit leaves room for after the field list.
        """
        start = 0
        while start < len(sfdc_ids):
            chunk = sfdc_ids[start : start + self.ids_per_query()]
            try:
                pages = list(self.client.query_pages_posted(self.select_by_id(chunk)))
            except SalesforceRequestError as exc:
                if exc.error_code != "INVALID_FIELD":
                    raise
                logger.warning("%s fields changed; described again: %s", self.mapping.object_name,
                               exc)
                self.refresh_describe()
                chunk = chunk[: self.ids_per_query()]
                pages = list(self.client.query_pages_posted(self.select_by_id(chunk)))
            yield from pages
            start += len(chunk)

    def ids_per_query(self) -> int:
        room = SOQL_MAX_CHARS - len(self.select_by_id([]))
        return max(1, min(PAGE_SIZE, room // SOQL_CHARS_PER_ID))

    def select_by_id(self, sfdc_ids: list[str]) -> str:
        return format_soql(f"{self.select()} WHERE Id IN {{}}", sfdc_ids)

    # -- applying ----------------------------------------------------------------------------

    def prepare(self, records: list[dict]) -> PreparedPage:
        """Check keys, convert values and stage the rows' CSV lines without touching the
        database (thread-safe).

        A record without a valid Id or SystemModstamp is quarantined by `apply_page`; one with
        a value that cannot be stored carries its error into the writer, which quarantines it
        only if it is a Salesforce update (an unchanged record keeps what is stored).
        """
        rows: list[PreparedRow] = []
        bad: dict[str, str] = {}
        convert = self.mapping.convert
        for record in records:
            raw_id = record.get("Id") or ""
            try:
                sfdc_id = clean_record_id(raw_id)
                modstamp = parse_datetime(record.get("SystemModstamp"))
                if not sfdc_id or modstamp is None:
                    raise BadRecord("Id and SystemModstamp are required")
            except BadRecord as exc:
                bad[str(raw_id)[:18]] = str(exc)
                continue
            row = PreparedRow(record, sfdc_id, modstamp)
            try:
                row.values = convert(record)
            except BadRecord as exc:
                row.error = str(exc)
            rows.append(row)
        writer_for(self.mapping, self.run.pk, self.unfilled).stage(rows)
        return PreparedPage(records, rows, bad)

    def quarantine(self, bad: dict[str, str], outcome: PageOutcome) -> None:
        outcome.errors += len(bad)
        sync_errors_record(object_name=self.mapping.object_name, errors=bad, run_id=self.run.pk)

    def apply_stream(
        self, pages: Iterable[Page], after_page: Callable[[int], None] | None = None
    ) -> int:
        """Apply pages in order; `after_page(records so far)` runs after each page's commit.

        A stream whose watermark moves at its end (Bulk) stores it once every page committed.

        Pages of kinds whose writes stay on their own records' rows are written two at a time
        on two connections (one in a helper thread): PostgreSQL inserts one page while the other
        commits or waits for this process, instead of idling between pages. Commits stay in page
        order (each page commits only after the one before it), so the watermark never passes an
        uncommitted page. Pages that share a record, or merge records (whose writes reach other
        rows), are written alone, and so is every page of a stream applied inside the caller's
        transaction.

        A table the planner knows nothing about (the first sync of a new install) is sampled
        once the stream has created enough rows: without statistics for the Salesforce id,
        PostgreSQL reads the stored rows of each page by scanning the whole table until it is
        large, a scan per page that grows with the table. Autovacuum would sample it too, but
        only a minute or more after the growth began.
        """
        # Inside a caller's transaction, another connection could not see its uncommitted rows.
        overlap = WRITERS[self.mapping.kind].pages_overlap and not connection.in_atomic_block
        done = created = 0
        watermark_at_end = False
        beside: Future[PageOutcome] | None = None  # the page before, written in the helper
        beside_ids: Set[str] = frozenset()

        def applied(outcome: PageOutcome) -> None:
            nonlocal done, created
            done += outcome.fetched
            created += outcome.created
            if self.key_statistics_missing and created >= KEY_STATISTICS_AFTER_ROWS:
                analyze_column(self.mapping.model, self.mapping.key)
                self.key_statistics_missing = False
            if after_page:
                after_page(done)

        def beside_applied() -> None:
            """The page written beside has committed (or its error is raised here)."""
            nonlocal beside
            if beside is not None:
                outcome = beside.result()
                beside = None
                applied(outcome)

        helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-writer")
        helper_used = False
        try:
            for page in pages:
                crashpoint("page_fetched")
                if self.run.backlog is None and page.total is not None:
                    self.run.backlog = page.total
                    SyncRun.objects.filter(pk=self.run.pk).update(backlog=page.total)
                prepared = page.prepared
                watermark_at_end = watermark_at_end or page.watermark == "end"
                alone = not overlap or prepared.merges
                if alone or beside_ids & prepared.sfdc_ids:
                    beside_applied()
                if beside is None and not alone:
                    beside = helper.submit(self.apply_page, prepared, watermark=page.watermark)
                    beside_ids, helper_used = prepared.sfdc_ids, True
                    continue
                outcome = self.apply_after(prepared, page.watermark, beside)
                beside_applied()
                applied(outcome)
            beside_applied()
            if watermark_at_end and self.highest is not None and self.id_range is None:
                self.store_highest_watermark()
        finally:
            if beside is not None:  # this page failed: the one before still ends, either way
                beside.exception()
            if helper_used:
                helper.submit(connections.close_all).result()
            helper.shutdown()
        return done

    def apply_after(
        self, page: PreparedPage, watermark: str, before: Future[PageOutcome] | None
    ) -> PageOutcome:
        """Write the page while `before` is written beside it, and commit after it.

        A page that waited too long to commit gives way: it may hold a row that the page
        before waits for behind another transaction (a re-sync holding a row of each), a wait
        PostgreSQL cannot see as a deadlock, because this side waits in Python. It is rolled
        back and written again once the page before committed (not at all if it failed).
        """
        try:
            return self.apply_page(page, watermark=watermark, before=before)
        except GaveWay:
            assert before is not None  # only a page written beside another gives way
            logger.warning("%s page gave way to the page before it", self.mapping.object_name)
            before.result()
            return self.apply_page(page, watermark=watermark)

    def apply_page(
        self,
        records: list[dict] | PreparedPage,
        *,
        watermark: str = "none",
        before: Future[PageOutcome] | None = None,
    ) -> PageOutcome:
        """Write one page in one transaction, fenced by the run's generation; `watermark` as in
        `Page`. With `before` (a page written beside this one), this one commits only after it,
        and rolls back if it failed (its exception is raised here)."""
        page = records if isinstance(records, PreparedPage) else self.prepare(records)
        outcome = PageOutcome(fetched=len(page.records))
        with fenced(self.run.generation):
            relax_commit_durability()
            self.quarantine(page.bad, outcome)
            written = writer_for(self.mapping, self.run.pk, self.unfilled).write(
                page.rows, outcome
            )
            if self.track_seen:
                self.remember_seen(page.records, written.stamped)
            self.quarantine(written.bad, outcome)
            sync_errors_resolve(object_name=self.mapping.object_name, sfdc_ids=written.fine)
            crashpoint("after_upsert_before_commit")
            if before is not None:
                try:
                    before.result(timeout=BESIDE_WAIT_SECONDS)
                except FutureTimeout:
                    raise GaveWay from None
            if page.rows and watermark != "none":
                last = max((r.modstamp, r.sfdc_id) for r in page.rows)
                self.highest = max(self.highest or last, last)
                if watermark == "page":
                    self.position = last
                    if self.id_range is None:
                        self.advance_watermark(*last)
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


def mark_absent_as_deleted(
    mapping: ObjectMapping, *, present_table: str, since: datetime, run_id: int | None = None
) -> int:
    """Mark deleted the live rows whose record is not in `present_table` (the ids Salesforce
    still has; with `run_id`, the ids that run saw, together with the rows it wrote, which carry
    its stamp): records purged from Salesforce, which no incremental query returns. Compared in
    the database, never in Python sets, so memory stays flat in the size of the org. Rows
    written after `since` (a re-sync or a conversion beside the read) may be newer than the
    read and are left alone. Returns how many were marked."""
    table = connection.ops.quote_name(mapping.model._meta.db_table)
    key = connection.ops.quote_name(mapping.key)
    only_leads = " AND l.sfdc_type = 'lead'" if mapping.kind == "lead" else ""
    of_run = " AND p.run_id = %s" if run_id is not None else ""
    not_written = " AND l.synced_by_run IS DISTINCT FROM %s" if run_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} l SET is_deleted = true, synced_at = now()
            WHERE NOT l.is_deleted AND l.{key} IS NOT NULL{only_leads}
              AND (l.synced_at IS NULL OR l.synced_at < %s){not_written}
              AND NOT EXISTS (SELECT 1 FROM {present_table} p WHERE p.sfdc_id = l.{key}{of_run})
            """,  # noqa: S608 - identifiers from model metadata and module constants
            [since] if run_id is None else [since, run_id, run_id],
        )
        return cursor.rowcount
