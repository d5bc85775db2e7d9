"""Run the sandbox org over HTTPS on loopback, in a thread (tests) or in the foreground.

The certificate comes from a CA generated at start (trustme); the CA file is written next to the
state file so clients verify TLS normally instead of switching verification off.
"""

import json
import os
import ssl
import threading
from pathlib import Path
from typing import Any

import trustme
from werkzeug.serving import BaseWSGIServer, make_server

from marketo_sync.sandbox.app import SandboxApp
from marketo_sync.sandbox.seed import seed_org
from marketo_sync.sandbox.store import Store
from marketo_sync.sandbox.usage import DEFAULT_API_LIMIT


class HandshakeInHandlerContext(ssl.SSLContext):
    """TLS handshakes happen in each connection's handler thread, on its first read.

    werkzeug wraps the listening socket, whose `accept()` would otherwise run the handshake in
    the one serving thread: a client that connects and then sends nothing (a stopped process,
    a slow link) would block every other client of the org.
    """

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(*args, **kwargs)


class SandboxServer:
    """One sandbox org: `start()` serves it, `write_state()` tells the product where it is."""

    def __init__(
        self,
        seed: str = "tiny",
        data_dir: Path | None = None,
        port: int = 0,
        cert_dir: Path | None = None,
        reseed: bool = False,
        api_limit: int = DEFAULT_API_LIMIT,
        scale: float = 1,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else None
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "org.sqlite3" if self.data_dir else None)
        if reseed or self.store.meta("seed") is None:
            seed_org(self.store, seed, scale=scale)
        self.port = port
        self.cert_dir = Path(cert_dir or self.data_dir or Path.cwd() / "var" / "sandbox")
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        self.app = SandboxApp(self.store, api_limit=api_limit)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def ca_path(self) -> Path:
        return self.cert_dir / "sandbox-ca.pem"

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"https://127.0.0.1:{self._server.server_port}"

    def _ssl_context(self) -> ssl.SSLContext:
        authority = trustme.CA(organization_name="marketo-sync sandbox")
        authority.cert_pem.write_to_path(str(self.ca_path))
        context = HandshakeInHandlerContext(ssl.PROTOCOL_TLS_SERVER)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def bind(self) -> "SandboxServer":
        self._server = make_server(
            "127.0.0.1", self.port, self.app, threaded=True, ssl_context=self._ssl_context()
        )
        self.app.base_url = self.url
        return self

    def start(self) -> "SandboxServer":
        """Serve in a background thread (tests, benchmarks)."""
        self.bind()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (bind() first)."""
        assert self._server is not None, "bind() the server first"
        self._server.serve_forever()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def state(self) -> dict:
        """What a client needs; `pid` lets a later demo stop a sandbox left running."""
        return {
            "pid": os.getpid(),
            "url": self.url,
            "ca_path": str(self.ca_path),
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "control_token": self.app.control_token,
            "username": "integration@sandbox.test",
            "password": self.app.password,
        }

    def write_state(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state(), indent=2))
        temporary.chmod(0o600)
        temporary.replace(path)
