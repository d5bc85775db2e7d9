"""Logins and sessions as Salesforce handles them: password grant, idle expiry, reset."""

import json
import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from tests.fixtures.sandbox import sandbox_login
from tests.helpers.salesforce import error_body


def test_password_grant_login_through_simple_salesforce(sandbox):
    state = json.loads(sandbox.state_path.read_text())
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_path
    host = sandbox.url.removeprefix("https://")
    sf = Salesforce(  # the domain trick: the login POST goes to the sandbox
        username=state["username"], password=state["password"],
        consumer_key=sandbox.client_id, consumer_secret=sandbox.client_secret,
        domain=f"{host}/services/oauth2/token#", session=session, version="59.0",
    )
    assert sf.sf_instance == host
    assert sf.query("SELECT Id FROM Account")["totalSize"] > 0


def test_password_grant_token_response(sandbox):
    state = json.loads(sandbox.state_path.read_text())
    response = requests.post(
        f"{sandbox.url}/services/oauth2/token", verify=sandbox.ca_path, timeout=10,
        data={"grant_type": "password", "client_id": sandbox.client_id,
              "client_secret": sandbox.client_secret, "username": state["username"],
              "password": state["password"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == sandbox.url and body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and body["id"].startswith(f"{sandbox.url}/id/00D")


def test_session_expires_after_the_idle_time(sandbox):
    sandbox.control.set_session_timeout(1.0)
    sf = sandbox_login(sandbox)
    for _ in range(3):  # each call within the idle time keeps the session alive
        time.sleep(0.6)
        assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    time.sleep(1.3)
    with pytest.raises(SalesforceExpiredSession) as excinfo:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert error_body(excinfo.value) == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert sandbox_login(sandbox).query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_reset_restores_the_default_session_timeout(sandbox):
    sandbox.control.set_session_timeout(0.2)
    sandbox.control.reset()
    sf = sandbox_login(sandbox)
    time.sleep(0.4)
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
