"""Record identity as Salesforce gives it: attribute urls name the real Id, 15-char ids work."""

import pytest
from simple_salesforce.exceptions import SalesforceResourceNotFound

from marketo_sync.salesforce.ids import normalize_sfdc_id


def test_attributes_url_names_the_record_when_id_is_not_selected(sf, sandbox):
    with_id = sf.query("SELECT Id, Name FROM Account ORDER BY Name")["records"]
    without_id = sf.query("SELECT Name, Account.Name FROM Contact ORDER BY Id")["records"]
    by_name = sf.query("SELECT Name FROM Account ORDER BY Name")["records"]
    assert [r["attributes"]["url"] for r in by_name] == [
        f"/services/data/v59.0/sobjects/Account/{r['Id']}" for r in with_id
    ]
    contact_ids = [r["Id"] for r in sf.query("SELECT Id FROM Contact ORDER BY Id")["records"]]
    assert [r["attributes"]["url"].rsplit("/", 1)[1] for r in without_id] == contact_ids
    assert "Id" not in without_id[0]


def test_bulk_results_without_id_keep_their_columns(sf):
    (page,) = sf.bulk2.Account.query("SELECT Name FROM Account ORDER BY Name", wait=0.1)
    names = [r["Name"] for r in sf.query("SELECT Name FROM Account ORDER BY Name")["records"]]
    assert page.splitlines() == ['"Name"', *[f'"{n}"' for n in names]]


def test_get_patch_delete_accept_a_15_character_id(sf, sandbox):
    record_id = sf.Account.create({"Name": "Short Id Ltd"})["id"]
    short = record_id[:15]
    assert short != record_id and normalize_sfdc_id(short) == record_id
    fetched = sf.Account.get(short)
    assert fetched["Id"] == record_id
    assert fetched["attributes"]["url"].endswith(record_id)
    assert sf.Account.update(short, {"Industry": "Retail"}) == 204
    assert sandbox.control.get("Account", record_id)["Industry"] == "Retail"
    contact = sf.Contact.create({"LastName": "Short", "AccountId": short})["id"]
    assert sf.Contact.get(contact[:15])["AccountId"] == record_id
    assert sf.Account.delete(short) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(record_id)


def test_control_api_accepts_a_15_character_id(sf, sandbox):
    record_id = sf.Account.create({"Name": "Short Control"})["id"]
    sandbox.control.update("Account", record_id[:15], {"Industry": "Banking"})
    assert sf.Account.get(record_id)["Industry"] == "Banking"


@pytest.mark.parametrize("bad", ["001", "0015g0000000001AAZ", "not-an-id"])
def test_ids_that_are_not_ids_are_not_found(sf, bad):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(bad)
