"""Local edits: only what the marketer changed is written, marked, and logged as activities."""

from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.services import account_apply_local_edit, contact_apply_local_edit
from activities.models import Activity
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory.create(
        sfdc_id="0019000000B98deAAB", name="Blue Harbor", industry="Retail",
        website="https://bh.example", annual_revenue=Decimal("120000000.00"),
    )
    ContactFactory.create_batch(3, account=account)
    ContactFactory.create(account=account, is_deleted=True)
    return account


def test_only_the_changed_fields_are_written(account, marketer):
    stale = Account.objects.get(pk=account.pk)
    Account.objects.filter(pk=account.pk).update(website="https://synced.example", name="Synced")

    edit = account_apply_local_edit(account=stale, changes={"industry": "Banking"}, user=marketer)

    account.refresh_from_db()
    assert (account.industry, account.website, account.name) == (
        "Banking", "https://synced.example", "Synced",
    )
    assert edit.fields == ["Industry"]
    assert account.locally_edited_by == marketer and account.locally_edited_at is not None


def test_activities_per_live_contact_with_salesforce_names_and_text_values(account, marketer):
    edit = account_apply_local_edit(
        account=account,
        changes={"industry": "Banking", "annual_revenue": Decimal("250000.00")},
        user=marketer,
    )

    assert edit.activities_logged == 6  # 2 fields x 3 live contacts (the deleted one is skipped)
    rows = set(
        Activity.objects.values_list("attribute", "old_value", "new_value", "source", "user")
    )
    assert rows == {
        ("Industry", "Retail", "Banking", "local_edit", marketer.pk),
        ("AnnualRevenue", "120000000", "250000", "local_edit", marketer.pk),
    }
    assert not Activity.objects.filter(contact__is_deleted=True).exists()


def test_unchanged_values_write_and_log_nothing(account, marketer):
    edit = account_apply_local_edit(account=account, changes={"industry": "Retail"}, user=marketer)

    account.refresh_from_db()
    assert edit.fields == [] and edit.activities_logged == 0
    assert account.locally_edited_at is None
    assert not Activity.objects.exists()


def test_the_activity_limit_skips_activities_but_keeps_the_edit(account, marketer, settings):
    settings.ACTIVITY_CONTACT_LIMIT = 2

    edit = account_apply_local_edit(account=account, changes={"industry": "Banking"}, user=marketer)

    account.refresh_from_db()
    assert account.industry == "Banking" and edit.activities_logged == 0
    assert not Activity.objects.exists()


@pytest.mark.parametrize("field", ["sfdc_id", "sfdc_values", "locally_edited_at", "owner"])
def test_salesforce_ids_and_system_fields_are_not_editable(account, marketer, field):
    with pytest.raises(ValueError, match="not locally editable"):
        account_apply_local_edit(account=account, changes={field: "x"}, user=marketer)
    account.refresh_from_db()
    assert account.sfdc_id == "0019000000B98deAAB" and account.locally_edited_at is None


def test_a_person_edit_changes_and_logs_that_person_only(account, marketer):
    person, other = account.contacts.filter(is_deleted=False)[:2]

    edit = contact_apply_local_edit(
        contact=person, changes={"email": "new@bh.example", "title": ""}, user=marketer
    )

    person.refresh_from_db()
    assert person.email == "new@bh.example" and person.locally_edited_by == marketer
    assert edit.fields == ["Email"]
    assert list(Activity.objects.values_list("contact", "attribute", "new_value", "source")) == [
        (person.pk, "Email", "new@bh.example", "local_edit")
    ]
    other.refresh_from_db()
    assert other.email == ""
