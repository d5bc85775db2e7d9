"""Lead conversion over SOAP, persistence with a data dir, the state file, silent clients."""

import json
import socket

import requests

from marketo_sync.sandbox.schema import OBJECTS
from marketo_sync.sandbox.server import SandboxServer
from tests.helpers.soap import soap_convert_lead


def test_convert_lead_creates_account_contact_opportunity(sf):
    lead = sf.query("SELECT Id, Company FROM Lead WHERE IsConverted = false LIMIT 1")["records"][0]
    response = soap_convert_lead(sf, lead["Id"])
    assert response.status_code == 200
    assert "<success>true</success>" in response.text
    converted = sf.Lead.get(lead["Id"])
    assert converted["IsConverted"] is True
    assert converted["Status"] == "Closed - Converted"
    account = sf.Account.get(converted["ConvertedAccountId"])
    assert account["Name"] == lead["Company"]
    contact = sf.Contact.get(converted["ConvertedContactId"])
    assert contact["AccountId"] == account["Id"]
    assert sf.Opportunity.get(converted["ConvertedOpportunityId"])["Name"] == "First order"
    again = soap_convert_lead(sf, lead["Id"])
    assert "<success>false</success>" in again.text and "INVALID_STATUS" in again.text


def test_convert_lead_with_a_bad_session_is_a_soap_fault(sf):
    sf.session_id = "expired"
    response = soap_convert_lead(sf, "00Q5g0000000001AAA")
    assert response.status_code == 500
    assert "INVALID_SESSION_ID" in response.text


def test_state_survives_a_restart_with_a_data_dir(tmp_path):
    first = SandboxServer(seed="tiny", data_dir=tmp_path / "org").start()
    try:
        state_file = tmp_path / "state.json"
        first.write_state(state_file)
        state = json.loads(state_file.read_text())
        assert set(state) == {
            "pid", "url", "ca_path", "client_id", "client_secret", "control_token", "username",
            "password",
        }
        headers = {"X-Sandbox-Token": state["control_token"]}
        created = requests.post(
            f"{state['url']}/__sandbox__/create",
            json={"object_name": "Account", "fields": {"Name": "Kept"}},
            headers=headers, verify=state["ca_path"], timeout=10,
        ).json()["result"]
    finally:
        first.stop()
    second = SandboxServer(seed="tiny", data_dir=tmp_path / "org").start()
    try:
        assert second.app.client_id == state["client_id"]
        record = second.store.raw(OBJECTS["Account"], created)
        assert record["Name"] == "Kept"
    finally:
        second.stop()


def test_a_client_that_connects_and_sends_nothing_blocks_no_other(sandbox):
    """A stopped process may hold a connection mid-handshake (the fencing test stops workers)."""
    port = int(sandbox.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)):
        response = requests.get(f"{sandbox.url}/services/data/", verify=sandbox.ca_path, timeout=5)
    assert response.status_code == 200
