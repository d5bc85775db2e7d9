"""Constraints live in the database, not only in Python."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import Account, Contact
from marketo_sync.salesforce.ids import normalize_sfdc_id

pytestmark = pytest.mark.django_db

ACCOUNT_ID = "0019000000B98deAAB"


def test_duplicate_account_sfdc_id_is_rejected_by_the_database():
    Account.objects.create(sfdc_id=ACCOUNT_ID, name="Blue Harbor")
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(sfdc_id=ACCOUNT_ID, name="Blue Harbor again")


def test_15_char_id_is_stored_in_the_18_char_form_so_it_cannot_duplicate():
    Account.objects.create(sfdc_id="0019000000B98de", name="Blue Harbor")
    assert Account.objects.get().sfdc_id == ACCOUNT_ID
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(sfdc_id=ACCOUNT_ID, name="Same record, long form")


def test_duplicate_contact_and_lead_ids_are_rejected():
    Contact.objects.create(sfdc_id="0039000000AbCdEAAZ"[:15], sfdc_type="contact", last_name="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(sfdc_id="0039000000AbCdE", sfdc_type="contact", last_name="B")
    Contact.objects.create(sfdc_lead_id="00Q9000000AbCdE", last_name="Lead")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(sfdc_lead_id="00Q9000000AbCdE", last_name="Lead again")


def test_people_not_in_salesforce_may_coexist():
    Contact.objects.create(last_name="One")
    Contact.objects.create(last_name="Two")
    assert Contact.objects.count() == 2


def test_a_contact_type_person_needs_a_contact_id():
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(sfdc_type="contact", last_name="No id")


def test_contact_belongs_to_at_most_one_account_and_account_has_many():
    first = Account.objects.create(sfdc_id=ACCOUNT_ID, name="First")
    second = Account.objects.create(sfdc_id="0019000000oC4HkAAK", name="Second")
    people = [Contact.objects.create(last_name=f"P{i}", account=first) for i in range(3)]
    assert first.contacts.count() == 3
    people[0].account = second
    people[0].save()
    assert first.contacts.count() == 2
    assert list(second.contacts.all()) == [people[0]]
    first.delete()
    assert Contact.objects.filter(account__isnull=True).count() == 2


def test_malformed_id_written_past_model_validation_is_rejected_by_a_check_constraint():
    with (
        pytest.raises(IntegrityError, match="account_sfdc_id_is_18_chars"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO accounts_account (sfdc_id, name, type, industry, billing_street,"
            " billing_city, billing_state, billing_postal_code, billing_country, website,"
            " phone, master_record_sfdc_id, sfdc_values, custom_fields, is_deleted)"
            " VALUES ('001-bad', 'x', '', '', '', '', '', '', '', '', '', '', '{}', '{}',"
            " false)"
        )


def test_bad_id_gives_a_validation_error():
    account = Account(sfdc_id="not-an-id", name="x")
    with pytest.raises(ValidationError) as excinfo:
        account.full_clean()
    assert "is not a Salesforce id" in str(excinfo.value.message_dict["sfdc_id"])


def test_saving_a_wrong_checksum_suffix_is_refused_and_15_chars_are_stored_as_18():
    with pytest.raises(ValidationError, match="checksum suffix should be"), transaction.atomic():
        Account.objects.create(sfdc_id="0019000000B98deAAC", name="wrong suffix")
    account = Account.objects.create(sfdc_id="0019000000B98de", name="short form")
    account.refresh_from_db()
    assert account.sfdc_id == normalize_sfdc_id("0019000000B98de") != "0019000000B98deAAC"


def test_unmodelled_salesforce_fields_are_kept_in_custom_fields():
    Account.objects.create(
        sfdc_id=ACCOUNT_ID, name="x", custom_fields={"Region__c": "EMEA", "Tier__c": 2}
    )
    assert Account.objects.filter(custom_fields__contains={"Region__c": "EMEA"}).exists()


def test_the_person_table_carries_no_index_that_no_query_uses():
    """Every index costs every sync write of the largest table: LIKE (pattern_ops) indexes only
    for the People search's prefixes, none on the id columns, only leads in the company-field
    indexes, only waiting contacts in the account-id index, and only deleted or locally edited
    people in the indexes of those flags."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'accounts_contact'"
        )
        indexes = dict(cursor.fetchall())
    assert sorted(name for name, definition in indexes.items() if "pattern_ops" in definition) \
        == sorted(f"contact_{column}_prefix_idx"
                  for column in ("first_name", "last_name", "email", "company"))
    assert all("upper((" in indexes[f"contact_{c}_prefix_idx"] for c in ("email", "company"))
    assert all("WHERE ((sfdc_type)::text = 'lead'::text)" in definition
               for name, definition in indexes.items() if name.startswith("lead_"))
    assert not [name for name, definition in indexes.items() if "lower(" in definition]
    assert "WHERE ((account_id IS NULL)" in indexes["contact_waiting_account_idx"]
    assert "UNIQUE" in indexes["contact_sfdc_id_unique"]
    assert "UNIQUE" in indexes["contact_sfdc_lead_id_unique"]
    assert "WHERE is_deleted" in indexes["contact_deleted_idx"]
    assert "WHERE (locally_edited_by_id IS NOT NULL)" in indexes["contact_edited_by_idx"]
    assert sorted(name for name, definition in indexes.items()
                  if "(is_deleted)" in definition or "(locally_edited_by_id)" in definition) \
        == ["contact_deleted_idx", "contact_edited_by_idx"]
