"""The OAuth web-server flow most connected apps use: a code, then refresh tokens that can be
revoked, with Salesforce's error bodies for a bad or revoked token."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from simple_salesforce import Salesforce

REDIRECT = "https://app.example.test/oauth/callback"


@pytest.fixture
def http(sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_path
    return session


def token(http, sandbox, **form) -> requests.Response:
    credentials = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    return http.post(f"{sandbox.url}/services/oauth2/token", data=credentials | form, timeout=10)


def web_server_login(http, sandbox) -> dict:
    consent = http.get(
        f"{sandbox.url}/services/oauth2/authorize",
        params={"response_type": "code", "client_id": sandbox.client_id,
                "redirect_uri": REDIRECT, "state": "xyz"},
        allow_redirects=False, timeout=10,
    )
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    response = token(http, sandbox, grant_type="authorization_code", code=query["code"][0],
                     redirect_uri=REDIRECT)
    assert response.status_code == 200, response.text
    return response.json()


def test_authorization_code_gives_a_refresh_token_that_gives_working_sessions(http, sandbox):
    first = web_server_login(http, sandbox)
    assert first["refresh_token"] and "refresh_token" in first["scope"].split()
    refreshed = token(http, sandbox, grant_type="refresh_token",
                      refresh_token=first["refresh_token"])
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert "refresh_token" not in body  # Salesforce keeps the one it gave
    assert body["access_token"] != first["access_token"]
    assert body["instance_url"] == sandbox.url and body["token_type"] == "Bearer"
    sf = Salesforce(instance_url=body["instance_url"], session_id=body["access_token"],
                    session=http, version="59.0")
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_client_credentials_and_password_flows_issue_no_refresh_token(http, sandbox):
    state = json.loads(sandbox.state_path.read_text())
    password = token(http, sandbox, grant_type="password", username=state["username"],
                     password=state["password"])
    client = token(http, sandbox, grant_type="client_credentials")
    assert password.ok and client.ok
    assert "refresh_token" not in password.json() and "refresh_token" not in client.json()


@pytest.mark.parametrize("bad", ["", "5Aep861not-a-real-token"])
def test_an_unknown_refresh_token_is_refused_as_salesforce_does(http, sandbox, bad):
    response = token(http, sandbox, grant_type="refresh_token", refresh_token=bad)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant", "error_description": "expired access/refresh token"
    }


def test_a_revoked_refresh_token_is_refused(http, sandbox):
    kept = web_server_login(http, sandbox)["refresh_token"]
    revoked = web_server_login(http, sandbox)["refresh_token"]
    assert sandbox.control.revoke_refresh_tokens(revoked) == 1
    response = token(http, sandbox, grant_type="refresh_token", refresh_token=revoked)
    assert response.json()["error"] == "invalid_grant"
    assert token(http, sandbox, grant_type="refresh_token", refresh_token=kept).ok
    assert sandbox.control.revoke_refresh_tokens() >= 1
    assert token(http, sandbox, grant_type="refresh_token", refresh_token=kept).status_code == 400


def test_the_revoke_endpoint_ends_a_refresh_token(http, sandbox):
    refresh = web_server_login(http, sandbox)["refresh_token"]
    assert http.post(f"{sandbox.url}/services/oauth2/revoke", data={"token": refresh},
                     timeout=10).status_code == 200
    assert token(http, sandbox, grant_type="refresh_token", refresh_token=refresh).status_code \
        == 400


def test_refresh_needs_the_client_secret(http, sandbox):
    refresh = web_server_login(http, sandbox)["refresh_token"]
    response = token(http, sandbox, grant_type="refresh_token", refresh_token=refresh,
                     client_secret="wrong")
    assert response.json()["error"] == "invalid_client"


def test_an_authorization_code_works_once(http, sandbox):
    consent = http.get(
        f"{sandbox.url}/services/oauth2/authorize",
        params={"response_type": "code", "client_id": sandbox.client_id, "redirect_uri": REDIRECT},
        allow_redirects=False, timeout=10,
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    assert token(http, sandbox, grant_type="authorization_code", code=code,
                 redirect_uri=REDIRECT).ok
    again = token(http, sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
