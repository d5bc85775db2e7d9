"""Hostile requests to the sandbox: huge bodies are refused unread, deep nesting and DTDs are
Salesforce-shaped 400s, never a 500 or a traceback."""

import http.client
import json
import logging
import socket
import ssl
from urllib.parse import urlsplit

import pytest

from marketo_sync.sandbox.app import MAX_BODY_BYTES

pytestmark = pytest.mark.usefixtures("no_sandbox_errors")

SOAP_WITH_DTD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>
  </soapenv:Header>
  <soapenv:Body><urn:convertLead><urn:leadConverts>
    <urn:leadId>&lol3;</urn:leadId><urn:convertedStatus>Closed - Converted</urn:convertedStatus>
  </urn:leadConverts></urn:convertLead></soapenv:Body>
</soapenv:Envelope>"""


@pytest.fixture
def no_sandbox_errors(caplog):
    """A hostile request must not reach the sandbox's unexpected-error path (a logged traceback)."""
    caplog.set_level(logging.ERROR, logger="marketo_sync.sandbox")
    yield
    assert [r for r in caplog.records if r.name.startswith("marketo_sync.sandbox")] == []


def announce_body(sandbox, path: str, length: int, headers: dict[str, str]) -> tuple[int, str]:
    """Send headers announcing `length` bytes, then only 1 KB of them, and read the answer: a
    sandbox that waited for (or buffered) the whole body would never answer."""
    parts = urlsplit(sandbox.url)
    context = ssl.create_default_context(cafile=sandbox.ca_path)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {length}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"x" * 1024)
        response = http.client.HTTPResponse(tls)
        response.begin()
        return response.status, response.read().decode()


@pytest.mark.parametrize(
    ("path", "headers", "expect"),
    [
        (
            "/services/oauth2/token",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "error",
        ),
        ("/services/data/v59.0/sobjects/Account/", {"Content-Type": "application/json"}, "array"),
        ("/services/Soap/u/59.0", {"Content-Type": "text/xml", "SOAPAction": "x"}, "soap"),
        ("/__sandbox__/create", {"Content-Type": "application/json"}, "control"),
    ],
)
def test_a_huge_body_is_refused_with_413_before_it_is_read(sandbox, path, headers, expect):
    status, body = announce_body(sandbox, path, 300 * 1024 * 1024, headers)
    assert status == 413
    if expect == "soap":
        assert "<faultcode>sf:EXCEEDED_MAX_SIZE_REQUEST</faultcode>" in body
    elif expect == "error":
        assert json.loads(body)["error"] == "EXCEEDED_MAX_SIZE_REQUEST"
    elif expect == "control":
        assert json.loads(body)["code"] == "EXCEEDED_MAX_SIZE_REQUEST"
    else:
        assert json.loads(body)[0]["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST"


def test_a_body_just_under_the_cap_is_read(sf):
    name = "x" * 80
    body = json.dumps({"Name": name, "Description": " " * (MAX_BODY_BYTES - 200)})
    response = sf.session.post(
        f"{sf.base_url}sobjects/Account/", data=body, headers=sf.headers, timeout=30
    )
    assert response.status_code != 413, response.text[:300]


def nested_soql(depth: int) -> str:
    return "SELECT Id FROM Account WHERE " + "(" * depth + "Name != 'x'" + ")" * depth


def query(sf, soql: str):
    return sf.session.get(f"{sf.base_url}query/", params={"q": soql}, headers=sf.headers,
                          timeout=30)


def test_soql_nested_up_to_40_levels_is_answered(sf):
    response = query(sf, nested_soql(40))
    assert response.status_code == 200, response.text[:300]


@pytest.mark.parametrize("depth", [41, 500, 2000])  # deeper ones pass the URI limit (414)
def test_deeper_soql_is_a_malformed_query(sf, depth):
    response = query(sf, nested_soql(depth))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert "deeper than 40 levels" in response.json()[0]["message"]


def test_parentheses_inside_a_string_literal_are_not_nesting(sf):
    response = query(sf, "SELECT Id FROM Account WHERE Name = '" + "(" * 100 + "'")
    assert response.status_code == 200, response.text[:300]


def test_deep_soql_in_a_bulk_job_is_a_malformed_query(sf):
    response = sf.session.post(
        f"{sf.base_url}jobs/query", headers=sf.headers, timeout=30,
        data=json.dumps({"operation": "query", "query": nested_soql(5000)}),
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def nested_json(depth: int) -> str:
    """A record whose Name is `depth - 1` nested lists: the whole body nests `depth` deep."""
    return '{"Name": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def create(sf, body: str):
    return sf.session.post(
        f"{sf.base_url}sobjects/Account/", data=body, headers=sf.headers, timeout=30
    )


def test_json_nested_64_deep_reaches_validation(sf):
    response = create(sf, nested_json(64))
    assert response.status_code == 400
    assert "deeper than" not in response.json()[0]["message"], response.text


@pytest.mark.parametrize("depth", [65, 1000, 200000])
def test_deeper_json_is_a_json_parser_error(sf, depth):
    response = create(sf, nested_json(depth))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert "deeper than 64 levels" in response.json()[0]["message"]


def test_deep_json_to_the_control_api_is_a_400(sandbox):
    response = sandbox.control.session.post(
        f"{sandbox.url}/__sandbox__/create",
        data='{"object_name": "Account", "fields": ' + "[" * 100000 + "]" * 100000 + "}",
        timeout=30,
    )
    assert response.status_code == 400


def test_a_soap_body_with_a_dtd_is_a_400_fault(sf):
    response = sf.session.post(
        f"{sf.base_url.split('/services')[0]}/services/Soap/u/59.0",
        data=SOAP_WITH_DTD.format(token=sf.session_id),
        headers={"Content-Type": "text/xml", "SOAPAction": "convertLead"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "<faultcode>sf:INVALID_XML</faultcode>" in response.text
    assert "DTD" in response.text


def test_a_chunked_body_is_cut_off_at_the_cap(sandbox, sf):
    """Without a Content-Length the body is read up to the cap, then refused: memory stays
    bounded whatever the client streams."""
    parts = urlsplit(sandbox.url)
    context = ssl.create_default_context(cafile=sandbox.ca_path)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=10)
    with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
        head = [
            "POST /services/data/v59.0/sobjects/Account/ HTTP/1.1",
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
            f"Authorization: Bearer {sf.session_id}",
        ]
        tls.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
                tls.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the sandbox answered and closed while the client was still sending
        response = http.client.HTTPResponse(tls)
        response.begin()
        assert response.status == 413
        assert json.loads(response.read())[0]["errorCode"] == "EXCEEDED_MAX_SIZE_REQUEST"
