"""The newcomer's path behind `manage.py demo`: sandbox org, worker, schedule, first sync, users.

Each long-running part is a child process of the demo command (a real sandbox server, a real RQ
worker, the real `rqcron` schedule), so the demo shows the product exactly as it runs in
production; stopping the command stops all of them.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
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


@dataclass
class ChildProcesses:
    """The demo's child processes, stopped together (each in its own process group)."""

    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, arguments: Sequence[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, MANAGE_PY, *arguments], env=env, start_new_session=True
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
