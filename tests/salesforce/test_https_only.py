"""Salesforce secrets only travel over https: the login URL and the announced instance URL."""

import socket
from collections.abc import Iterator

import pytest

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceConfigError


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A plain TCP port on loopback that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def configure(settings, sandbox, login_url: str) -> None:
    settings.SALESFORCE_LOGIN_URL = login_url
    settings.SALESFORCE_CLIENT_ID = sandbox.client_id
    settings.SALESFORCE_CLIENT_SECRET = sandbox.client_secret
    settings.SALESFORCE_CA_BUNDLE = sandbox.ca_path


def test_a_plain_http_login_url_is_refused_before_connecting(sandbox, settings, listener):
    port = listener.getsockname()[1]
    configure(settings, sandbox, f"http://127.0.0.1:{port}")
    with pytest.raises(SalesforceConfigError, match="must be an https URL") as caught:
        SalesforceClient.from_settings().call(lambda sf: sf.query("SELECT Id FROM Account"))
    assert "SALESFORCE_LOGIN_URL" in str(caught.value)
    assert not connected(listener)
    assert sandbox.client_secret not in str(caught.value)


@pytest.mark.parametrize("url", ["not-a-url", "file:///etc/passwd", "https://"])
def test_a_login_url_that_is_not_an_https_url_is_refused(sandbox, settings, url):
    configure(settings, sandbox, url)
    with pytest.raises(SalesforceConfigError, match="must be an https URL"):
        SalesforceClient.from_settings()


def test_credentials_in_the_login_url_are_refused_without_repeating_them(
    sandbox, settings, listener
):
    port = listener.getsockname()[1]
    configure(settings, sandbox, f"https://integration:hunter2secret@127.0.0.1:{port}")
    with pytest.raises(SalesforceConfigError, match="must not carry credentials") as caught:
        SalesforceClient.from_settings()
    assert "hunter2secret" not in str(caught.value) and "integration" not in str(caught.value)
    assert not connected(listener)


def test_the_sandbox_url_is_https_so_the_default_path_works(sandbox):
    assert sandbox.url.startswith("https://")
    client = SalesforceClient.from_settings()
    assert client.call(lambda sf: sf.query("SELECT COUNT() FROM Account"))["totalSize"] > 0


@pytest.mark.parametrize(
    "announced", ["http://127.0.0.1:9", "ftp://127.0.0.1", "https://user:pw@127.0.0.1"]
)
def test_a_token_answer_with_an_unsafe_instance_url_is_refused_before_any_call(
    sandbox, announced
):
    sandbox.control.set_instance_url(announced)
    client = SalesforceClient.from_settings()
    with pytest.raises(SalesforceConfigError, match="instance_url") as caught:
        client.call(lambda sf: sf.query("SELECT COUNT() FROM Account"))
    assert "pw@" not in str(caught.value)
    counts = sandbox.control.request_counts()
    assert counts.get("token") == 1
    assert set(counts) == {"token"}
