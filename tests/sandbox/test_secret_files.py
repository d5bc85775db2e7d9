"""The sandbox's files holding secrets are readable by their owner only, from creation on."""

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from marketo_sync.sandbox.server import SandboxServer
from marketo_sync.sandbox.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The common default umask, under which a plain open() creates 0644 files."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_org_file_and_its_wal_are_created_0600(tmp_path, monkeypatch):
    seen = []
    connect = sqlite3.connect

    def spy(target, *args, **kwargs):
        seen.append(mode(Path(target)))  # the file exists, private, before SQLite opens it
        return connect(target, *args, **kwargs)

    monkeypatch.setattr("marketo_sync.sandbox.store.sqlite3.connect", spy)
    org = SandboxServer(seed="tiny", data_dir=tmp_path / "org", cert_dir=tmp_path / "certs")
    org.store.set_meta("touched", "1")
    assert seen == [0o600]
    assert org.store.meta("client_secret") == org.app.client_secret
    files = {f.name: mode(f) for f in (tmp_path / "org").iterdir()}
    assert {"org.sqlite3", "org.sqlite3-wal"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)


def test_an_existing_readable_org_file_is_made_private(tmp_path):
    path = tmp_path / "org.sqlite3"
    path.touch(mode=0o644)
    assert mode(path) == 0o644
    Store(path)
    assert mode(path) == 0o600


def test_the_state_file_is_written_0600_from_creation(tmp_path, monkeypatch):
    org = SandboxServer(seed="tiny", cert_dir=tmp_path).start()
    try:
        modes_before_rename = []
        replace = os.replace

        def spy(source, target):
            modes_before_rename.append(mode(Path(source)))
            replace(source, target)

        monkeypatch.setattr(os, "replace", spy)
        state = tmp_path / "state" / "state.json"
        org.write_state(state)
        org.write_state(state)
    finally:
        org.stop()
    assert modes_before_rename == [0o600, 0o600]
    assert mode(state) == 0o600
    assert org.app.client_secret in state.read_text()
    assert sorted(p.name for p in state.parent.iterdir()) == ["state.json"]
