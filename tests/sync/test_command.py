"""`manage.py sync_sfdc`: summary line, plain messages for expected faults, dry run, --async."""

import getpass
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketo_sync.sync.cycle import cycle_lock
from marketo_sync.sync.management.commands import sync_sfdc
from marketo_sync.sync.mapping import OBJECT_ORDER
from marketo_sync.sync.models import SyncRun, SyncState
from marketo_sync.sync.services import sync_set_paused
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


def status_lines(capsys) -> list[str]:
    call_command("sync_sfdc", "--status")
    return capsys.readouterr().out.splitlines()


def test_status_prints_what_the_status_page_shows(synced, capsys):
    lines = status_lines(capsys)
    assert lines[0] == "state: idle"
    assert lines[1].startswith("last cycle: success, started ")
    assert lines[2].startswith("next cycle: ")
    rows = {line.split()[0]: line for line in lines if line.split()[0] in OBJECT_ORDER}
    assert set(rows) == set(OBJECT_ORDER)
    account = SyncState.objects.get(object_name="Account")
    assert f"{account.modstamp:%Y-%m-%d %H:%M:%S} UTC" in rows["Account"]
    assert re.search(r" [\d,]+ s +[\d,]+$", rows["Account"])  # lag in seconds, backlog
    assert "open record errors: 0" in lines
    assert any(line.startswith("daily API budget: ") and "calls remaining" in line
               for line in lines)


def test_pause_and_resume_are_recorded_like_the_buttons(db, capsys):
    call_command("sync_sfdc", "--pause", "--reason", "Salesforce release weekend")
    assert "sync paused since " in capsys.readouterr().out
    states = SyncState.objects.all()
    assert len(states) == len(OBJECT_ORDER) and all(state.paused for state in states)
    assert {state.paused_reason for state in states} == {"Salesforce release weekend"}
    assert {state.paused_by for state in states} == {f"{getpass.getuser()} (sync_sfdc --pause)"}
    assert all(state.paused_at is not None for state in states)
    [state_line] = [line for line in status_lines(capsys) if line.startswith("state: ")]
    assert state_line.startswith("state: the sync is paused since ")
    assert state_line.endswith(
        f"by {getpass.getuser()} (sync_sfdc --pause) (Salesforce release weekend)"
    )

    call_command("sync_sfdc", "--resume")
    assert capsys.readouterr().out.strip() == "sync resumed"
    assert not SyncState.objects.filter(paused=True).exists()
    assert status_lines(capsys)[0] == "state: idle"


def test_a_refused_start_says_the_sync_is_paused_since_when_by_whom(sandbox):
    sync_set_paused(paused=True, by="alice")
    paused_at = SyncState.objects.first().paused_at
    result = run_manage("sync_sfdc")
    assert result.returncode == 1
    assert (
        f"not started: paused since {paused_at:%Y-%m-%d %H:%M:%S} UTC by alice" in result.stderr
    )


def test_a_refused_start_names_the_running_cycle_and_its_job(sandbox):
    started = timezone.now()
    SyncRun.objects.create(mode="incremental", started_at=started, job_id="marketo-sync-cycle")
    running = f"a cycle started {started:%Y-%m-%d %H:%M:%S} UTC is running (job marketo-sync-cycle)"
    with cycle_lock():
        result = run_manage("sync_sfdc")
        status = run_manage("sync_sfdc", "--status")
    assert result.returncode == 1
    assert f"not started: {running}" in result.stderr
    assert status.returncode == 0 and f"state: {running}" in status.stdout


def test_without_a_terminal_progress_lines_are_printed(sandbox, monkeypatch):
    monkeypatch.setattr(sync_sfdc, "PROGRESS_LINE_SECONDS", 0)
    out = io.StringIO()
    call_command("sync_sfdc", "--object", "Account", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("sync success: ")
    progress = lines[:-1]
    assert progress and all(re.fullmatch(r"Account: [\d,]+( of about [\d,]+)? records applied",
                                         line) for line in progress)


@pytest.mark.parametrize(("option", "objects"), [("--reconcile", 5), ("--formulas", 1)])
def test_maintenance_commands_print_progress_lines_too(sandbox, monkeypatch, option, objects):
    call_command("sync_sfdc", stdout=io.StringIO())
    monkeypatch.setattr(sync_sfdc, "PROGRESS_LINE_SECONDS", 0)
    out = io.StringIO()
    call_command("sync_sfdc", option, stdout=out)
    progress = [line for line in out.getvalue().splitlines() if "records compared" in line]
    assert len({line.split(":")[0] for line in progress}) >= objects
    assert all(re.fullmatch(r"\w+: [\d,]+ records compared", line) for line in progress)
