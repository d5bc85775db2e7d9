"""`manage.py demo`: a development tool that refuses a deploy configuration, and whose child
processes never outlive it."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from marketo_sync.devtools.demo import earlier_sandbox_stop, process_ended
from tests.fixtures.workers import ROOT, child_environment, run_manage
from tests.helpers.network import free_port

DEPLOY = {"DEBUG": "0", "DEV_TOOLS": "1", "SECRET_KEY": "deploy-" + "k" * 50}


@pytest.mark.django_db
def test_demo_with_debug_off_changes_nothing(settings, tmp_path):
    settings.DEBUG = False
    settings.SALESFORCE_SANDBOX_STATE = tmp_path / "sandbox" / "state.json"
    with pytest.raises(CommandError, match="only with DEBUG=1"):
        call_command("demo", data_dir=tmp_path / "org", sandbox_port=8501)
    assert not get_user_model().objects.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_demo_with_debug_off_exits_non_zero(tmp_path):
    result = run_manage(
        "demo", f"--data-dir={tmp_path / 'org'}", "--sandbox-port=8501", timeout=60,
        SALESFORCE_SANDBOX_STATE=str(tmp_path / "state.json"), **DEPLOY,
    )
    assert result.returncode != 0
    assert "the demo runs only with DEBUG=1" in result.stderr
    assert not get_user_model().objects.exists()
    assert list(tmp_path.iterdir()) == []


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def children_of(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                children.add(int(stat.parent.name))
    return children


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def start_sandbox(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """A sandbox as a demo starts it, in a session of its own."""
    state = tmp_path / "state.json"
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "sfdc_sandbox", "--seed", "tiny", "--port", "0",
         f"--state-file={state}", f"--data-dir={tmp_path / 'org'}"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    assert wait_until(lambda: state.exists() or process.poll() is not None, 60)
    assert process.poll() is None, "the sandbox did not start"
    return process, state


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_killed_demo_takes_its_processes_with_it(tmp_path):
    state, log = tmp_path / "state.json", tmp_path / "demo.log"
    with log.open("w") as sink:
        demo = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, str(ROOT / "manage.py"), "demo", "--seed", "tiny",
             f"--addrport=127.0.0.1:{free_port()}", f"--sandbox-port={free_port()}",
             f"--data-dir={tmp_path / 'org'}"],
            cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
            env=child_environment(SALESFORCE_SANDBOX_STATE=str(state), PYTHONUNBUFFERED="1"),
        )
    try:
        assert wait_until(
            lambda: "First sync" in log.read_text() or demo.poll() is not None, 120
        ), log.read_text()
        assert demo.poll() is None, log.read_text()
        children = children_of(demo.pid)
        assert len(children) == 3  # sandbox, worker, schedule
        port = int(json.loads(state.read_text())["url"].rsplit(":", 1)[1])
        assert listening(port)
    finally:
        demo.kill()
        demo.wait()
    assert wait_until(lambda: not listening(port), 10)
    assert wait_until(lambda: all(process_ended(pid) for pid in children), 10), children


def test_a_demo_stops_the_sandbox_an_earlier_demo_left_running(tmp_path):
    sandbox, state = start_sandbox(tmp_path)
    try:
        port = int(json.loads(state.read_text())["url"].rsplit(":", 1)[1])
        assert earlier_sandbox_stop(state) == sandbox.pid
        assert sandbox.wait(timeout=1) is not None
        assert not listening(port)
    finally:
        sandbox.kill()
        sandbox.wait()


def test_only_a_sandbox_is_stopped(tmp_path):
    state = tmp_path / "state.json"
    other = subprocess.Popen(["sleep", "60"])  # noqa: S607
    try:
        for pid in (other.pid, os.getpid()):
            state.write_text(json.dumps({"pid": pid}))
            assert earlier_sandbox_stop(state) is None
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
    state.write_text("{}")
    assert earlier_sandbox_stop(state) is None
    assert earlier_sandbox_stop(tmp_path / "absent.json") is None
