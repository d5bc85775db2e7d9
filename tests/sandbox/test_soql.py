"""Table-driven: every query shape the clients send, and malformed queries with the exact code."""

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.helpers.salesforce import error_body

VALID = [
    ("SELECT Id, Name FROM Account", None),
    ("select id from account", None),
    ("SELECT Id, Account.Name FROM Contact WHERE Account.Name != null", None),
    ("SELECT Id FROM Account WHERE Industry = 'Banking' AND Type != 'Other'", None),
    ("SELECT Id FROM Account WHERE (Industry = 'Banking' OR Industry = 'Retail') AND Tier__c > 1",
     None),
    ("SELECT Id FROM Account WHERE Industry IN ('Banking', 'Retail')", None),
    ("SELECT Id FROM Account WHERE Industry NOT IN ('Banking')", None),
    ("SELECT Id FROM Account WHERE Name LIKE 'A%'", None),
    ("SELECT Id FROM Account WHERE NOT (Industry = 'Banking')", None),
    ("SELECT Id FROM Account WHERE Industry <> 'Banking'", None),
    ("SELECT Id FROM Account WHERE SystemModstamp > 2020-01-01T00:00:00Z", None),
    ("SELECT Id FROM Account WHERE SystemModstamp >= 2020-01-01T00:00:00.000+00:00", None),
    ("SELECT Id FROM Account WHERE SystemModstamp < 2099-01-01T00:00:00-08:00", None),
    ("SELECT Id FROM Opportunity WHERE CloseDate <= 2099-12-31", None),
    ("SELECT Id FROM Account WHERE NumberOfEmployees >= 10 AND AnnualRevenue > 1.5", None),
    ("SELECT Id FROM Lead WHERE IsConverted = true", None),
    ("SELECT Id FROM Account WHERE Website = null", None),
    ("SELECT Id FROM Account ORDER BY Name DESC NULLS LAST, Id ASC", None),
    ("SELECT Id FROM Account ORDER BY SystemModstamp, Id LIMIT 2", None),
    ("SELECT Id FROM Account LIMIT 2 OFFSET 1", None),
    ("SELECT COUNT() FROM Contact", None),
    ("SELECT Id, IsDeleted, SystemModstamp FROM Account WHERE (SystemModstamp > "
     "2020-01-01T00:00:00Z) OR (SystemModstamp = 2020-01-01T00:00:00Z AND Id > '001')", None),
    ("SELECT ApiName, IsConverted FROM LeadStatus WHERE IsConverted = true", None),
]

MALFORMED = [
    ("SELECT FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Industry = 'A' AND Type = 'B' OR Name = 'C'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account ORDER Name", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ("DELETE FROM Account", "MALFORMED_QUERY"),
    ("SELECT Bogus__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Nope = 1", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE SystemModstamp > '2020-01-01T00:00:00Z'", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE SystemModstamp > 2020-01-01", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE IsDeleted = 'yes'", "INVALID_FIELD"),
    ("SELECT Id, Owner.Bogus FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Nowhere.Name FROM Contact", "INVALID_FIELD"),
    ("SELECT Id FROM Foo__c", "INVALID_TYPE"),
    ("SELECT Id FROM Account LIMIT 5 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("SELECT Id, Id FROM Account", "MALFORMED_QUERY"),
    ("SELECT Name, Id, name FROM Account", "MALFORMED_QUERY"),
    ("SELECT Account.Name, account.NAME FROM Contact", "MALFORMED_QUERY"),
]


@pytest.mark.parametrize(("soql", "_"), VALID)
def test_valid_shapes_are_answered(sf, soql, _):
    result = sf.query(soql)
    assert result["done"] is True
    assert isinstance(result["totalSize"], int)


@pytest.mark.parametrize(("soql", "code"), MALFORMED)
def test_malformed_queries_give_salesforce_error_codes(sf, soql, code):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query(soql)
    assert error_body(excinfo.value)[0]["errorCode"] == code


def test_where_clause_semantics(sf):
    everything = sf.query("SELECT Id, Industry, Name FROM Account")["records"]
    banking = [r["Id"] for r in everything if r["Industry"] == "Banking"]
    found = sf.query("SELECT Id FROM Account WHERE industry = 'BANKING'")["records"]
    assert sorted(r["Id"] for r in found) == sorted(banking)
    first = everything[0]["Name"][0]
    like = sf.query(f"SELECT Id FROM Account WHERE Name LIKE '{first.lower()}%'")["totalSize"]
    assert like == sum(1 for r in everything if r["Name"].lower().startswith(first.lower()))


def test_keyset_paging_query_returns_rows_after_the_watermark(sf):
    rows = sf.query("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id")["records"]
    middle = rows[len(rows) // 2]
    stamp = middle["SystemModstamp"].replace("+0000", "Z")
    after = sf.query(
        f"SELECT Id FROM Contact WHERE (SystemModstamp > {stamp}) OR "
        f"(SystemModstamp = {stamp} AND Id > '{middle['Id']}') ORDER BY SystemModstamp, Id"
    )["records"]
    assert [r["Id"] for r in after] == [r["Id"] for r in rows[len(rows) // 2 + 1 :]]


def test_duplicate_field_message_names_the_field(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Id, id FROM Account")
    assert error_body(excinfo.value)[0]["message"].endswith("duplicate field selected: Id")
    record = sf.query("SELECT Name, Account.Name FROM Contact LIMIT 1")["records"][0]
    assert list(record) == ["attributes", "Name", "Account"]


def stored(server, object_name: str) -> list[dict]:
    """Every live row straight from the store's table: the expectation is computed from this in
    Python, independently of the SOQL compiler under test."""
    with server.store.lock:
        cursor = server.store.db.execute(f'SELECT * FROM "{object_name}" WHERE "IsDeleted" = 0')
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]


def nocase(value: str | None) -> str:
    return (value or "").lower()


def ids(rows: Iterable[dict]) -> list[str]:
    return [r["Id"] for r in rows]


def like(pattern: str):
    regex = re.compile(
        "^" + "".join({"%": ".*", "_": "."}.get(c, re.escape(c)) for c in pattern) + "$",
        re.IGNORECASE | re.DOTALL,
    )
    return lambda value: value is not None and regex.match(value) is not None


@pytest.mark.sandbox_seed("small")
def test_query_shapes_return_exactly_the_expected_rows(sf, sandbox_server):
    accounts = stored(sandbox_server, "Account")
    contacts = stored(sandbox_server, "Contact")
    by_id = sorted(accounts, key=lambda r: r["Id"])
    industries = sorted({r["Industry"] for r in accounts})
    two = industries[:2]
    middle = sorted(r["CreatedDate"] for r in accounts)[len(accounts) // 2]
    stamp = datetime.fromtimestamp(middle / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    middle_second = middle // 1000 * 1000
    banking = {r["Id"] for r in accounts if r["Industry"] == "Banking"}
    employees = sorted(r["NumberOfEmployees"] or 0 for r in accounts)[len(accounts) // 2]
    by_website = sorted(
        sorted(by_id, key=lambda r: nocase(r["Name"])),
        key=lambda r: nocase(r["Website"]), reverse=True,
    )

    cases = {
        f"SELECT Id FROM Account WHERE Industry IN ('{two[0]}', '{two[1]}') ORDER BY Id":
            ids(r for r in by_id if r["Industry"] in two),
        f"SELECT Id FROM Account WHERE Industry NOT IN ('{two[0]}', '{two[1]}') ORDER BY Id":
            ids(r for r in by_id if r["Industry"] not in two),
        "SELECT Id FROM Account ORDER BY Industry DESC, NumberOfEmployees DESC NULLS LAST, Id":
            ids(sorted(
                sorted(sorted(accounts, key=lambda r: r["Id"]),
                       key=lambda r: (r["NumberOfEmployees"] is None,
                                      -(r["NumberOfEmployees"] or 0))),
                key=lambda r: nocase(r["Industry"]), reverse=True,
            )),
        "SELECT Id FROM Account ORDER BY Website DESC NULLS FIRST, Name ASC, Id":
            ids(r for r in by_website if r["Website"] is None)
            + ids(r for r in by_website if r["Website"] is not None),
        f"SELECT Id FROM Account WHERE CreatedDate >= {stamp} ORDER BY Id":
            ids(r for r in by_id if r["CreatedDate"] >= middle_second),
        f"SELECT Id FROM Account WHERE CreatedDate < {stamp} ORDER BY Id":
            ids(r for r in by_id if r["CreatedDate"] < middle_second),
        "SELECT Id FROM Account WHERE Name LIKE '%a_e%' ORDER BY Id":
            ids(r for r in by_id if like("%a_e%")(r["Name"])),
        "SELECT Id FROM Contact WHERE LastName LIKE 's%' ORDER BY Id":
            ids(r for r in sorted(contacts, key=lambda r: r["Id"]) if like("s%")(r["LastName"])),
        f"SELECT Id FROM Account WHERE (Industry = '{two[0]}' OR Industry = '{two[1]}' OR "
        f"NumberOfEmployees > {employees}) AND (Type != null) ORDER BY Id":
            ids(r for r in by_id
                if (r["Industry"] in two or (r["NumberOfEmployees"] or 0) > employees)
                and r["Type"] is not None),
        "SELECT Id FROM Contact WHERE Account.Industry = 'Banking' ORDER BY Id":
            ids(r for r in sorted(contacts, key=lambda r: r["Id"]) if r["AccountId"] in banking),
    }
    for soql, expected in cases.items():
        got = [r["Id"] for r in sf.query_all(soql)["records"]]
        assert expected, soql
        assert got == expected, soql
