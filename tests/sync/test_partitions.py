"""Partitioned full reads: id slices, one worker alone, helper worker processes, a killed helper."""

import threading
import time

import pytest
from django.db import connection

from accounts.models import Account, Contact
from marketo_sync.salesforce import client as client_module
from marketo_sync.salesforce.ids import id_number, normalize_sfdc_id
from marketo_sync.sync import partitions
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.models import SyncPartition, SyncRun, SyncState
from marketo_sync.sync.partitions import id_ranges
from tests.fixtures.workers import run_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sandbox_seed("small")]


@pytest.fixture(autouse=True)
def partitioned(settings):
    client_module._token_cache.clear()
    settings.SYNC_PARTITIONS = 4
    settings.SYNC_PARTITION_MIN_RECORDS = 100  # Contact (~500) and Lead are split; User is not


def test_id_ranges_are_ordered_slices_open_at_both_ends():
    first, last = normalize_sfdc_id("0035g00000AAAAA"), normalize_sfdc_id("0035g00000zzzzz")
    ranges = id_ranges(first, last, 4)
    assert len(ranges) == 4
    assert ranges[0][0] == "" and ranges[-1][1] == ""
    cuts = [end for _, end in ranges[:-1]]
    assert cuts == sorted(cuts) and len(set(cuts)) == 3
    assert all(start == end for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False))
    assert all(id_number(first) < id_number(cut) <= id_number(last) for cut in cuts)
    assert id_ranges(first, first, 4) == [("", "")]  # a single record: one open range


def assert_matches_the_org(control, purged: tuple[int, ...] = ()) -> None:
    assert Contact.objects.filter(sfdc_type="contact", is_deleted=False).count() == control.count(
        "Contact"
    )
    assert Contact.objects.exclude(sfdc_id=None).exclude(pk__in=purged).count() == control.count(
        "Contact", include_deleted=True
    )
    assert Account.objects.filter(is_deleted=False).count() == control.count("Account")
    state = SyncState.objects.get(object_name="Contact")
    latest = Contact.objects.exclude(sfdc_last_modified=None).order_by(
        "-sfdc_last_modified", "-sfdc_id"
    )[0]
    assert (state.modstamp, state.last_id) == (latest.sfdc_last_modified, latest.sfdc_id)


def test_one_worker_alone_reads_every_partition(sandbox):
    control = sandbox.control
    control.set_page_size(50)
    gone = Contact.objects.create(sfdc_id=normalize_sfdc_id("0035g00000Gone0"), sfdc_type="contact",
                                  last_name="Purged long ago")
    cycle = sync_cycle(full=True)
    cycle.refresh_from_db()
    assert cycle.status == SyncRun.Status.SUCCESS, cycle.error
    assert_matches_the_org(control, purged=(gone.pk,))
    gone.refresh_from_db()
    assert gone.is_deleted  # the ids seen by all partitions are compared, not one's
    run = SyncRun.objects.get(object_name="Contact")
    partitions = list(run.partitions.all())
    assert len(partitions) == 4 and {p.status for p in partitions} == {"done"}
    assert sum(p.fetched for p in partitions) == run.fetched == control.count(
        "Contact", include_deleted=True
    )
    assert run.api_calls == 3 + sum(p.api_calls for p in partitions)  # count and two ends
    assert not SyncPartition.objects.filter(run__object_name="User").exists()
    again = sync_cycle(full=True)
    again.refresh_from_db()
    assert again.status == "success" and again.created == again.updated == 0


def run_cycle_in_thread(results: list) -> threading.Thread:
    def work() -> None:
        try:
            results.append(sync_cycle(full=True))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def wait_for_partitions(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not SyncPartition.objects.exists():
        assert time.monotonic() < deadline, "the coordinator never split the read"
        time.sleep(0.05)


def test_helper_worker_processes_share_the_read(sandbox):
    control = sandbox.control
    control.set_page_size(50)
    control.inject_fault("latency", count=400, path="/query", seconds=0.1)
    results: list = []
    thread = run_cycle_in_thread(results)
    wait_for_partitions()
    helper = run_worker()
    thread.join(timeout=300)
    assert helper.returncode == 0, helper.stderr
    (cycle,) = results
    cycle.refresh_from_db()
    assert cycle.status == SyncRun.Status.SUCCESS, cycle.error
    assert_matches_the_org(control)
    run = SyncRun.objects.get(object_name="Contact")
    assert run.api_calls >= 3 + sum(p.api_calls for p in run.partitions.all()) - 1
    assert "full read (helper)" in helper.stderr + helper.stdout  # it did take helper jobs


def claim_after_a_helper(monkeypatch) -> None:
    """The cycle's own first claim waits for a helper process to claim a partition, so the
    helper always gets one however slowly it starts on a loaded machine."""
    claim = partitions.claim_partition

    def after_a_helper(run_id: int) -> SyncPartition | None:
        deadline = time.monotonic() + 120
        while not SyncPartition.objects.filter(run_id=run_id, attempts__gt=0).exists():
            assert time.monotonic() < deadline, "no helper claimed a partition"
            time.sleep(0.05)
        return claim(run_id)

    monkeypatch.setattr(partitions, "claim_partition", after_a_helper)


@pytest.mark.faults
def test_a_helper_killed_mid_partition_is_taken_over_and_the_read_converges(
    sandbox, settings, monkeypatch
):
    settings.SYNC_LOCK_TTL_SECONDS = 2  # a silent partition is claimed again after 2 s
    claim_after_a_helper(monkeypatch)
    control = sandbox.control
    control.set_page_size(50)
    control.inject_fault("latency", count=400, path="/query", seconds=0.1)
    results: list = []
    thread = run_cycle_in_thread(results)
    wait_for_partitions()
    crashed = run_worker(SYNC_CRASHPOINTS="after_upsert_before_commit:1")
    assert crashed.returncode == 0, crashed.stderr  # RQ notices its work horse died
    thread.join(timeout=300)
    (cycle,) = results
    cycle.refresh_from_db()
    assert cycle.status == SyncRun.Status.SUCCESS, cycle.error
    assert_matches_the_org(control)
    assert SyncPartition.objects.filter(attempts__gt=1).exists()  # one was read again
