"""Settings as a fresh process reads them from a given environment."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    overridden = {"DEBUG", "SECRET_KEY", "REDIS_URL", "DATABASE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in overridden}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "marketo_sync.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def read_setting(expression: str, **env: str) -> str:
    result = run_python(
        f"import django; django.setup(); from django.conf import settings; print({expression})",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
