"""Compound address fields as Salesforce describes and serves them: type `address`, parts naming
their compound, read whole through REST, refused by Bulk queries."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.helpers.salesforce import error_body

PARTS = ("Street", "City", "State", "PostalCode", "Country")
COMPOUNDS = {
    "Account": ("Billing", "Shipping"),
    "Contact": ("Mailing", "Other"),
    "Lead": ("",),
}


@pytest.mark.parametrize("object_name", sorted(COMPOUNDS))
def test_describe_lists_compound_addresses_and_their_parts(sf, object_name):
    fields = {f["name"]: f for f in getattr(sf, object_name).describe()["fields"]}
    names = list(fields)
    for prefix in COMPOUNDS[object_name]:
        compound = fields[f"{prefix}Address"]
        assert compound["type"] == "address" and compound["soapType"] == "urn:address"
        assert compound["compoundFieldName"] is None
        assert not compound["createable"] and not compound["updateable"]
        assert not compound["filterable"] and not compound["sortable"]
        for part in PARTS:
            component = fields[f"{prefix}{part}"]
            assert component["compoundFieldName"] == f"{prefix}Address"
            assert component["type"] in {"string", "textarea"}
            assert names.index(component["name"]) < names.index(compound["name"])


def test_other_fields_name_no_compound(sf):
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["Name"]["compoundFieldName"] is None
    assert fields["Industry"]["compoundFieldName"] is None


def test_rest_query_returns_the_address_as_one_object(sf):
    account = sf.Account.create({"Name": "Addressed", "ShippingStreet": "1 Pier Rd",
                                 "ShippingCity": "Oslo", "ShippingCountry": "Norway"})["id"]
    (record,) = sf.query(
        f"SELECT Id, MailingAddress, Account.ShippingAddress FROM Contact "
        f"WHERE Id = '{sf.Contact.create({'LastName': 'C', 'AccountId': account})['id']}'"
    )["records"]
    assert record["Account"]["ShippingAddress"] == {
        "city": "Oslo", "country": "Norway", "geocodeAccuracy": None, "latitude": None,
        "longitude": None, "postalCode": None, "state": None, "street": "1 Pier Rd",
    }
    assert record["MailingAddress"] is None
    got = sf.Account.get(account)
    assert got["ShippingAddress"]["city"] == "Oslo" and got["BillingAddress"] is None


def test_rest_query_of_an_empty_address_is_null(sf):
    lead = sf.Lead.create({"LastName": "L", "Company": "Co"})["id"]
    (record,) = sf.query(f"SELECT Address FROM Lead WHERE Id = '{lead}'")["records"]
    assert record["Address"] is None


def test_compound_fields_cannot_filter_or_sort(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        sf.query("SELECT Id FROM Account ORDER BY BillingAddress")
    assert error_body(excinfo.value)[0]["errorCode"] == "INVALID_FIELD"


def test_bulk_query_of_a_compound_field_is_refused_as_salesforce_does(sf):
    with pytest.raises(SalesforceMalformedRequest) as excinfo:
        list(sf.bulk2.Account.query("SELECT Id, BillingAddress FROM Account", wait=0.1))
    assert error_body(excinfo.value) == [
        {"message": "Selecting compound data not supported in Bulk Query",
         "errorCode": "API_ERROR"}
    ]


def test_bulk_query_of_the_parts_works(sf):
    sf.Contact.create({"LastName": "Mailed", "MailingCity": "Lyon", "OtherCity": "Nice"})
    pages = list(sf.bulk2.Contact.query(
        "SELECT LastName, MailingCity, OtherCity FROM Contact WHERE LastName = 'Mailed'",
        wait=0.1,
    ))
    assert pages[0].splitlines() == ['"LastName","MailingCity","OtherCity"',
                                     '"Mailed","Lyon","Nice"']
