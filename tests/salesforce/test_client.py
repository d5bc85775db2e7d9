"""The client against the sandbox: login, re-login, retries, limits, accounting, TLS."""

import pytest

from marketo_sync.salesforce import client as client_module
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.config import salesforce_config
from marketo_sync.salesforce.errors import (
    SalesforceApiLimitReached,
    SalesforceAuthError,
    SalesforceConfigError,
    SalesforceRequestError,
    SalesforceUnavailable,
)


def count(client: SalesforceClient, soql: str = "SELECT COUNT() FROM Account") -> int:
    return client.call(lambda sf: sf.query(soql))["totalSize"]


def test_config_comes_from_the_sandbox_state_file(sandbox):
    config = salesforce_config()
    assert config.login_url == sandbox.url
    assert config.client_id == sandbox.client_id
    assert "client_secret" not in repr(config) and sandbox.client_secret not in repr(config)


def test_a_deploy_never_reads_the_sandbox_state_file(sandbox, settings):
    settings.DEV_TOOLS = False
    with pytest.raises(SalesforceConfigError, match="Salesforce is not configured") as excinfo:
        salesforce_config()
    assert "sandbox" not in str(excinfo.value)


def test_missing_configuration_is_a_clear_error(settings, tmp_path):
    settings.SALESFORCE_SANDBOX_STATE = tmp_path / "absent.json"
    with pytest.raises(SalesforceConfigError, match="Salesforce is not configured"):
        salesforce_config()


def test_login_and_query_count_api_calls_and_budget(sandbox):
    client = SalesforceClient.from_settings()
    assert count(client) > 0
    assert client.api_calls == 1
    assert client.api_limit == 15000 and client.api_used >= 1


def test_token_is_reused_across_clients_until_a_401(sandbox):
    count(SalesforceClient.from_settings())
    count(SalesforceClient.from_settings())
    assert sandbox.control.request_counts()["token"] == 1


def test_expired_session_relogs_in_once_and_repeats_the_call(sandbox):
    client = SalesforceClient.from_settings()
    count(client)
    sandbox.control.expire_sessions()
    assert count(client) > 0
    assert sandbox.control.request_counts()["token"] == 2


def test_transient_faults_are_retried(sandbox):
    client = SalesforceClient.from_settings()
    sandbox.control.inject_fault("unavailable", count=2, path="/query")
    sandbox.control.inject_fault("lock_row", count=1, path="/query")
    sandbox.control.inject_fault("drop_connection", count=1, path="/query")
    assert count(client) > 0
    assert sandbox.control.request_counts()["query"] == 5


def test_retries_are_bounded(sandbox, settings):
    settings.SALESFORCE_RETRY_ATTEMPTS = 3
    sandbox.control.inject_fault("unavailable", count=10, path="/query")
    with pytest.raises(SalesforceUnavailable, match="after 3 attempts"):
        count(SalesforceClient.from_settings())


def test_timeouts_are_retried(sandbox, settings):
    settings.SALESFORCE_READ_TIMEOUT = 0.5
    sandbox.control.inject_fault("latency", count=1, path="/query", seconds=1.5)
    assert count(SalesforceClient.from_settings()) > 0


def test_request_limit_exceeded_pauses(sandbox):
    sandbox.control.inject_fault("request_limit", path="/query")
    with pytest.raises(SalesforceApiLimitReached, match="paused: API limit"):
        count(SalesforceClient.from_settings())


def test_budget_reserve_stops_before_calling(sandbox, settings):
    settings.SALESFORCE_API_RESERVE = 14990
    client = SalesforceClient.from_settings()
    sandbox.control.set_api_limit(15000, used=20)
    count(client)
    with pytest.raises(SalesforceApiLimitReached, match="below the reserve"):
        count(client)


def test_permanent_errors_are_not_retried(sandbox):
    with pytest.raises(SalesforceRequestError) as excinfo:
        count(SalesforceClient.from_settings(), "SELECT Nope FROM Account")
    assert excinfo.value.error_code == "INVALID_FIELD"
    assert sandbox.control.request_counts()["query"] == 1


def test_bad_credentials_give_a_plain_message_without_the_secret(sandbox, settings):
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = sandbox.client_id
    settings.SALESFORCE_CLIENT_SECRET = "wrong-secret-value"
    settings.SALESFORCE_CA_BUNDLE = sandbox.ca_path
    with pytest.raises(SalesforceAuthError) as excinfo:
        count(SalesforceClient.from_settings())
    assert "invalid_client" in str(excinfo.value)
    assert "wrong-secret-value" not in str(excinfo.value)


def test_tls_is_verified_and_env_variables_cannot_override_it(sandbox, settings, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    assert count(SalesforceClient.from_settings()) > 0
    client_module._token_cache.clear()
    settings.SALESFORCE_LOGIN_URL = sandbox.url
    settings.SALESFORCE_CLIENT_ID = sandbox.client_id
    settings.SALESFORCE_CLIENT_SECRET = sandbox.client_secret
    settings.SALESFORCE_CA_BUNDLE = ""
    with pytest.raises(SalesforceAuthError, match="TLS verification failed"):
        count(SalesforceClient.from_settings())


def test_query_pages_follow_next_records_url(sandbox):
    sandbox.control.set_page_size(10)
    pages = list(SalesforceClient.from_settings().query_pages("SELECT Id FROM Contact"))
    assert len(pages) == 4
    assert sum(len(p["records"]) for p in pages) == pages[0]["totalSize"] == 31


def test_a_503_from_the_token_endpoint_is_retried(sandbox):
    sandbox.control.inject_fault("unavailable", count=2, path="/services/oauth2/token")
    assert count(SalesforceClient.from_settings()) > 0
    assert sandbox.control.request_counts()["token"] == 3


def test_api_usage_is_read_from_every_response_header(sandbox):
    client = SalesforceClient.from_settings()
    before = client.api_usage
    assert before is None
    client.describe("Account")  # simple-salesforce itself parses the header only on some calls
    used, total = client.api_usage
    assert total == 15000 and used >= 1 and not client.over_reserve


def test_raw_requests_relogin_retry_keep_their_headers_and_pause_on_the_limit(sandbox):
    client = SalesforceClient.from_settings()
    seen = []

    def probe(response, *args, **kwargs) -> None:
        if "/oauth2/" not in response.url:
            seen.append(response.request.headers.get("X-Probe"))

    client.session.hooks["response"].append(probe)
    sandbox.control.inject_fault("unavailable", count=1, path="/limits")
    response = client.request("GET", "/services/data/v59.0/limits/", headers={"X-Probe": "1"})
    assert response.status_code == 200 and "DailyApiRequests" in response.json()
    sandbox.control.expire_sessions()
    client.request("GET", "/services/data/v59.0/limits/", headers={"X-Probe": "2"})
    assert seen == ["1", "1", "2", "2"]  # 503 then 200; 401 then 200: headers kept on repeats
    assert sandbox.control.request_counts()["token"] == 2
    sandbox.control.inject_fault("request_limit", path="/limits")
    with pytest.raises(SalesforceApiLimitReached):
        client.request("GET", "/services/data/v59.0/limits/")
