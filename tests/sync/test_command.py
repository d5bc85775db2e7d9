"""`manage.py sync_sfdc`: summary line, plain messages for expected faults, dry run, --async."""

import pytest
from django.core.management import call_command

from marketo_sync.sync.models import SyncRun
from tests.fixtures.workers import run_manage

pytestmark = pytest.mark.django_db(transaction=True)



def test_a_sync_prints_one_summary_line(sandbox):
    result = run_manage("sync_sfdc")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sync success: ")
    assert "created" in lines[0] and "API calls" in lines[0]


def test_bad_credentials_exit_non_zero_with_a_plain_message(sandbox):
    result = run_manage(
        "sync_sfdc",
        SALESFORCE_LOGIN_URL=sandbox.url,
        SALESFORCE_CLIENT_ID=sandbox.client_id,
        SALESFORCE_CLIENT_SECRET="not-the-secret",
        SALESFORCE_CA_BUNDLE=sandbox.ca_path,
    )
    assert result.returncode == 1
    assert "login failed" in result.stderr and "invalid_client" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "not-the-secret" not in result.stderr + result.stdout


def test_an_unreachable_org_exits_non_zero_with_a_plain_message(sandbox):
    result = run_manage(
        "sync_sfdc",
        SALESFORCE_LOGIN_URL="https://127.0.0.1:9",
        SALESFORCE_CLIENT_ID="id",
        SALESFORCE_CLIENT_SECRET="secret",
        SALESFORCE_RETRY_ATTEMPTS="2",
    )
    assert result.returncode == 1
    assert "cannot reach Salesforce" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_dry_run_reads_counts_and_changes_nothing(sandbox, capsys):
    call_command("sync_sfdc", "--dry-run", "--object", "Account")
    out = capsys.readouterr().out
    assert f"{sandbox.control.count('Account'):>9,} records" in out
    assert "nothing changed" in out
    assert not SyncRun.objects.exists()


def test_async_enqueues_once(sandbox, capsys, burst_worker):
    call_command("sync_sfdc", "--async")
    call_command("sync_sfdc", "--async")
    out = capsys.readouterr().out
    assert "enqueued cycle job" in out and "already queued or running" in out
    burst_worker()
    assert SyncRun.objects.get(object_name="").status == SyncRun.Status.SUCCESS
