"""The sandbox driven by the real simple-salesforce over verified TLS."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.helpers.salesforce import error_body

DATETIME_SHAPE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"


def test_query_returns_salesforce_shapes(sf: Salesforce):
    result = sf.query("SELECT Id, Name, Account.Name, SystemModstamp FROM Contact LIMIT 3")
    assert result["totalSize"] == 3
    assert result["done"] is True
    record = result["records"][0]
    assert record["attributes"]["type"] == "Contact"
    assert record["attributes"]["url"] == f"/services/data/v59.0/sobjects/Contact/{record['Id']}"
    assert list(record) == ["attributes", "Id", "Name", "Account", "SystemModstamp"]
    assert record["Account"]["attributes"]["type"] == "Account"
    assert len(record["Id"]) == 18 and record["Id"].startswith("003")
    assert re.match(DATETIME_SHAPE, record["SystemModstamp"])


def test_field_names_come_back_in_canonical_case(sf):
    record = sf.query("select id, name from account limit 1")["records"][0]
    assert set(record) == {"attributes", "Id", "Name"}


@pytest.mark.sandbox_seed("small")
def test_paging_with_batch_size_and_query_more(sf, sandbox):
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id FROM Contact ORDER BY Id", headers=headers)
    assert first["totalSize"] == 501
    assert len(first["records"]) == 200
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=headers)
    assert len(second["records"]) == 200
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Contact ORDER BY Id")]
    assert len(ids) == 501 == len(set(ids))
    assert ids == sorted(ids)


@pytest.mark.sandbox_seed("small")
def test_query_all_iter_crosses_pages(sf, sandbox):
    sandbox.control.set_page_size(50)
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Account")]
    assert len(ids) == 50 + 1  # 50 seeded, one created by the seeded lead conversion
    assert sandbox.control.request_counts()["query_more"] == 1


def test_query_all_sees_deletes_until_purged(sf, sandbox):
    account_id = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    contacts = sf.query(f"SELECT Id FROM Contact WHERE AccountId = '{account_id}'")["totalSize"]
    sandbox.control.delete("Account", account_id)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{account_id}'"
    assert sf.query(soql)["totalSize"] == 0
    deleted = sf.query_all(soql, include_deleted=True)["records"]
    assert deleted[0]["IsDeleted"] is True
    cascaded = sf.query_all(
        f"SELECT Id FROM Contact WHERE AccountId = '{account_id}' AND IsDeleted = true",
        include_deleted=True,
    )
    assert cascaded["totalSize"] == contacts > 0
    sandbox.control.purge("Account", account_id)
    assert sf.query_all(soql, include_deleted=True)["totalSize"] == 0


def test_describe_lists_custom_and_formula_fields(sf):
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["Region__c"]["custom"] is True
    assert fields["AnnualRevenueBand__c"]["calculated"] is True
    assert fields["Id"]["type"] == "id"
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Opportunity", "User", "LeadStatus"} <= names


def test_create_update_delete_move_the_modstamp(sf, sandbox):
    created = sf.Account.create({"Name": "Blue Harbor Ltd", "Industry": "Banking"})
    assert created["success"] is True
    record_id = created["id"]
    before = sf.Account.get(record_id)["SystemModstamp"]
    assert sf.Account.update(record_id, {"Industry": "Retail"}) == 204
    after = sf.Account.get(record_id)
    assert after["Industry"] == "Retail"
    assert after["SystemModstamp"] > before
    assert sf.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(record_id)


def test_write_errors_are_salesforce_error_arrays(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"Industry": "Banking"})
    assert error_body(excinfo.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"Name": "x", "Bogus__c": 1})
    assert error_body(excinfo.value)[0]["errorCode"] == "INVALID_FIELD"


def test_composite_sobjects_reports_per_record_results(sf):
    result = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "North Pier"},
                {"attributes": {"type": "Lead"}, "LastName": "Chen"},
            ],
        },
    )
    assert result[0]["success"] is True and result[0]["id"].startswith("001")
    assert result[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"



def ids_query(count: int) -> str:
    ids = ",".join(f"'001{n:015d}'" for n in range(count))
    return f"SELECT Id, Name FROM Account WHERE Id IN ({ids})"  # noqa: S608 - test literals


def test_a_query_uri_longer_than_16384_bytes_is_refused(sf):
    with pytest.raises(SalesforceGeneralError) as excinfo:
        sf.query(ids_query(700))
    assert excinfo.value.status == 414
    assert sf.query(ids_query(500))["totalSize"] == 0


def test_a_long_query_travels_in_a_composite_request(sf, sandbox):
    account_id = sf.Account.create({"Name": "Long Query Co"})["id"]
    soql = ids_query(2000).replace("IN (", f"IN ('{account_id}',")
    sandbox.control.reset_counts()
    result = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "GET", "url": f"/services/data/v59.0/queryAll/?{urlencode({'q': soql})}",
         "referenceId": "records"},
    ]})
    (response,) = result["compositeResponse"]
    assert response["httpStatusCode"] == 200
    assert response["body"]["totalSize"] == 1
    assert response["body"]["records"][0]["Name"] == "Long Query Co"
    assert sandbox.control.request_counts() == {"composite": 1}


def test_soql_longer_than_100000_characters_is_malformed(sf):
    soql = ids_query(5000)
    assert len(soql) > 100_000
    result = sf.restful("composite", method="POST", json={"compositeRequest": [
        {"method": "GET", "url": f"/services/data/v59.0/query/?{urlencode({'q': soql})}",
         "referenceId": "records"},
    ]})
    (response,) = result["compositeResponse"]
    assert response["httpStatusCode"] == 400
    assert response["body"][0]["errorCode"] == "MALFORMED_QUERY"

def test_updated_and_deleted_resources(sf, sandbox):
    start = datetime.now(UTC) - timedelta(minutes=2)
    account_id = sf.Account.create({"Name": "Replicated"})["id"]
    other = sf.Account.create({"Name": "Removed"})["id"]
    sf.Account.delete(other)
    end = datetime.now(UTC) + timedelta(minutes=2)
    assert account_id in sf.Account.updated(start, end)["ids"]
    deleted = sf.Account.deleted(start, end)["deletedRecords"]
    assert [d["id"] for d in deleted] == [other]


@pytest.mark.sandbox_seed("small")
def test_bulk2_query_returns_csv_pages(sf):
    pages = list(sf.bulk2.Contact.query("SELECT Id, Email FROM Contact", max_records=200, wait=0.1))
    assert len(pages) == 3
    lines = sum(len(page.strip().splitlines()) - 1 for page in pages)
    assert lines == 501
    assert pages[0].splitlines()[0] == '"Id","Email"'


def test_api_usage_header_is_parsed(sf):
    sf.query("SELECT Id FROM Account LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert usage.total == 15000 and usage.used >= 1


@pytest.mark.parametrize(
    ("kind", "exception", "code"),
    [
        ("expired_session", SalesforceExpiredSession, None),
        ("unavailable", SalesforceGeneralError, None),
        ("request_limit", SalesforceRefusedRequest, None),
        ("lock_row", SalesforceMalformedRequest, "UNABLE_TO_LOCK_ROW"),
    ],
)
def test_injected_faults_raise_what_salesforce_would(sf, sandbox, kind, exception, code):
    sandbox.control.inject_fault(kind, count=1, path="/query")
    with pytest.raises(exception) as excinfo:
        sf.query("SELECT Id FROM Account")
    if code:
        assert error_body(excinfo.value)[0]["errorCode"] == code
    if kind != "expired_session":
        assert sf.query("SELECT Id FROM Account")["totalSize"] > 0


def test_dropped_connection_and_latency(sf, sandbox):
    sandbox.control.inject_fault("drop_connection", path="/query")
    with pytest.raises(requests.exceptions.RequestException):
        sf.query("SELECT Id FROM Account")
    sandbox.control.inject_fault("latency", path="/query", seconds=2)
    with pytest.raises(requests.exceptions.Timeout):
        sf.query("SELECT Id FROM Account", timeout=0.5)


def test_malformed_record_fault_changes_one_record(sf, sandbox):
    sandbox.control.inject_fault("malformed_record", path="/query", field="Name", value="a\x00b")
    names = [r["Name"] for r in sf.query("SELECT Name FROM Account")["records"]]
    assert names.count("a\x00b") == 1


def test_daily_limit_refuses_with_request_limit_exceeded(sf, sandbox):
    sandbox.control.set_api_limit(5, used=5)
    with pytest.raises(SalesforceRefusedRequest) as excinfo:
        sf.query("SELECT Id FROM Account")
    assert error_body(excinfo.value)[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"client_id": "nope"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "invalid_client"),
        ({"grant_type": "password", "username": "x", "password": "y"}, "invalid_grant"),
        ({"grant_type": "magic"}, "unsupported_grant_type"),
    ],
)
def test_token_errors(sandbox, form, error):
    data = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        **form,
    }
    response = requests.post(
        f"{sandbox.url}/services/oauth2/token", data=data, verify=sandbox.ca_path, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_requests_without_a_session_are_refused(sandbox):
    response = requests.get(
        f"{sandbox.url}/services/data/v59.0/sobjects", verify=sandbox.ca_path, timeout=10
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    versions = requests.get(f"{sandbox.url}/services/data/", verify=sandbox.ca_path, timeout=10)
    assert versions.status_code == 200


def test_tls_is_verified_against_the_sandbox_ca(sandbox):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sandbox.url}/services/data/", verify=True, timeout=10)


def test_control_api_refuses_requests_without_its_token(sandbox):
    response = requests.post(
        f"{sandbox.url}/__sandbox__/reset", json={}, verify=sandbox.ca_path, timeout=10
    )
    assert response.status_code == 403


@pytest.mark.sandbox_seed("small")
def test_query_all_iter_crosses_three_pages_with_batch_size(sf, sandbox, sandbox_server):
    with sandbox_server.store.lock:
        expected = [
            row[0]
            for row in sandbox_server.store.db.execute(
                'SELECT "Id" FROM "Contact" WHERE "IsDeleted" = 0 ORDER BY "Id"'
            )
        ]
    assert len(expected) > 400
    sandbox.control.reset_counts()
    headers = {"Sforce-Query-Options": "batchSize=200"}
    pages = sf.query_all_iter("SELECT Id FROM Contact ORDER BY Id", headers=headers)
    ids = [r["Id"] for r in pages]
    assert ids == expected
    counts = sandbox.control.request_counts()
    assert counts["query"] == 1 and counts["query_more"] == (len(expected) - 1) // 200 >= 2


@pytest.mark.parametrize(
    ("name", "prefix", "required", "extra"),
    [
        ("Contact", "003", {"LastName"}, {"AccountId": "reference", "Email": "email"}),
        ("Lead", "00Q", {"LastName", "Company"},
         {"IsConverted": "boolean", "Status": "picklist", "Industry": "picklist",
          "NumberOfEmployees": "int", "AnnualRevenue": "currency", "City": "string",
          "State": "string", "Country": "string"}),
        ("Opportunity", "006", {"Name", "StageName", "CloseDate"},
         {"Amount": "currency", "CloseDate": "date", "IsWon": "boolean"}),
        ("User", "005", set(), {"Username": "string", "IsActive": "boolean"}),
    ],
)
def test_describe_of_the_synced_objects(sf, name, prefix, required, extra):
    described = getattr(sf, name).describe()
    assert described["name"] == name and described["keyPrefix"] == prefix
    assert described["queryable"] is True and described["replicateable"] is True
    assert described["urls"]["describe"] == f"/services/data/v59.0/sobjects/{name}/describe"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Id"]["type"] == "id"
    assert fields["SystemModstamp"]["type"] == "datetime"
    assert {n for n, f in fields.items() if f["createable"] and not f["nillable"]
            and f["type"] != "boolean"} >= required
    assert {n: fields[n]["type"] for n in extra} == extra
    if name == "Opportunity":
        stages = [p["value"] for p in fields["StageName"]["picklistValues"]]
        assert {"Prospecting", "Closed Won", "Closed Lost"} <= set(stages)
    if name == "Contact":
        assert fields["AccountId"]["referenceTo"] == ["Account"]
        assert fields["AccountId"]["relationshipName"] == "Account"


def test_undelete_brings_the_record_and_its_cascade_back(sf, sandbox):
    account_id = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    children = f"SELECT Id FROM Contact WHERE AccountId = '{account_id}' ORDER BY Id"
    contact_ids = [r["Id"] for r in sf.query(children)["records"]]
    assert contact_ids
    soql = f"SELECT Id, IsDeleted, SystemModstamp FROM Account WHERE Id = '{account_id}'"
    sandbox.control.delete("Account", account_id)
    deleted_stamp = sf.query_all(soql, include_deleted=True)["records"][0]["SystemModstamp"]
    assert sf.query(soql)["totalSize"] == 0 and sf.query(children)["totalSize"] == 0
    sandbox.control.undelete("Account", account_id)
    (record,) = sf.query(soql)["records"]
    assert record["IsDeleted"] is False and record["SystemModstamp"] > deleted_stamp
    assert [r["Id"] for r in sf.query(children)["records"]] == contact_ids
    assert sf.Account.get(account_id)["IsDeleted"] is False


def test_seeded_leads_carry_their_company_like_salesforce(sf):
    leads = sf.query(
        "SELECT Company, Industry, NumberOfEmployees, AnnualRevenue, City, Country FROM Lead"
    )["records"]
    assert leads and all(
        lead["Company"] and lead["Industry"] and lead["NumberOfEmployees"] > 0
        and lead["AnnualRevenue"] >= 1_000_000 and lead["City"] and lead["Country"]
        for lead in leads
    )
