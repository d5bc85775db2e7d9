"""The newcomer's path behind `manage.py demo`: sandbox org, worker, schedule, first sync, users.

Each long-running part is a child process of the demo command (a real sandbox server, a real RQ
worker, the real `rqcron` schedule), so the demo shows the product exactly as it runs in
production; stopping the command stops all of them, and a demo that ends without its clean-up
(SIGKILL, a closed terminal) takes them with it through Linux's parent-death signal.
"""

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from accounts.services import marketers_group_ensure, marketing_operations_group_ensure

MANAGE_PY = str(settings.BASE_DIR / "manage.py")
DEMO_DATA_DIR = settings.BASE_DIR / "var" / "sandbox" / "demo"
DEMO_SYNC_INTERVAL_SECONDS = "60"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_ADMIN = DemoLogin("admin", "admin", "admin-demo-password")
DEMO_MARKETER = DemoLogin("marketer", "marketer", "marketer-demo-password")
DEMO_OPS = DemoLogin("ops", "ops", "ops-demo-password")


def demo_users_ensure() -> list[DemoLogin]:
    """Create (or reset the passwords of) the demo admin, marketer and marketing operator.

    The demo marketer is a Marketer who may also press "Sync now", so the newcomer can watch a
    Salesforce change arrive without waiting for the schedule. The operator is a Marketer in
    "Marketing operations" too: Convert Person and dismissing sync errors.
    """
    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(username=DEMO_ADMIN.username)
    admin.is_staff = admin.is_superuser = True
    admin.set_password(DEMO_ADMIN.password)
    admin.save()

    marketer, _ = user_model.objects.get_or_create(username=DEMO_MARKETER.username)
    marketer.is_staff = True
    marketer.is_superuser = False
    marketer.set_password(DEMO_MARKETER.password)
    marketer.save()
    marketer.groups.add(marketers_group_ensure())
    marketer.user_permissions.add(
        Permission.objects.get(content_type__app_label="sync", codename="run_sync")
    )

    ops, _ = user_model.objects.get_or_create(username=DEMO_OPS.username)
    ops.is_staff = True
    ops.is_superuser = False
    ops.set_password(DEMO_OPS.password)
    ops.save()
    ops.groups.add(marketers_group_ensure(), marketing_operations_group_ensure())
    return [DEMO_ADMIN, DEMO_MARKETER, DEMO_OPS]


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> Callable[[], None]:
    """A `preexec_fn` giving the child SIGTERM when this process ends, however it ends.

    Needed because each child runs in its own session (so Ctrl-C reaches only the demo, which
    then stops them in order): nothing else would end them if the demo were killed.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        if prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the demo died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return set_parent_death_signal


@dataclass
class ChildProcesses:
    """The demo's child processes, stopped together (each in its own process group)."""

    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, arguments: Sequence[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, MANAGE_PY, *arguments],
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent(),  # safe: the demo runs no threads yet
        )
        self.processes.append((name, process))

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"the {name} stopped (exit code {process.returncode})")

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def is_sandbox_process(pid: int) -> bool:
    """Whether `pid` runs `manage.py sfdc_sandbox` (and not a process that reused the number)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(
        argument.endswith(b"manage.py") and following == b"sfdc_sandbox"
        for argument, following in zip(argv, argv[1:], strict=False)
    )


def process_ended(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rpartition(")")[2].split()[0] == "Z"


def earlier_sandbox_stop(state_file: Path, timeout: float = 10) -> int | None:
    """Stop the sandbox an earlier demo left running on this state file; return its pid.

    Its port would otherwise stay taken ("Port 8443 is in use"). The pid recorded in the state
    file is only signalled if it still is a sandbox.
    """
    try:
        pid = int(json.loads(state_file.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or not is_sandbox_process(pid):
        return None
    for stop_signal in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, stop_signal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process_ended(pid):
                return pid
            time.sleep(0.1)
    raise RuntimeError(f"the sandbox an earlier demo left running (pid {pid}) does not stop")


def child_environment(state_file: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SALESFORCE_SANDBOX_STATE"] = str(state_file)
    env.setdefault("SYNC_INTERVAL_SECONDS", DEMO_SYNC_INTERVAL_SECONDS)
    env.setdefault("DEBUG", "1")
    return env


def sandbox_wait_ready(
    state_file: Path, started_after: float, children: ChildProcesses, timeout: float = 600
) -> dict:
    """Wait until the sandbox has (re)written its state file, i.e. is seeded and serving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children.check_alive()
        if state_file.exists() and state_file.stat().st_mtime >= started_after:
            return json.loads(state_file.read_text())
        time.sleep(0.5)
    raise TimeoutError(f"the sandbox did not write {state_file} within {timeout:.0f} s")
