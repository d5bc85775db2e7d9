"""The sync status page: what it shows, and its buttons behind their permissions and CSRF."""

import csv
import io
from datetime import timedelta

import django_rq
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from activities.models import AccountHistory
from marketo_sync.sync.jobs import tick
from marketo_sync.sync.models import StreamState, SyncError, SyncRun, SyncState
from marketo_sync.sync.services import (
    CYCLE_JOB_ID,
    next_cycle_due,
    schedule_interval_record,
    schedule_interval_seconds,
    sync_set_paused,
)

pytestmark = pytest.mark.django_db

STATUS = reverse("admin:sync_status")


@pytest.fixture
def cycles():
    now = timezone.now()
    SyncRun.objects.create(
        mode="incremental", status="success", started_at=now - timedelta(minutes=10),
        finished_at=now - timedelta(minutes=9), fetched=120, api_calls=7,
        local_edits_overwritten=2, accounts_skipped_activity_limit=1, api_used=4200,
        api_limit=15000,
    )
    SyncRun.objects.create(
        mode="incremental", status="failed", started_at=now - timedelta(minutes=5),
        finished_at=now - timedelta(minutes=4), fetched=30, api_calls=3, errors=1,
        error="<script>alert(1)</script>", api_used=4300, api_limit=15000,
    )
    SyncError.objects.create(object_name="Account", sfdc_id="0019000000B98deAAB", message="bad")


def test_marketers_see_the_status_without_the_buttons(marketer_client, cycles):
    text = marketer_client.get(STATUS).content.decode()
    assert "10700</strong> calls remaining" in text
    assert "150 records fetched with 10 API calls" in text
    assert "2 local edits overwritten" in text
    assert "1 account skipped by the 5,000-contact activity rule" in text
    assert "1 record error open" in text
    assert "Next scheduled cycle" in text
    assert "<svg" in text and "<script>alert" not in text
    assert "Sync now" not in text and "Pause sync" not in text
    assert "django-rq" not in text
    assert marketer_client.post(reverse("admin:sync_now")).status_code == 403
    assert marketer_client.post(reverse("admin:sync_pause"), {"paused": "1"}).status_code == 403
    assert not SyncState.objects.filter(paused=True).exists()


def test_the_status_names_the_configured_activity_limit(marketer_client, cycles, settings):
    settings.ACTIVITY_CONTACT_LIMIT = 12500
    text = marketer_client.get(STATUS).content.decode()
    assert "1 account skipped by the 12,500-contact activity rule" in text


@pytest.mark.django_db(transaction=True)  # the job is enqueued when the transaction commits
def test_sync_now_queues_one_cycle(operator_client):
    assert "Sync now" in operator_client.get(STATUS).content.decode()
    assert operator_client.get(reverse("admin:sync_now")).status_code == 405
    first = operator_client.post(reverse("admin:sync_now"), follow=True).content.decode()
    assert "A sync cycle was queued" in first
    again = operator_client.post(reverse("admin:sync_now"), follow=True).content.decode()
    assert "already queued or running" in again
    assert django_rq.get_queue("sync").job_ids == [CYCLE_JOB_ID]


def test_pause_and_resume(operator_client):
    operator_client.post(reverse("admin:sync_pause"), {"paused": "1"})
    assert SyncState.objects.filter(paused=True).exists()
    assert set(SyncState.objects.values_list("paused_by", flat=True)) == {"marketer"}
    page = operator_client.get(STATUS).content.decode()
    assert "Resume sync" in page
    assert "The sync is paused since " in page and " UTC by marketer." in page
    operator_client.post(reverse("admin:sync_pause"), {"paused": "0"})
    assert not SyncState.objects.filter(paused=True).exists()
    assert "Pause sync" in operator_client.get(STATUS).content.decode()


def test_the_buttons_need_the_csrf_token(marketer, operator_client):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(marketer)
    assert strict.post(reverse("admin:sync_now")).status_code == 403
    assert strict.post(reverse("admin:sync_pause"), {"paused": "1"}).status_code == 403
    assert not SyncState.objects.filter(paused=True).exists()


def test_superusers_get_the_queue_dashboard_link(admin_client):
    text = admin_client.get(STATUS).content.decode()
    assert reverse("admin:django_rq_dashboard_changelist") in text
    assert "Sync status" in admin_client.get(
        reverse("admin:sync_syncrun_changelist")
    ).content.decode()


FORMULAS = ["=HYPERLINK(\"http://evil.example\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_the_error_export_keeps_salesforce_text_out_of_spreadsheet_formulas(marketer_client):
    errors = [
        SyncError.objects.create(object_name="Account", sfdc_id=f"001900000{n}B98deAAB",
                                 message=message)
        for n, message in enumerate([*FORMULAS, "plain text", "a = b"])
    ]
    response = marketer_client.post(
        reverse("admin:sync_syncerror_changelist"),
        {"action": "export_csv", "_selected_action": [error.pk for error in errors]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text))
    messages = sorted(row[header.index("message")] for row in rows)
    assert messages == sorted(["'" + formula for formula in FORMULAS] + ["plain text", "a = b"])
    assert {row[header.index("attempts")] for row in rows} == {"1"}


def test_a_cycle_page_links_the_accounts_the_activity_limit_skipped(marketer_client):
    now = timezone.now()
    cycle = SyncRun.objects.create(
        mode="incremental", status="success", started_at=now - timedelta(minutes=2),
        finished_at=now, accounts_skipped_activity_limit=1,
    )
    object_run = SyncRun.objects.create(
        object_name="Account", mode="incremental", status="success",
        started_at=now - timedelta(minutes=1), finished_at=now,
    )
    big = Account.objects.create(sfdc_id="0019000000B98deAAB", name="<b>Big</b> Co")
    small = Account.objects.create(sfdc_id="0019000000oC4HkAAK", name="Small")
    for account, skipped in ((big, True), (small, False)):
        AccountHistory.objects.create(
            account=account, attribute="Industry", new_value="Banking", source="sfdc_sync",
            created_at=now, sync_run=object_run, activities_skipped=skipped,
        )
    for run in (cycle, object_run):
        text = marketer_client.get(
            reverse("admin:sync_syncrun_change", args=[run.pk])
        ).content.decode()
        assert reverse("admin:accounts_account_change", args=[big.pk]) in text
        assert "&lt;b&gt;Big&lt;/b&gt; Co" in text
        assert reverse("admin:accounts_account_change", args=[small.pk]) not in text


def test_the_admin_names_the_product(marketer_client):
    text = marketer_client.get(reverse("admin:index")).content.decode()
    assert '<a href="/admin/">marketo-sync</a>' in text
    assert "Django administration" not in text and "Django site admin" not in text


def test_the_status_shows_the_change_stream_per_channel(marketer_client, cycles):
    StreamState.objects.create(
        channel="/data/AccountChangeEvent", replay_id=42, connected=True, events_received=7,
        last_event_at=timezone.now(), last_lag_seconds=0.84,
        last_fallback_at=timezone.now(), last_fallback_reason="GAP_OVERFLOW on Account",
    )
    StreamState.objects.create(channel="/data/ContactChangeEvent", connected=False)
    page = marketer_client.get(STATUS).content.decode()
    assert "/data/AccountChangeEvent</td><td>connected" in page
    assert "<td>7</td><td>42</td><td>0.84 s</td>" in page and "GAP_OVERFLOW on Account" in page
    assert "/data/ContactChangeEvent</td><td><strong>not connected</strong>" in page


@pytest.mark.django_db(transaction=True)
def test_sync_now_while_paused_is_refused_and_no_next_cycle_is_shown(operator_client, cycles):
    assert "Next scheduled cycle" in operator_client.get(STATUS).content.decode()
    sync_set_paused(paused=True, by="ops", reason="maintenance")
    refused = operator_client.post(reverse("admin:sync_now"), follow=True).content.decode()
    assert "The sync is paused since " in refused and " by ops (maintenance): resume it first." in (
        refused
    )
    assert "A sync cycle was queued" not in refused
    assert django_rq.get_queue("sync").job_ids == []
    assert "Next scheduled cycle" not in refused


@pytest.mark.django_db(transaction=True)
def test_the_next_cycle_follows_the_interval_the_schedule_runs_with(operator_client, settings):
    finished = timezone.now() - timedelta(seconds=30)
    SyncRun.objects.create(mode="incremental", status="success", started_at=finished,
                           finished_at=finished)
    settings.SYNC_INTERVAL_SECONDS = 300  # this web process's own setting
    assert next_cycle_due() == finished + timedelta(seconds=300)
    schedule_interval_record(60)  # what the workers' schedule last ran with
    assert next_cycle_due() == finished + timedelta(seconds=60)
    settings.SYNC_INTERVAL_SECONDS = 60
    tick()  # a worker's tick records its own interval
    settings.SYNC_INTERVAL_SECONDS = 300
    assert schedule_interval_seconds() == 60


def test_the_backlog_table_lists_only_objects_with_something_waiting(marketer_client):
    SyncState.objects.create(object_name="Account", backlog=0)
    SyncState.objects.create(object_name="Contact", backlog=42)
    SyncState.objects.create(object_name="Lead")
    table = marketer_client.get(STATUS).content.decode().split('id="sync-backlog"')[1]
    table = table.split("</table>")[0]
    assert "<td>Contact</td><td>42</td>" in table
    assert "<td>Account</td>" not in table and "<td>Lead</td>" not in table
