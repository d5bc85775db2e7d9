import pytest

from accounts.models import Account
from activities.models import Activity
from activities.services import account_changes_log, salesforce_value_text
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def make_account(sfdc_id: str, contacts: int, deleted: int = 0) -> Account:
    account = AccountFactory.create(sfdc_id=sfdc_id)
    ContactFactory.create_batch(contacts, account=account)
    ContactFactory.create_batch(deleted, account=account, is_deleted=True)
    return account


def test_one_activity_per_field_per_live_contact():
    account = make_account("0019000000B98deAAB", contacts=3, deleted=2)
    result = account_changes_log(
        changes_by_account={
            account.pk: [("Industry", "Retail", "Banking"), ("NumberOfEmployees", 10, None)]
        },
        source=Activity.Source.SFDC_SYNC,
        reason="Salesforce update",
    )
    assert result.activities_logged == 6
    assert result.accounts_skipped == 0
    industry = Activity.objects.filter(attribute="Industry")
    assert industry.count() == 3
    assert set(industry.values_list("old_value", "new_value")) == {("Retail", "Banking")}
    assert set(
        Activity.objects.filter(attribute="NumberOfEmployees").values_list("old_value", "new_value")
    ) == {("10", "")}
    assert not Activity.objects.filter(contact__is_deleted=True).exists()


def test_limit_is_inclusive(settings):
    settings.ACTIVITY_CONTACT_LIMIT = 4
    at_limit = make_account("0019000000B98deAAB", contacts=4, deleted=3)
    over_limit = make_account("0019000000oC4HkAAK", contacts=5)
    result = account_changes_log(
        changes_by_account={
            at_limit.pk: [("Industry", "A", "B")],
            over_limit.pk: [("Industry", "A", "B")],
        },
        source=Activity.Source.LOCAL_EDIT,
    )
    assert result.activities_logged == 4
    assert result.accounts_skipped == 1
    assert not Activity.objects.filter(contact__account=over_limit).exists()


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("x", "x"), (True, "true"), (False, "false"), (12, "12"), (1.5, "1.5")],
)
def test_values_are_written_as_salesforce_json_text(value, text):
    assert salesforce_value_text(value) == text
