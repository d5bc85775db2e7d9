"""Run the sandbox org over HTTPS on loopback, in a thread (tests) or in the foreground.

The certificate comes from a CA generated at start (trustme); the CA file is written next to the
state file so clients verify TLS normally instead of switching verification off. The server is
cheroot, which keeps HTTP/1.1 connections alive as Salesforce does (werkzeug's development server
closes every connection).
"""

import json
import logging
import os
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

import trustme
from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from marketo_sync.sandbox.app import SandboxApp
from marketo_sync.sandbox.seed import seed_org
from marketo_sync.sandbox.store import Store
from marketo_sync.sandbox.usage import DEFAULT_API_LIMIT

WORKER_THREADS = 16
logger = logging.getLogger(__name__)


class Server(wsgi.Server):
    """cheroot, logging through `logging` instead of printing to stderr: a client that drops
    its connection or refuses the sandbox's CA is the client's business, not a server fault."""

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        logger.log(level, msg, exc_info=traceback)


class HandshakeInWorkerAdapter(BuiltinSSLAdapter):
    """TLS handshakes happen in a worker thread, on the connection's first read.

    cheroot wraps each accepted socket in its one accepting thread, where a handshake would
    wait for a client that connects and then sends nothing (a stopped process, a slow link) and
    so block every other client of the org.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context

    def wrap(self, sock: Any) -> tuple[ssl.SSLSocket, dict]:
        wrapped = self.context.wrap_socket(
            sock, do_handshake_on_connect=False, server_side=True
        )
        return wrapped, {"wsgi.url_scheme": "https", "HTTPS": "on"}


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
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def ca_path(self) -> Path:
        return self.cert_dir / "sandbox-ca.pem"

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"https://127.0.0.1:{self._server.bind_addr[1]}"

    def _ssl_context(self) -> ssl.SSLContext:
        authority = trustme.CA(organization_name="marketo-sync sandbox")
        authority.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def bind(self) -> "SandboxServer":
        server = Server(("127.0.0.1", self.port), self.app, numthreads=WORKER_THREADS)
        server.ssl_adapter = HandshakeInWorkerAdapter(self._ssl_context())
        server.prepare()
        self._server = server
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
        self._server.serve()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

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
        """Atomically, and 0600 from creation on: the state holds the client secret, the
        integration password and the control token."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(json.dumps(self.state(), indent=2))
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
