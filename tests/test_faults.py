"""The bad day: hostile records, dropped databases, a Redis restart, races, secrets, alerts."""

import logging
import subprocess
import sys
import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction

from accounts.models import Account, Contact, SalesforceUser
from accounts.services import account_apply_local_edit
from marketo_sync.salesforce import client as client_module
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.models import SyncError, SyncRun
from tests.fixtures.workers import ROOT, child_environment, run_manage
from tests.helpers.network import free_port

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]



HOSTILE = [
    ("Name", "x" * 100_000, "characters long"),
    ("Name", "bad\x00name", "NUL character"),
    ("Name", "lone \ud800 surrogate", "unpaired surrogate"),
    ("Name", None, "required field Name is missing"),
    ("NumberOfEmployees", "lots", "expected an integer"),
    ("AnnualRevenue", {"nested": True}, "expected a number"),
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE)
def test_hostile_record_is_quarantined_and_the_page_syncs(sandbox, field, value, message):
    sandbox.control.inject_fault(
        "malformed_record", path="/queryAll/", field=field, value=value, index=1
    )
    run = sync_cycle(objects=["Account"])
    run.refresh_from_db()
    assert run.status == "success" and run.errors == 1
    error = SyncError.objects.get()
    assert message in error.message and error.object_name == "Account"
    assert Account.objects.count() == sandbox.control.count("Account") - 1
    assert not Account.objects.filter(sfdc_id=error.sfdc_id).exists()


def test_html_in_names_is_stored_verbatim(sandbox):
    account_id = sandbox.control.create("Account", {"Name": "<script>alert(1)</script>"})
    assert sync_cycle().status == "success"
    assert Account.objects.get(sfdc_id=account_id).name == "<script>alert(1)</script>"


def test_an_unknown_picklist_value_is_kept_not_quarantined(sandbox):
    """Salesforce itself stores values outside an unrestricted picklist (imports, API writes):
    they are real data, so they are kept as sent rather than quarantined."""
    account_id = sandbox.control.create(
        "Account", {"Name": "Odd Industry Ltd", "Industry": "Quantum Basket Weaving"}
    )
    assert sync_cycle().status == "success"
    assert Account.objects.get(sfdc_id=account_id).industry == "Quantum Basket Weaving"
    assert not SyncError.objects.filter(sfdc_id=account_id).exists()


def test_postgres_connection_dropped_mid_page_fails_cleanly_then_converges(sandbox):
    sandbox.control.set_page_size(5)
    sandbox.control.inject_fault("latency", count=1, path="/query/01g", seconds=1.5)
    backend_pid = None

    def drop_connection() -> None:
        time.sleep(0.8)
        with psql() as other:
            other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
    killer = threading.Thread(target=drop_connection)
    killer.start()
    failed = sync_cycle()
    killer.join()
    failed.refresh_from_db()
    assert failed.status == "failed" and "database" in failed.error
    converged = sync_cycle()
    converged.refresh_from_db()
    assert converged.status == "success", converged.error
    assert Contact.objects.filter(sfdc_type="contact").count() == sandbox.control.count("Contact")
    assert SyncRun.objects.filter(status="running").count() == 0


class psql:
    """A second, independent database connection."""

    def __enter__(self):
        import psycopg2

        settings = connection.settings_dict
        self.connection = psycopg2.connect(
            dbname=settings["NAME"], user=settings["USER"] or "postgres",
            host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        )
        self.connection.autocommit = True
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *exc):
        self.connection.close()


def wait_until_a_page_is_committed(timeout: float = 60.0) -> None:
    """A loaded machine may take seconds to start a worker; wait for its first page instead."""
    deadline = time.monotonic() + timeout
    while not SyncRun.objects.filter(object_name__gt="", fetched__gt=0).exists():
        assert time.monotonic() < deadline, "the worker committed no page"
        time.sleep(0.05)


def test_redis_restarted_mid_cycle_then_the_next_cycle_converges(sandbox, tmp_path):
    port = free_port()
    start = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)]
    redis = subprocess.Popen(start, stdout=subprocess.DEVNULL)  # noqa: S603
    try:
        time.sleep(0.5)
        sandbox.control.set_page_size(5)
        sandbox.control.inject_fault("latency", count=1, path="/query/01g", seconds=2)
        env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "SYNC_LOCK_TTL_SECONDS": "2"}
        worker = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, str(ROOT / "manage.py"), "sync_sfdc"],
            cwd=ROOT, env=child_environment(**env), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        wait_until_a_page_is_committed()  # the next page is slow: Redis dies during it
        redis.kill()
        redis.wait()
        redis = subprocess.Popen(start, stdout=subprocess.DEVNULL)  # noqa: S603
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 1 and "lock was lost" in stderr  # stopped, said so
        interrupted = SyncRun.objects.get(object_name="")
        assert interrupted.status == SyncRun.Status.FAILED
        assert "two cycles never write at once" in interrupted.error
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
        time.sleep(0.5)
        again = run_manage("sync_sfdc", timeout=300, **env)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        redis.kill()
    assert Contact.objects.filter(sfdc_type="contact").count() == sandbox.control.count("Contact")
    assert Account.objects.count() == sandbox.control.count("Account")


@pytest.mark.parametrize("edit_first", [True, False])
def test_a_local_edit_racing_a_sync_gives_one_whole_result(sandbox, admin_user, edit_first):
    assert sync_cycle().status == "success"
    account = Account.objects.exclude(contacts=None).first()
    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Banking", "Phone": "+1 1"})
    holding = threading.Event()
    release = threading.Event()
    edited = []

    def hold_row_then_edit() -> None:
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=account.pk)
            holding.set()
            release.wait(5)
            account_apply_local_edit(
                account=locked, changes={"industry": "Retail", "phone": "+2 2"}, user=admin_user
            )
            edited.append(True)
        connection.close()

    if edit_first:
        editor = threading.Thread(target=hold_row_then_edit)
        editor.start()
        holding.wait(5)
        def sync_then_disconnect() -> None:
            sync_cycle()
            connection.close()

        syncer = threading.Thread(target=sync_then_disconnect)
        syncer.start()
        time.sleep(0.5)
        release.set()
        editor.join()
        syncer.join()
        assert edited == [True]
        expected = ("Banking", "+1 1", False)  # the sync came second and overwrote it all
    else:
        assert sync_cycle().status == "success"
        account_apply_local_edit(
            account=Account.objects.get(pk=account.pk),
            changes={"industry": "Retail", "phone": "+2 2"},
            user=admin_user,
        )
        expected = ("Retail", "+2 2", True)
    account.refresh_from_db()
    assert (account.industry, account.phone, account.locally_edited_at is not None) == expected


def test_no_secret_reaches_logs_or_run_records(sandbox, settings, caplog):
    caplog.set_level(logging.DEBUG)
    sandbox.control.inject_fault("unavailable", count=1, path="/query")
    assert sync_cycle().status == "success"
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = sandbox.client_id
    settings.SALESFORCE_CLIENT_SECRET = "a-wrong-secret-value"
    settings.SALESFORCE_CA_BUNDLE = sandbox.ca_path
    client_module._token_cache.clear()
    failed = sync_cycle()
    failed.refresh_from_db()
    assert failed.status == "failed" and "invalid_client" in failed.error
    recorded = caplog.text + " ".join(SyncRun.objects.values_list("error", flat=True))
    for secret in (sandbox.client_secret, "a-wrong-secret-value"):
        assert secret not in recorded
    assert "Bearer" not in recorded and "!" + "A" not in recorded


def test_admins_are_emailed_when_a_cycle_pauses(sandbox, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    sandbox.control.inject_fault("request_limit", count=1, path="/query")
    assert sync_cycle().status == "paused"
    assert len(mail.outbox) == 1
    assert "paused" in mail.outbox[0].subject.lower()
    assert "REQUEST_LIMIT_EXCEEDED" in mail.outbox[0].body
    assert SalesforceUser.objects.count() == 0


def test_admins_are_emailed_when_a_cycle_fails_and_not_when_it_succeeds(sandbox, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    assert sync_cycle().status == "success"
    assert mail.outbox == []
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = sandbox.client_id
    settings.SALESFORCE_CLIENT_SECRET = "a-rotated-secret-value"
    settings.SALESFORCE_CA_BUNDLE = sandbox.ca_path
    client_module._token_cache.clear()
    failed = sync_cycle()
    failed.refresh_from_db()
    assert failed.status == "failed"
    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert "failed" in message.subject.lower()
    assert "invalid_client" in message.body
    assert "a-rotated-secret-value" not in f"{message.body}{message.subject}"
