"""`/metrics`: a bearer-token Prometheus endpoint whose numbers come from the database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from marketo_sync.sync.models import StreamState, SyncError, SyncRun, SyncState
from marketo_sync.sync.services import sync_set_paused

TOKEN = "scrape-token-for-tests"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def run(object_name: str, ago: timedelta, took: timedelta, **counts) -> SyncRun:
    started = timezone.now() - ago
    return SyncRun.objects.create(
        object_name=object_name, mode="incremental", status="success", started_at=started,
        finished_at=started + took, **counts,
    )


def test_unset_token_means_no_endpoint(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_a_missing_or_wrong_token_is_refused(client, metrics_token, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"marketo_sync" not in response.content


def test_metrics_report_what_the_database_holds(client, metrics_token, db):
    now = timezone.now()
    SyncState.objects.create(object_name="Account", modstamp=now - timedelta(seconds=90),
                             backlog=42)
    SyncState.objects.create(object_name="Contact", modstamp=None, backlog=None)
    run("Account", timedelta(hours=2), timedelta(seconds=3), fetched=10, created=4, updated=6,
        deleted=1, errors=2, activities_logged=30, accounts_skipped_activity_limit=1,
        api_used=1200, api_limit=15000)
    run("Account", timedelta(minutes=10), timedelta(seconds=2), fetched=5, updated=5,
        activities_logged=3, api_used=1300, api_limit=15000)
    run("Contact", timedelta(minutes=10), timedelta(seconds=2), fetched=7, created=7)
    run("", timedelta(hours=2), timedelta(seconds=20))
    run("", timedelta(minutes=10), timedelta(seconds=400))
    SyncError.objects.create(object_name="Account", sfdc_id="001000000000001AAA", message="bad")

    values = scrape(client)
    account, contact = (("object", "Account"),), (("object", "Contact"),)
    assert 90 <= values[("marketo_sync_sync_lag_seconds", account)] < 120
    assert ("marketo_sync_sync_lag_seconds", contact) not in values
    assert values[("marketo_sync_backlog_records", account)] == 42
    assert values[("marketo_sync_records_fetched_total", account)] == 15
    assert values[("marketo_sync_records_fetched_total", contact)] == 7
    assert values[("marketo_sync_records_created_total", account)] == 4
    assert values[("marketo_sync_records_updated_total", account)] == 11
    assert values[("marketo_sync_records_deleted_total", account)] == 1
    assert values[("marketo_sync_records_quarantined_total", account)] == 2
    assert values[("marketo_sync_activities_logged_total", account)] == 33
    assert values[("marketo_sync_accounts_skipped_activity_limit_total", account)] == 1
    assert values[("marketo_sync_cycle_duration_seconds_count", ())] == 2
    assert values[("marketo_sync_cycle_duration_seconds_sum", ())] == pytest.approx(420)
    assert values[("marketo_sync_cycle_duration_seconds_bucket", (("le", "30.0"),))] == 1
    assert values[("marketo_sync_cycle_duration_seconds_bucket", (("le", "300.0"),))] == 1
    assert values[("marketo_sync_cycle_duration_seconds_bucket", (("le", "600.0"),))] == 2
    assert values[("marketo_sync_cycle_duration_seconds_bucket", (("le", "+Inf"),))] == 2
    assert values[("marketo_sync_api_daily_used", ())] == 1300
    assert values[("marketo_sync_api_daily_remaining", ())] == 13700
    assert values[("marketo_sync_paused", ())] == 0
    assert 190 <= values[("marketo_sync_last_successful_cycle_age_seconds", ())] < 230
    assert values[("marketo_sync_open_record_errors", ())] == 1
    assert values[("marketo_sync_queue_jobs", (("queue", "sync"),))] == 0

    sync_set_paused(paused=True, by="ops")
    assert scrape(client)[("marketo_sync_paused", ())] == 1


def test_before_any_cycle_the_age_is_infinite(client, metrics_token, db):
    values = scrape(client)
    assert values[("marketo_sync_last_successful_cycle_age_seconds", ())] == float("inf")
    assert values[("marketo_sync_cycle_duration_seconds_count", ())] == 0


def test_the_change_stream_shows_per_channel(client, metrics_token, db):
    event_at = timezone.now() - timedelta(seconds=5)
    StreamState.objects.create(
        channel="/data/AccountChangeEvent", replay_id=4711, connected=True, events_received=12,
        last_event_at=event_at, last_lag_seconds=0.8,
    )
    StreamState.objects.create(channel="/data/ContactChangeEvent", connected=False)

    values = scrape(client)
    accounts = (("channel", "/data/AccountChangeEvent"),)
    contacts = (("channel", "/data/ContactChangeEvent"),)
    assert values[("marketo_sync_stream_connected", accounts)] == 1
    assert values[("marketo_sync_stream_connected", contacts)] == 0
    assert values[("marketo_sync_stream_last_event_timestamp_seconds", accounts)] == (
        pytest.approx(event_at.timestamp())
    )
    assert values[("marketo_sync_stream_events_received_total", accounts)] == 12
    assert values[("marketo_sync_stream_events_received_total", contacts)] == 0
    assert values[("marketo_sync_stream_replay_id", accounts)] == 4711
    assert values[("marketo_sync_stream_last_change_lag_seconds", accounts)] == 0.8
    for name in ("last_event_timestamp_seconds", "replay_id", "last_change_lag_seconds"):
        assert (f"marketo_sync_stream_{name}", contacts) not in values
