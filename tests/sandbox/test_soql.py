"""Table-driven: every query shape of reference §4, and malformed queries with the exact code."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

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
    assert excinfo.value.content[0]["errorCode"] == code


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
    assert excinfo.value.content[0]["message"].endswith("duplicate field selected: Id")
    record = sf.query("SELECT Name, Account.Name FROM Contact LIMIT 1")["records"][0]
    assert list(record) == ["attributes", "Name", "Account"]
