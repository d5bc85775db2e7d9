"""The sandbox's transport is Salesforce's: connections kept alive, bodies gzipped on request."""

import gzip
import http.client
import json
import ssl

import pytest


@pytest.fixture
def connection(sandbox):
    host, port = sandbox.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=sandbox.ca_path)
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    yield conn
    conn.close()


def test_one_connection_serves_many_requests(connection):
    sockets = set()
    for _ in range(3):
        connection.request("GET", "/services/data/")
        response = connection.getresponse()
        assert response.getheader("Connection", "").lower() != "close"
        assert response.status == 200 and json.loads(response.read())
        sockets.add(id(connection.sock))
    assert len(sockets) == 1 and connection.sock is not None


def test_gzip_is_sent_to_clients_that_accept_it(connection):
    connection.request("GET", "/services/data/", headers={"Accept-Encoding": "gzip, deflate"})
    response = connection.getresponse()
    assert response.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in response.getheader("Vary", "")
    body = response.read()
    assert int(response.getheader("Content-Length")) == len(body)
    assert json.loads(gzip.decompress(body))[0]["version"]


def test_no_gzip_without_accept_encoding(connection):
    connection.request("GET", "/services/data/", headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()
    assert response.getheader("Content-Encoding") is None
    assert json.loads(response.read())[0]["version"]


def test_simple_salesforce_reads_gzipped_pages_over_one_connection(sf, sandbox):
    sandbox.control.set_page_size(10)
    records = list(sf.query_all_iter("SELECT Id, Name FROM Contact"))
    assert len(records) == sandbox.control.count("Contact")
    response = sf.session.get(f"{sf.base_url}limits/", headers=sf.headers, timeout=10)
    assert response.headers["Content-Encoding"] == "gzip"
    pool = sf.session.get_adapter(sandbox.url).poolmanager
    (connections,) = [p for p in pool.pools._container.values()]
    assert connections.num_connections == 1  # every request above went over the same one
