"""`/healthz/` reports the database, Redis and the age of the last finished sync run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from marketo_sync.sync.models import SyncRun

# The checks run in executor threads with their own connections: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def finished_run(ago: timedelta) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        mode="incremental", status="success", started_at=now - ago, finished_at=now - ago
    )


def test_healthy_when_a_recent_run_finished(client):
    finished_run(timedelta(minutes=1))
    response = client.get("/healthz/?format=json")
    assert response.status_code == 200, response.content
    assert all(value == "OK" for value in response.json().values())
    assert len(response.json()) == 3


def test_unhealthy_when_the_last_run_is_too_old(client, settings):
    settings.SYNC_INTERVAL_SECONDS = 60
    finished_run(timedelta(hours=1))
    response = client.get("/healthz/?format=json")
    assert response.status_code == 500
    assert any("last sync run finished" in value for value in response.json().values())


def test_unhealthy_before_any_run(client):
    response = client.get("/healthz/?format=json")
    assert response.status_code == 500
    assert any("no sync run has finished yet" in value for value in response.json().values())
