"""`/healthz/` reports the database, Redis and the age of the last completed sync cycle; the
details only to logged-in staff, the verdict to everyone."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from marketo_sync.sync.models import SyncRun

# The checks run in executor threads with their own connections: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def finished_run(ago: timedelta, status: str = "success", object_name: str = "") -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        object_name=object_name, mode="incremental", status=status, started_at=now - ago,
        finished_at=now - ago,
    )


def health(client) -> tuple[int, dict[str, str]]:
    response = client.get("/healthz/?format=json")
    return response.status_code, response.json()


def failures(report: dict[str, str]) -> list[str]:
    return [value for value in report.values() if value != "OK"]


def test_healthy_when_a_recent_cycle_completed(admin_client):
    finished_run(timedelta(minutes=1))
    status, report = health(admin_client)
    assert status == 200, report
    assert failures(report) == []
    assert len(report) == 3


def test_a_recent_paused_cycle_counts_as_alive(admin_client):
    finished_run(timedelta(minutes=1), status="paused")
    assert health(admin_client)[0] == 200


def test_unhealthy_when_the_last_cycle_is_too_old(admin_client, settings):
    settings.SYNC_INTERVAL_SECONDS = 60
    finished_run(timedelta(hours=1))
    status, report = health(admin_client)
    assert status == 500
    assert any("last completed sync cycle ended" in value for value in failures(report))


def test_recent_failed_cycles_and_object_runs_do_not_hide_an_old_success(admin_client, settings):
    settings.SYNC_INTERVAL_SECONDS = 60
    finished_run(timedelta(hours=2))
    finished_run(timedelta(minutes=1), status="failed")
    finished_run(timedelta(minutes=1), object_name="Account")
    status, report = health(admin_client)
    assert status == 500
    [message] = failures(report)
    assert "last completed sync cycle ended" in message
    age = int(message.split("ended ")[1].split(" s ago")[0])
    assert age >= 2 * 3600 - 5


def test_unhealthy_before_any_cycle_completed(admin_client):
    finished_run(timedelta(minutes=1), status="failed")
    status, report = health(admin_client)
    assert status == 500
    assert any("no sync cycle has completed yet" in value for value in failures(report))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unhealthy_when_redis_is_unreachable(admin_client, settings):
    finished_run(timedelta(minutes=1))
    port = closed_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    status, report = health(admin_client)
    assert status == 500
    [(check, message)] = [(name, value) for name, value in report.items() if value != "OK"]
    assert "Redis" in check and f"port={port}" in check
    assert "Unable to connect to Redis" in message, report


def test_anonymous_callers_get_the_verdict_without_hosts_or_ports(client, settings):
    finished_run(timedelta(minutes=1))
    response = client.get("/healthz/?format=json")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    port = closed_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    for url in ("/healthz/", "/healthz/?format=json", "/healthz/?format=text",
                "/healthz/?format=atom"):
        response = client.get(url)
        assert response.status_code == 500, url
        assert response.json() == {"status": "unavailable"}, url
        body = response.content.decode()
        assert str(port) not in body and "127.0.0.1" not in body and "Redis" not in body


def test_staff_see_which_check_failed(admin_client, settings):
    finished_run(timedelta(minutes=1))
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = admin_client.get("/healthz/")
    assert response.status_code == 500
    assert "Unable to connect to Redis" in response.content.decode()
