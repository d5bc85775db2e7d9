"""Account history: one row per account and changed field, for accounts of any size, written
with the change it records; the first arrival is the baseline."""

from datetime import UTC, datetime

import pytest

from accounts.models import Account, Contact
from activities.models import AccountHistory, Activity
from activities.services import account_changes_log
from tests.fixtures.sync import cycle

MODSTAMP = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def make_account(sfdc_id: str, contacts: int) -> Account:
    account = Account.objects.create(sfdc_id=sfdc_id, name=f"Account {sfdc_id}")
    Contact.objects.bulk_create(
        Contact(last_name=f"Live {i}", account=account) for i in range(contacts)
    )
    return account


@pytest.mark.django_db
def test_every_account_gets_history_rows_and_the_limit_only_governs_activities(settings):
    settings.ACTIVITY_CONTACT_LIMIT = 2
    small = make_account("0019000000B98deAAB", contacts=2)
    large = make_account("0019000000oC4HkAAK", contacts=3)
    account_changes_log(
        changes_by_account={
            small.pk: [("Industry", "Retail", "Banking")],
            large.pk: [("Industry", "Retail", "Banking"), ("Phone", None, "+1 555")],
        },
        source=Activity.Source.SFDC_SYNC,
        reason="Salesforce update",
        modstamps={small.pk: MODSTAMP, large.pk: MODSTAMP},
    )
    rows = AccountHistory.objects.order_by("account_id", "attribute")
    assert list(
        rows.values_list("account_id", "attribute", "old_value", "new_value", "activities_skipped")
    ) == [
        (small.pk, "Industry", "Retail", "Banking", False),
        (large.pk, "Industry", "Retail", "Banking", True),
        (large.pk, "Phone", "", "+1 555", True),
    ]
    assert {row.sfdc_modstamp for row in rows} == {MODSTAMP}
    assert Activity.objects.filter(contact__account=small).count() == 2
    assert not Activity.objects.filter(contact__account=large).exists()


@pytest.mark.django_db
def test_history_only_changes_log_no_activities():
    account = make_account("0019000000B98deAAB", contacts=2)
    result = account_changes_log(
        changes_by_account={},
        history_only={account.pk: [("IsDeleted", False, True)]},
        source=Activity.Source.SFDC_SYNC,
    )
    assert result.activities_logged == 0
    assert list(AccountHistory.objects.values_list("attribute", "old_value", "new_value")) == [
        ("IsDeleted", "false", "true")
    ]


@pytest.mark.django_db(transaction=True)
def test_salesforce_updates_deletes_and_undeletes_are_recorded_once_per_account(sandbox):
    first = cycle()
    assert not AccountHistory.objects.exists()  # the first values are the baseline
    control = sandbox.control
    account = Account.objects.exclude(contacts=None).order_by("sfdc_id").first()
    control.update("Account", account.sfdc_id, {"Industry": "Shipping"})
    run = cycle()
    entry = AccountHistory.objects.get()
    assert (entry.account, entry.attribute, entry.new_value) == (account, "Industry", "Shipping")
    assert entry.old_value == account.industry
    assert entry.sync_run.object_name == "Account"
    assert run.started_at <= entry.sync_run.started_at <= run.finished_at
    assert first.finished_at < entry.sync_run.started_at
    assert entry.source == Activity.Source.SFDC_SYNC
    account.refresh_from_db()
    assert entry.sfdc_modstamp == account.sfdc_last_modified
    contacts = account.contacts.filter(is_deleted=False).count()
    assert Activity.objects.filter(attribute="Industry").count() == contacts

    control.delete("Account", account.sfdc_id)
    cycle()
    control.undelete("Account", account.sfdc_id)
    cycle()
    assert list(
        AccountHistory.objects.filter(attribute="IsDeleted")
        .order_by("created_at", "pk")
        .values_list("old_value", "new_value")
    ) == [("false", "true"), ("true", "false")]
    assert AccountHistory.objects.count() == 3
