"""`manage.py demo` is a development tool: it refuses a deploy configuration."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tests.fixtures.workers import run_manage

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
