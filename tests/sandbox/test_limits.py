"""The daily API allowance and `Sforce-Limit-Info`, and where injected faults may land.

The header is sent on REST responses (everything under /services/data, errors
included) as used/limit over a rolling 24 h. The OAuth token endpoint is not part of the REST
API and a login is not an API call, so it carries no header and is never charged.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceRefusedRequest

from marketo_sync.sandbox.control import SandboxControl
from marketo_sync.sandbox.store import Store
from marketo_sync.sandbox.usage import HOUR, ApiUsage
from tests.fixtures.sandbox import SandboxHandle, sandbox_login
from tests.helpers.salesforce import error_body

ROOT = Path(__file__).resolve().parents[2]


def test_every_rest_response_carries_limit_info(sandbox):
    sf = sandbox_login(sandbox)
    session = sf.session
    responses = {
        "versions": session.get(f"{sandbox.url}/services/data/", timeout=10),
        "query": session.get(f"{sf.base_url}query/", params={"q": "SELECT Id FROM Account"},
                             headers=sf.headers, timeout=10),
        "no session": session.get(f"{sf.base_url}limits/", timeout=10),
        "unknown path": session.get(f"{sf.base_url}nothing/here", headers=sf.headers, timeout=10),
        "wrong method": session.put(f"{sf.base_url}query/", headers=sf.headers, timeout=10),
        "bad soql": session.get(f"{sf.base_url}query/", params={"q": "SELECT"},
                                headers=sf.headers, timeout=10),
    }
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {"versions": 200, "query": 200, "no session": 401, "unknown path": 404,
                        "wrong method": 405, "bad soql": 400}
    for name, response in responses.items():
        assert response.headers.get("Sforce-Limit-Info", "").startswith("api-usage="), name
    token = session.post(
        f"{sandbox.url}/services/oauth2/token", timeout=10,
        data={"grant_type": "client_credentials", "client_id": sandbox.client_id,
              "client_secret": sandbox.client_secret},
    )
    assert token.status_code == 200 and "Sforce-Limit-Info" not in token.headers


def test_logins_and_the_version_list_are_not_charged(sandbox):
    sandbox.control.set_api_limit(100, used=0)
    sf = sandbox_login(sandbox)
    sf.session.get(f"{sandbox.url}/services/data/", timeout=10)
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used == 1


def test_usage_is_a_rolling_24_hours():
    now = [1_000_000 * HOUR + 1800.0]
    usage = ApiUsage(Store(), limit=3, clock=lambda: now[0])
    assert usage.charge() and usage.charge()
    now[0] += 12 * HOUR
    assert usage.charge()
    assert not usage.charge() and usage.used == 3
    now[0] += 12 * HOUR
    assert usage.used == 1 and usage.header() == "api-usage=1/3"
    assert usage.charge()
    now[0] += 24 * HOUR
    assert usage.used == 0


def test_usage_is_kept_in_the_store():
    store = Store()
    first = ApiUsage(store, limit=10)
    for _ in range(4):
        first.charge()
    assert ApiUsage(store, limit=10).used == 4


def test_untargeted_session_faults_spare_the_token_endpoint(sandbox):
    sandbox.control.inject_fault("expired_session")
    sandbox.control.inject_fault("request_limit", path="/services/")
    sf = sandbox_login(sandbox)  # neither fault may answer the login
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    sf = sandbox_login(sandbox)
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Account")
    assert sf.query("SELECT Id FROM Account")["totalSize"] > 0


def test_targeted_transport_faults_still_reach_the_token_endpoint(sandbox):
    sandbox.control.inject_fault("unavailable", path="/services/oauth2/token")
    with pytest.raises(requests.HTTPError) as excinfo:
        sandbox_login(sandbox)
    assert excinfo.value.response.status_code == 503
    assert sandbox_login(sandbox).query("SELECT Id FROM Account")["totalSize"] > 0


def start_command(tmp_path: Path, *extra: str) -> subprocess.Popen:
    state = tmp_path / "state.json"
    state.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sfdc_sandbox", "--seed", "tiny", "--port", "0",
         "--state-file", str(state), "--data-dir", str(tmp_path / "org"), *extra],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    while not state.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.1)
    return process



def test_api_limit_option_and_usage_survive_a_restart(tmp_path):
    def connect() -> Salesforce:
        state = json.loads((tmp_path / "state.json").read_text())
        control = SandboxControl(state["url"], state["control_token"], state["ca_path"])
        handle = SandboxHandle(state["url"], state["ca_path"], state["client_id"],
                               state["client_secret"], tmp_path / "state.json", control)
        return sandbox_login(handle)

    process = start_command(tmp_path, "--api-limit", "3")
    try:
        sf = connect()
        assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
        sf.query("SELECT Id FROM Account LIMIT 1")
        assert sf.api_usage["api-usage"].used == 2
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    process = start_command(tmp_path, "--api-limit", "3")
    try:
        sf = connect()
        sf.query("SELECT Id FROM Account LIMIT 1")
        assert sf.api_usage["api-usage"].used == 3
        with pytest.raises(SalesforceRefusedRequest) as excinfo:
            sf.query("SELECT Id FROM Account LIMIT 1")
        assert error_body(excinfo.value)[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
