"""Pages written two at a time on two connections: commits keep the page order, a failed page
takes the page written after it down, a page kept waiting gives way, and pages that share a
record are written one after the other. A page finds its related rows by index probes."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Contact
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync import engine as engine_module
from marketo_sync.sync.engine import ObjectSync, Page
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.writers import ContactWriter
from tests.fixtures.sync import cycle
from tests.helpers.rows import insert_accounts

pytestmark = pytest.mark.django_db(transaction=True)


def contact_sync() -> ObjectSync:
    run = SyncRun.objects.create(object_name="Contact", mode="full", started_at=timezone.now())
    return ObjectSync(SalesforceClient.from_settings(), "Contact", run)


def contact_pages(sandbox, size: int = 5) -> tuple[ObjectSync, list[Page]]:
    """The org's contacts as an ordered full read in pages of `size`, accounts synced first."""
    cycle(objects=["User", "Account"])
    sandbox.control.set_page_size(size)
    sync = contact_sync()
    pages = list(sync.pages(SyncRun.Mode.FULL))
    assert len(pages) >= 4
    return sync, pages


def ids_of(pages: list[Page]) -> set[str]:
    return {row.sfdc_id for page in pages for row in page.prepared.rows}


def in_helper() -> bool:
    return threading.current_thread() is not threading.main_thread()


def slow_in_helper(rows) -> None:
    """Hold the helper's page open, so the next page is written meanwhile."""
    if in_helper():
        time.sleep(0.2)


def writing(monkeypatch, before=None, after=None) -> None:
    """Wrap ContactWriter.write with calls before and after it (each given the page's rows)."""
    original = ContactWriter.write

    def write(self, rows, outcome):
        if before:
            before(rows)
        result = original(self, rows, outcome)
        if after:
            after(rows)
        return result

    monkeypatch.setattr(ContactWriter, "write", write)


def backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_pages_are_written_two_at_a_time_and_commit_in_order(sandbox, monkeypatch):
    sync, pages = contact_pages(sandbox)
    connections_before = backends()
    writers: set[int] = set()
    commits: list[str] = []

    def note(rows):
        first = rows[0].sfdc_id
        writers.add(connection.connection.get_backend_pid())
        transaction.on_commit(lambda: commits.append(first))
        if in_helper():
            time.sleep(0.05)  # the next page is written meanwhile

    writing(monkeypatch, before=note)
    assert sync.apply_stream(pages) == sum(len(page.prepared.records) for page in pages)
    assert len(writers) == 2
    assert commits == [page.prepared.rows[0].sfdc_id for page in pages]
    assert set(Contact.objects.exclude(sfdc_id=None).values_list("sfdc_id", flat=True)) == (
        ids_of(pages)
    )
    last = max((row.modstamp, row.sfdc_id) for page in pages for row in page.prepared.rows)
    state = SyncState.objects.get(object_name="Contact")
    assert (state.modstamp, state.last_id) == last
    assert backends() == connections_before  # the helper's connection is closed


def test_inside_a_callers_transaction_pages_are_written_on_its_connection(sandbox, monkeypatch):
    sync, pages = contact_pages(sandbox)
    writers: set[int] = set()
    writing(monkeypatch, before=lambda rows: writers.add(connection.connection.get_backend_pid()))
    with transaction.atomic():
        sync.apply_stream(pages)
        assert Contact.objects.exclude(sfdc_id=None).count() == len(ids_of(pages))
    assert len(writers) == 1


@pytest.mark.parametrize("wait", [10.0, 0.01], ids=["waiting", "having given way"])
def test_a_failed_page_rolls_back_the_page_written_after_it(sandbox, monkeypatch, wait):
    sync, pages = contact_pages(sandbox)
    monkeypatch.setattr(engine_module, "BESIDE_WAIT_SECONDS", wait)
    failing = pages[2].prepared.rows[0].sfdc_id  # pages 0 and 2 go to the helper

    def fail(rows):
        if rows[0].sfdc_id == failing:
            time.sleep(0.2)  # page 3 is written meanwhile
            raise RuntimeError("page 2 failed")

    writing(monkeypatch, after=fail)
    with pytest.raises(RuntimeError, match="page 2 failed"):
        sync.apply_stream(pages)
    stored = set(Contact.objects.exclude(sfdc_id=None).values_list("sfdc_id", flat=True))
    assert ids_of(pages[:2]) <= stored
    assert not stored & ids_of(pages[2:])
    state = SyncState.objects.get(object_name="Contact")
    assert (state.modstamp, state.last_id) == max(
        (row.modstamp, row.sfdc_id) for row in pages[1].prepared.rows
    )


def test_a_page_kept_waiting_gives_way_and_is_written_again(sandbox, monkeypatch, caplog):
    sync, pages = contact_pages(sandbox)
    monkeypatch.setattr(engine_module, "BESIDE_WAIT_SECONDS", 0.01)
    writing(monkeypatch, after=slow_in_helper)
    sync.apply_stream(pages)
    assert "gave way to the page before it" in caplog.text
    assert set(Contact.objects.exclude(sfdc_id=None).values_list("sfdc_id", flat=True)) == (
        ids_of(pages)
    )


def test_pages_that_share_a_record_are_written_one_after_the_other(sandbox, monkeypatch):
    cycle(objects=["User", "Account"])
    sync = contact_sync()
    record = next(SalesforceClient.from_settings().query_pages(
        f"{sync.select()} ORDER BY Id LIMIT 1"
    ))["records"][0]
    sfdc_id = record["Id"]
    newer = {**record, "Title": "Newer", "SystemModstamp": "2030-01-02T00:00:00.000+0000"}
    older = {**record, "Title": "Older", "SystemModstamp": "2030-01-01T00:00:00.000+0000"}
    # Were the two written at once, the older page would read before the newer one commits.
    newer_written = threading.Event()

    def newer_first(rows):
        if not in_helper():
            newer_written.wait(timeout=5)

    def hold_newer(rows):
        if in_helper():
            newer_written.set()
            time.sleep(0.2)

    writing(monkeypatch, before=newer_first, after=hold_newer)
    sync.apply_stream([Page(sync.prepare([newer]), None, "none"),
                       Page(sync.prepare([older]), None, "none")])
    assert Contact.objects.get(sfdc_id=sfdc_id).title == "Newer"


def test_a_page_that_merges_records_is_written_alone(sandbox, monkeypatch):
    cycle(objects=["User", "Account"])
    sync = contact_sync()
    survivor, merged = next(SalesforceClient.from_settings().query_pages(
        f"{sync.select()} ORDER BY Id LIMIT 2"
    ))["records"]
    loser = {**merged, "IsDeleted": True, "MasterRecordId": survivor["Id"]}
    events: list[tuple[str, str]] = []

    def start(rows):
        sfdc_id = rows[0].sfdc_id
        events.append(("write", sfdc_id))
        transaction.on_commit(lambda: events.append(("commit", sfdc_id)))

    writing(monkeypatch, before=start, after=slow_in_helper)
    sync.apply_stream([Page(sync.prepare([survivor]), None, "none"),
                       Page(sync.prepare([loser]), None, "none")])
    assert events == [("write", survivor["Id"]), ("commit", survivor["Id"]),
                      ("write", loser["Id"]), ("commit", loser["Id"])]


def test_a_page_finds_its_accounts_by_index_probes_not_by_reading_every_account(sandbox):
    """A page holds a few thousand records; the org may hold hundreds of thousands of accounts,
    which a join would read (and hash) in whole for every page."""
    sync, pages = contact_pages(sandbox)
    insert_accounts(20000)
    plans: list[dict] = []

    def explained(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO") and "staging_" in sql:
            with context["connection"].cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plans.append(cursor.fetchone()[0][0]["Plan"])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explained):
        sync.apply_page(pages[0].prepared)
    (plan,) = plans
    nodes = list(plan_nodes(plan))
    assert ("Index Scan", "accounts_account") in nodes
    assert not [kind for kind, relation in nodes
                if (relation == "accounts_account" and kind != "Index Scan")
                or kind.startswith("Hash")]


def plan_nodes(node: dict):
    """(node type, relation) of a plan node and of every node under it."""
    yield node["Node Type"], node.get("Relation Name", "")
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
