"""Client for the sandbox's `/__sandbox__/` control API (tests, benchmarks, the demo).

It changes the org as a Salesforce user would (so SystemModstamp and deletes behave), injects
faults, and reads request counts. Every call is a verified HTTPS request carrying the token.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import requests


class SandboxControlError(Exception):
    pass


class SandboxControl:
    def __init__(self, url: str, token: str, ca_path: str | Path) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = str(ca_path)
        self.session.headers["X-Sandbox-Token"] = token

    @classmethod
    def from_state_file(cls, path: str | Path) -> "SandboxControl":
        state = json.loads(Path(path).read_text())
        return cls(state["url"], state["control_token"], state["ca_path"])

    def call(self, action: str, **payload: Any) -> Any:
        response = self.session.post(
            f"{self.url}/__sandbox__/{action}", json=payload, timeout=(5, 300)
        )
        body = response.json()
        if response.status_code != 200:
            raise SandboxControlError(f"{action}: {body.get('error', response.text)}")
        return body["result"]

    def reset(self, seed: str = "tiny") -> dict:
        return self.call("reset", seed=seed)

    def create(self, object_name: str, fields: dict) -> str:
        return self.call("create", object_name=object_name, fields=fields)

    def bulk_create(self, object_name: str, rows: list[dict]) -> list[str]:
        return self.call("bulk_create", object_name=object_name, rows=rows)

    def update(self, object_name: str, id: str, fields: dict) -> None:
        self.call("update", object_name=object_name, id=id, fields=fields)

    def delete(self, object_name: str, id: str) -> None:
        self.call("delete", object_name=object_name, id=id)

    def undelete(self, object_name: str, id: str) -> None:
        self.call("undelete", object_name=object_name, id=id)

    def purge(self, object_name: str, id: str) -> None:
        self.call("purge", object_name=object_name, id=id)

    def merge(self, object_name: str, master_id: str, loser_ids: list[str]) -> None:
        self.call("merge", object_name=object_name, master_id=master_id, loser_ids=loser_ids)

    def set_formula(self, object_name: str, id: str, field: str, value: Any) -> None:
        self.call("set_formula", object_name=object_name, id=id, field=field, value=value)

    def late_write(self, object_name: str, id: str, fields: dict, modstamp: datetime) -> None:
        self.call(
            "late_write", object_name=object_name, id=id, fields=fields,
            modstamp=modstamp.isoformat(),
        )

    def get(self, object_name: str, id: str) -> dict | None:
        return self.call("get", object_name=object_name, id=id)

    def count(self, object_name: str, include_deleted: bool = False) -> int:
        return self.call("count", object_name=object_name, include_deleted=include_deleted)

    def inject_fault(self, kind: str, count: int = 1, path: str | None = None, **options: Any):
        self.call("inject_fault", kind=kind, count=count, path=path, **options)

    def clear_faults(self) -> None:
        self.call("clear_faults")

    def expire_sessions(self) -> None:
        self.call("expire_sessions")

    def revoke_refresh_tokens(self, token: str | None = None) -> int:
        return self.call("revoke_refresh_tokens", token=token)

    def set_session_timeout(self, seconds: float) -> None:
        self.call("set_session_timeout", seconds=seconds)

    def set_api_limit(self, max_calls: int, used: int | None = None) -> None:
        self.call("set_api_limit", max_calls=max_calls, used=used)

    def request_counts(self) -> dict[str, int]:
        return self.call("request_counts")

    def reset_counts(self) -> None:
        self.call("reset_counts")

    def set_page_size(self, size: int | None) -> None:
        self.call("set_page_size", size=size)

    def drop_stream(self, count: int = 1) -> None:
        self.call("drop_stream", count=count)

    def expire_replay_ids(self) -> None:
        self.call("expire_replay_ids")

    def emit_gap(self, object_name: str, change_type: str, ids: list[str] | None = None) -> None:
        self.call("emit_gap", object_name=object_name, change_type=change_type, ids=ids)

    def set_stream_poll_seconds(self, seconds: float) -> None:
        self.call("set_stream_poll_seconds", seconds=seconds)

    def last_replay_id(self) -> int:
        return self.call("last_replay_id")

    def set_instance_url(self, url: str | None) -> None:
        self.call("set_instance_url", url=url)
