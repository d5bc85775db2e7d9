"""The demo's promise in Chromium: with `sfdc_listen` and a worker running, an account changed in
Salesforce shows on its contacts' timelines within seconds, without any cycle."""

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django_rq
import pytest
from rq import Worker

from accounts.models import Contact
from marketo_sync.sync.models import StreamState, SyncRun
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer
from tests.fixtures.workers import ROOT, child_environment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
logger = logging.getLogger(__name__)

CHANNEL = "/data/AccountChangeEvent"
DEADLINE_SECONDS = 10.0


@contextmanager
def running(log_dir: Path, *arguments: str) -> Iterator[subprocess.Popen]:
    """`manage.py <arguments>` as a long-running child on the test database; SIGTERM at exit."""
    log = (log_dir / f"{arguments[0]}.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT, env=child_environment(), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)


def test_an_account_change_reaches_a_contacts_timeline_within_seconds(
    page, live_server, synced, tmp_path
):
    synced.control.set_stream_poll_seconds(2)
    StreamState.objects.create(channel=CHANNEL, replay_id=synced.control.last_replay_id())
    contact = (
        Contact.objects.filter(is_deleted=False, account__is_deleted=False)
        .select_related("account")
        .order_by("pk")
        .first()
    )
    cycles = SyncRun.objects.exclude(mode=SyncRun.Mode.RECORDS).count()
    create_marketer("watcher", "watcher-password-1")
    log_in(page, live_server, "watcher", "watcher-password-1")
    page.goto(f"{live_server.url}/admin/accounts/contact/{contact.pk}/change/")
    phone = "+1 555 0142 7788"
    assert phone not in page.inner_text("#activity-timeline")

    with (
        running(tmp_path, "rqworker", "sync", "default"),
        running(tmp_path, "sfdc_listen", "--object", "Account"),
    ):
        connection = django_rq.get_connection("sync")
        wait_until(lambda: Worker.all(connection=connection), 60, "the worker started")
        wait_until(
            lambda: StreamState.objects.filter(channel=CHANNEL, connected=True).exists(), 60,
            "the listener subscribed",
        )
        changed = time.monotonic()
        synced.control.update("Account", contact.account.sfdc_id, {"Phone": phone})
        while phone not in page.inner_text("#activity-timeline"):
            elapsed = time.monotonic() - changed
            assert elapsed < DEADLINE_SECONDS, (
                f"not on the timeline after {elapsed:.1f} s; logs: "
                + "".join(p.read_text() for p in tmp_path.glob("*.log"))
            )
            time.sleep(0.2)
            page.reload()
        logger.info("on the timeline %.2f s after the change", time.monotonic() - changed)
    screenshot(page, "cdc-change-on-timeline")
    row = page.locator("#activity-timeline tbody tr", has_text=phone)
    assert "Phone" in row.inner_text()
    assert SyncRun.objects.exclude(mode=SyncRun.Mode.RECORDS).count() == cycles
