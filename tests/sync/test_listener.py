"""The Change Data Capture listener against the sandbox, with the real database, Redis and RQ."""

import asyncio
import signal
import subprocess
import sys
import threading
import time

import django_rq
import pytest
from django.conf import settings

from accounts.models import Account
from activities.models import AccountHistory, Activity
from marketo_sync.sync.changes import changes_resync, stream_commit_batch
from marketo_sync.sync.listener import Listener
from marketo_sync.sync.models import PendingChange, StreamState, SyncRun
from marketo_sync.sync.selectors import accounts_skipped_by_activity_limit, sync_interval_seconds
from marketo_sync.sync.services import CYCLE_JOB_ID, job_pending
from tests.fixtures.sync import cycle
from tests.fixtures.workers import ROOT, child_environment

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = "/data/AccountChangeEvent"
NOT_API_CALLS = {"token", "versions", "control", "cometd"}


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


class RunningListener:
    """A listener on its own event loop in a thread, as `sfdc_listen` runs it."""

    def __init__(self, objects: tuple[str, ...] = ("Account",)) -> None:
        self.listener = Listener(objects=objects)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete,
                                       args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        self.listener.stopping = asyncio.Event()
        await self.listener.run()

    def __enter__(self) -> "RunningListener":
        self.thread.start()
        wait_for(lambda: StreamState.objects.filter(channel=ACCOUNTS, connected=True).exists())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.loop.call_soon_threadsafe(self.listener.stop)
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def org(synced):
    """Synced once, the stream resumes from the sandbox's newest event (as after a prior run)."""
    synced.control.set_stream_poll_seconds(2)
    StreamState.objects.create(channel=ACCOUNTS, replay_id=synced.control.last_replay_id())
    django_rq.get_queue("sync").empty()
    return synced


def account_with_contacts() -> Account:
    return (
        Account.objects.filter(contacts__isnull=False, is_deleted=False)
        .order_by("pk")
        .first()
    )


def queued_functions() -> list[str]:
    return [job.func_name for job in django_rq.get_queue("sync").jobs]


def industry_activities(account: Account, value: str) -> int:
    return Activity.objects.filter(
        contact__account=account, attribute="Industry", new_value__contains=value
    ).count()


def test_an_update_becomes_activities_without_any_cycle(org, burst_worker):
    account = account_with_contacts()
    contacts = account.contacts.filter(is_deleted=False).count()
    cycles = SyncRun.objects.exclude(mode=SyncRun.Mode.RECORDS).count()
    with RunningListener():
        org.control.update("Account", account.sfdc_id, {"Industry": "Energy"})
        wait_for(queued_functions)
        assert queued_functions() == ["marketo_sync.sync.jobs.run_sync_changes"]
        burst_worker()
    assert industry_activities(account, "Energy") == contacts > 0
    assert SyncRun.objects.exclude(mode=SyncRun.Mode.RECORDS).count() == cycles
    assert not PendingChange.objects.exists()
    state = StreamState.objects.get(channel=ACCOUNTS)
    assert state.replay_id == org.control.last_replay_id()
    assert state.events_received == 1 and state.last_lag_seconds is not None



@pytest.mark.slow
@pytest.mark.parametrize(("contacts", "logs"), [(5000, True), (5001, False)])
def test_the_5000_rule_holds_for_event_driven_resyncs(sandbox, burst_worker, contacts, logs):
    assert settings.ACTIVITY_CONTACT_LIMIT == 5000
    control = sandbox.control
    account_id = control.create("Account", {"Name": "Big Co", "Industry": "Retail"})
    control.bulk_create(
        "Contact",
        [{"LastName": f"Person {i}", "AccountId": account_id} for i in range(contacts)],
    )
    cycle()
    control.set_stream_poll_seconds(2)
    StreamState.objects.create(channel=ACCOUNTS, replay_id=control.last_replay_id())
    django_rq.get_queue("sync").empty()
    with RunningListener():
        control.update("Account", account_id, {"Industry": "Banking", "Phone": "+1 555"})
        wait_for(queued_functions)
        assert queued_functions() == ["marketo_sync.sync.jobs.run_sync_changes"]
        burst_worker()
    (run,) = SyncRun.objects.filter(mode=SyncRun.Mode.RECORDS, object_name="Account")
    account = Account.objects.get(sfdc_id=account_id)
    assert account.industry == "Banking"  # the data syncs either way
    history = AccountHistory.objects.filter(account=account, sync_run=run)
    assert sorted(history.values_list("attribute", "old_value", "new_value")) == [
        ("Industry", "Retail", "Banking"), ("Phone", "", "+1 555"),
    ]
    logged = Activity.objects.filter(contact__account=account, sync_run=run).count()
    skipped = list(accounts_skipped_by_activity_limit(run=run))
    if logs:
        assert logged == 5000 * 2
        assert run.accounts_skipped_activity_limit == 0
        assert skipped == []
        assert not any(history.values_list("activities_skipped", flat=True))
    else:
        assert logged == 0
        assert run.accounts_skipped_activity_limit == 1
        assert skipped == [account]
        assert all(history.values_list("activities_skipped", flat=True))

def test_duplicated_events_are_idempotent(org, burst_worker):
    account = account_with_contacts()
    org.control.update("Account", account.sfdc_id, {"Industry": "Banking"})
    event = {
        "channel": ACCOUNTS,
        "data": {
            "event": {"replayId": org.control.last_replay_id()},
            "payload": {"ChangeEventHeader": {
                "entityName": "Account", "recordIds": [account.sfdc_id], "changeType": "UPDATE",
                "commitTimestamp": int(time.time() * 1000),
            }},
        },
    }
    stream_commit_batch(messages=[event])
    burst_worker()
    once = industry_activities(account, "Banking")
    stream_commit_batch(messages=[event, event])
    burst_worker()
    assert industry_activities(account, "Banking") == once > 0


def test_gap_and_overflow_fall_back_to_a_cycle(org):
    with RunningListener():
        org.control.emit_gap("Account", "GAP_OVERFLOW")
        state = wait_for(
            lambda: StreamState.objects.filter(
                channel=ACCOUNTS, last_fallback_reason__contains="GAP_OVERFLOW"
            ).first()
        )
        wait_for(lambda: job_pending(CYCLE_JOB_ID))
    assert state.last_fallback_at is not None
    assert not PendingChange.objects.exists()


def test_a_too_old_replay_id_falls_back_to_a_cycle_and_listens_on(org):
    org.control.expire_replay_ids()
    account = account_with_contacts()
    with RunningListener():
        state = StreamState.objects.get(channel=ACCOUNTS)
        assert "replay id refused as too old" in state.last_fallback_reason
        assert job_pending(CYCLE_JOB_ID)
        org.control.update("Account", account.sfdc_id, {"Industry": "Retail"})
        wait_for(PendingChange.objects.exists)


def test_restart_resumes_from_the_stored_replay_id(org):
    account = account_with_contacts()
    with RunningListener():
        pass
    org.control.update("Account", account.sfdc_id, {"Industry": "Energy"})
    with RunningListener():
        row = wait_for(PendingChange.objects.first)
    assert row.sfdc_ids == [account.sfdc_id]
    assert not job_pending(CYCLE_JOB_ID)


def test_a_listener_failing_before_its_commit_gets_the_events_again(org, monkeypatch):
    account = account_with_contacts()
    calls = []

    def crash_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OSError("killed between receiving and committing")
        return stream_commit_batch(**kwargs)

    monkeypatch.setattr("marketo_sync.sync.listener.stream_commit_batch", crash_once)
    monkeypatch.setattr("marketo_sync.sync.listener.BACKOFF_BASE_SECONDS", 0.05)
    with RunningListener():
        org.control.update("Account", account.sfdc_id, {"Industry": "Energy"})
        row = wait_for(PendingChange.objects.first)
    assert row.sfdc_ids == [account.sfdc_id]
    assert PendingChange.objects.count() == 1
    assert StreamState.objects.get(channel=ACCOUNTS).replay_id == org.control.last_replay_id()


def test_a_dropped_stream_reconnects_with_backoff(org, monkeypatch):
    monkeypatch.setattr("marketo_sync.sync.listener.BACKOFF_BASE_SECONDS", 0.05)
    account = account_with_contacts()
    with RunningListener() as running:
        org.control.drop_stream()
        wait_for(lambda: running.listener.failures > 0 or
                 StreamState.objects.filter(last_fallback_reason__contains="lost").exists())
        org.control.update("Account", account.sfdc_id, {"Industry": "Energy"})
        row = wait_for(PendingChange.objects.first)
    assert row.sfdc_ids == [account.sfdc_id]


def test_the_polling_interval_is_longer_while_the_stream_is_healthy(org, settings):
    settings.SYNC_INTERVAL_SECONDS = 300
    settings.SYNC_INTERVAL_SECONDS_STREAMING = 900
    with RunningListener():
        assert sync_interval_seconds() == 900
    assert sync_interval_seconds() == 300


def test_outbox_ids_are_coalesced_into_one_job_per_object(org):
    for replay_id in (1, 2, 3):
        stream_commit_batch(messages=[{
            "channel": ACCOUNTS,
            "data": {"event": {"replayId": replay_id}, "payload": {"ChangeEventHeader": {
                "entityName": "Account", "recordIds": [f"0015g00000000{replay_id}0AAA"],
                "changeType": "UPDATE"}}},
        }])
    assert queued_functions() == ["marketo_sync.sync.jobs.run_sync_changes"]
    assert PendingChange.objects.count() == 3


def test_sfdc_listen_runs_until_sigterm_and_marks_the_stream_disconnected(org):
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "sfdc_listen", "--object", "Account"],
        cwd=ROOT, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: StreamState.objects.filter(channel=ACCOUNTS, connected=True).exists(),
                 timeout=60)
        account = account_with_contacts()
        org.control.update("Account", account.sfdc_id, {"Industry": "Energy"})
        assert wait_for(PendingChange.objects.first).sfdc_ids == [account.sfdc_id]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "listening on /data/AccountChangeEvent" in stdout and "listener stopped" in stdout
    assert not StreamState.objects.get(channel=ACCOUNTS).connected


@pytest.mark.slow
def test_a_burst_of_10000_changes_costs_one_api_call_per_2000_records(org):
    ids = org.control.bulk_create(
        "Account", [{"Name": f"Burst {n}", "Industry": "Retail"} for n in range(10_000)]
    )
    PendingChange.objects.create(object_name="Account", sfdc_ids=ids[:6000])
    PendingChange.objects.create(object_name="Account", sfdc_ids=ids[4000:])
    org.control.reset_counts()
    run = changes_resync(object_name="Account")
    assert run is not None and run.status == SyncRun.Status.SUCCESS, run and run.error
    counts = org.control.request_counts()
    api_calls = sum(n for kind, n in counts.items() if kind not in NOT_API_CALLS)
    assert api_calls <= 10_000 / 2000 + 1, counts
    assert counts == {"composite": 5}
    assert Account.objects.filter(sfdc_id__in=ids).count() == 10_000
    assert not PendingChange.objects.exists()
    assert not job_pending(CYCLE_JOB_ID)
