"""Hostile input never gets a 500 or an HTML page: Salesforce's 400 error arrays, and a JSON
UNKNOWN_EXCEPTION (logged) if the sandbox itself fails."""

import logging

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from marketo_sync.sandbox.store import Store
from tests.helpers.salesforce import error_body

WORDS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "COUNT()", "Id", "Name", "Account", "Contact",
    "Account.Name", "Owner.Name", "NumberOfEmployees", "AnnualRevenue", "SystemModstamp",
    "CloseDate", "IsDeleted", "Industry", "Opportunity", "Lead", "(", ")", ",", "=", "!=", "<>",
    "<", "<=", ">", ">=", "'x'", "'%a_'", "'\\''", "null", "true", "false", "0", "-1", "1.5",
    "99999999999999999999999", "-99999999999999999999999", "2147483648", "1e308", "1e999",
    "2026-11-24", "2026-13-45", "2026-11-24T21:19:53Z", "9999-12-31T23:59:59-08:00",
    "0001-01-01T00:00:00+01:00", "'2026-11-24T21:19:53Z'", "'001'", "\x00", "é", "'",
]
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=2**70),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**20, 10**400]),
)
SOQL_ISH = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join),
    st.tuples(
        st.sampled_from(["Id", "Name", "Id, Name", "Account.Name", "COUNT()", "Id, Id"]),
        st.sampled_from(["Account", "Contact", "Opportunity", "Lead", "User", "LeadStatus"]),
        st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    ).map(lambda t: f"SELECT {t[0]} FROM {t[1]} WHERE {t[2]}"),
    st.tuples(
        st.sampled_from(["NumberOfEmployees", "AnnualRevenue", "Name", "CreatedDate", "Id"]),
        st.sampled_from(["=", "<", ">=", "!=", "IN", "LIKE"]),
        st.one_of(NUMBERS, NUMBERS.map(lambda n: -n), st.floats(), st.text(max_size=12).map(repr)),
    ).map(lambda t: f"SELECT Id FROM Account WHERE {t[0]} {t[1]} {t[2]}"),
    NUMBERS.map(lambda n: f"SELECT Id FROM Account LIMIT {n}"),
    NUMBERS.map(lambda n: f"SELECT Id FROM Account LIMIT 1 OFFSET {n}"),
    st.text(max_size=60),
)


def get(sf, path: str, **params: str) -> requests.Response:
    return sf.session.get(f"{sf.base_url}{path}", params=params, headers=sf.headers, timeout=10)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(soql=SOQL_ISH, endpoint=st.sampled_from(["query/", "queryAll/"]))
def test_fuzzed_soql_never_yields_a_500(sf, soql, endpoint):
    response = get(sf, endpoint, q=soql)
    assert response.status_code in {200, 400}, (soql, response.status_code, response.text[:300])
    body = response.json()
    if response.status_code == 400:
        assert isinstance(body, list) and body[0]["errorCode"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Account LIMIT 99999999999999999999", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account LIMIT 2147483648", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account LIMIT 1 OFFSET 99999999999999999999",
         "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_out_of_range_limits_are_refused(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(soql)
    assert error_body(excinfo.value)[0]["errorCode"] == code


def test_huge_number_literals_compare_instead_of_overflowing(sf):
    assert sf.query("SELECT Id FROM Account WHERE NumberOfEmployees = 99999999999999999999999")[
        "totalSize"
    ] == 0
    everything = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert sf.query(
        "SELECT COUNT() FROM Account WHERE AnnualRevenue < 99999999999999999999999 "
        "OR AnnualRevenue = null"
    )["totalSize"] == everything


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"NumberOfEmployees": 10**30}, "NUMBER_OUTSIDE_VALID_RANGE"),
        ({"NumberOfEmployees": 2**31}, "NUMBER_OUTSIDE_VALID_RANGE"),
        ({"AnnualRevenue": 10**400}, "NUMBER_OUTSIDE_VALID_RANGE"),
        ({"AnnualRevenue": 10**17}, "NUMBER_OUTSIDE_VALID_RANGE"),
    ],
)
def test_out_of_range_numbers_in_writes_are_refused(sf, fields, code):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.Account.create({"Name": "Too Big", **fields})
    assert error_body(excinfo.value)[0]["errorCode"] == code


def test_nan_in_a_write_is_a_json_parser_error(sf):
    response = sf.session.post(
        f"{sf.base_url}sobjects/Account/", data='{"Name": "x", "AnnualRevenue": NaN}',
        headers=sf.headers, timeout=10,
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("locator=abc", "INVALID_QUERY_LOCATOR"),
        ("locator=-3", "INVALID_QUERY_LOCATOR"),
        ("locator=99999999999999999999999", "INVALID_QUERY_LOCATOR"),
        ("maxRecords=x", "INVALID_INPUT"),
        ("maxRecords=0", "INVALID_INPUT"),
    ],
)
def test_junk_bulk_result_parameters_are_400s(sf, query, code):
    job = sf.session.post(
        f"{sf.base_url}jobs/query", headers=sf.headers, timeout=10,
        json={"operation": "query", "query": "SELECT Id FROM Account"},
    ).json()["id"]
    for _ in range(2):
        get(sf, f"jobs/query/{job}")
    response = sf.session.get(
        f"{sf.base_url}jobs/query/{job}/results?{query}", headers=sf.headers, timeout=10
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


def test_an_internal_error_is_a_logged_json_unknown_exception(sf, monkeypatch, caplog):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("sandbox bug")

    monkeypatch.setattr(Store, "snapshot", broken)
    with (
        caplog.at_level(logging.ERROR, logger="marketo_sync.sandbox.app"),
        pytest.raises(SalesforceGeneralError) as excinfo,
    ):
        sf.query("SELECT Id FROM Account")
    assert excinfo.value.status == 500
    (error,) = error_body(excinfo.value)
    assert error["errorCode"] == "UNKNOWN_EXCEPTION"
    error_id = error["message"].rsplit(": ", 1)[1]
    assert any(
        error_id in r.getMessage() and "sandbox bug" in (r.exc_text or "") for r in caplog.records
    )
