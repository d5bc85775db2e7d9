"""A deploy has no development tools: neither their commands nor the sandbox's libraries."""

import os
import subprocess
import sys

import pytest

from tests.fixtures.workers import ROOT

SECRET_KEY = "k" * 20 + "-deploy-secret-that-is-long-and-random-enough-9f8e7d"
SANDBOX_LIBRARIES = ("werkzeug", "trustme", "lark")

# `manage.py` as after `pip install .` without the `sandbox` extra: its libraries cannot be
# imported.
WITHOUT_SANDBOX_EXTRA = f"""
import runpy, sys

class WithoutSandboxExtra:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SANDBOX_LIBRARIES!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}")

sys.meta_path.insert(0, WithoutSandboxExtra())
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def manage(*arguments: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DEV_TOOLS"}}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "-c", WITHOUT_SANDBOX_EXTRA, *arguments],
        cwd=ROOT,
        env={**clean, "SECRET_KEY": SECRET_KEY, "SECURE_SSL_REDIRECT": "0", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def command_names(result: subprocess.CompletedProcess) -> set[str]:
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("env", [{}, {"DEBUG": "0", "DEV_TOOLS": "0"}])
def test_a_deploy_lists_neither_demo_nor_sfdc_sandbox(env):
    names = command_names(manage("help", "--commands", **env))
    assert "sync_sfdc" in names
    assert not names & {"demo", "sfdc_sandbox"}


def test_a_deploy_passes_its_checks_without_the_sandbox_libraries():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECURE_SSL_REDIRECT="1",
        ALLOWED_HOSTS="marketo-sync.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", [{"DEBUG": "1"}, {"DEBUG": "0", "DEV_TOOLS": "1"}])
def test_development_settings_install_the_tools(env):
    assert {"demo", "sfdc_sandbox"} <= command_names(manage("help", "--commands", **env))
