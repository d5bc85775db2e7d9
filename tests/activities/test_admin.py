"""The activity changelist: read-only, filtered by type, source, date, attribute; people search."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from activities.admin import TRACKED_OBJECTS
from activities.models import Activity
from marketo_sync.sync.models import SyncState
from marketo_sync.sync.selectors import synced_field_names

pytestmark = pytest.mark.django_db

URL = reverse("admin:activities_activity_changelist")


@pytest.fixture
def activities():
    ada = Contact.objects.create(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    bob = Contact.objects.create(first_name="Bob", last_name="Stone", email="bob@example.org")
    return [
        Activity.objects.create(contact=ada, activity_type="change_data_value",
                                attribute="Industry", old_value="old-ada", new_value="new-ada",
                                source="local_edit", created_at="2026-01-01T00:00:00Z"),
        Activity.objects.create(contact=bob, activity_type="convert_person", source="flow",
                                old_value="old-bob", created_at="2020-01-01T00:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("activity_type__exact=convert_person", "old-bob", "old-ada"),
        ("source__exact=local_edit", "old-ada", "old-bob"),
        ("attribute=Industry", "old-ada", "old-bob"),
        (
            "created_at__gte=2025-12-31+00:00%2B00:00&created_at__lt=2026-01-02+00:00%2B00:00",
            "old-ada",
            "old-bob",
        ),
        ("q=lovelace", "old-ada", "old-bob"),
        ("q=bob@example.org", "old-bob", "old-ada"),
    ],
)
def test_filters_and_search(marketer_client, activities, query, shown, hidden):
    text = marketer_client.get(f"{URL}?{query}").content.decode()
    assert shown in text and hidden not in text


def test_the_log_is_read_only_even_for_superusers(admin_client, activities):
    change = reverse("admin:activities_activity_change", args=[activities[0].pk])
    assert 'name="new_value"' not in admin_client.get(change).content.decode()
    admin_client.post(change, {"new_value": "forged"})
    assert admin_client.get(reverse("admin:activities_activity_add")).status_code == 403
    activities[0].refresh_from_db()
    assert activities[0].new_value == "new-ada"


def test_attribute_choices_come_from_the_mappings_and_describes_not_the_log(
    django_assert_max_num_queries,
):
    SyncState.objects.create(
        object_name="Account", describe={"fields": ["Id", "Industry", "Tier__c"]}
    )
    with django_assert_max_num_queries(1):
        choices = synced_field_names(object_names=TRACKED_OBJECTS)
    assert {"Industry", "Email", "OwnerId", "Tier__c"} <= set(choices)
    assert "Id" not in choices and "SystemModstamp" not in choices


def test_the_log_links_person_and_account_and_finds_by_account_name(marketer_client):
    account = Account.objects.create(sfdc_id="0019000000B98deAAB", name="Blue Harbor")
    ada = Contact.objects.create(last_name="Lovelace", account=account)
    Activity.objects.create(contact=ada, activity_type="change_data_value", attribute="Industry",
                            new_value="shown", source="sfdc_sync", created_at=timezone.now())
    other = Contact.objects.create(last_name="Stone")
    Activity.objects.create(contact=other, activity_type="change_data_value", new_value="other",
                            source="sfdc_sync", created_at=timezone.now())
    text = marketer_client.get(f"{URL}?q=harbor").content.decode()
    assert "shown" in text and "other" not in text
    assert reverse("admin:accounts_contact_change", args=[ada.pk]) in text
    assert reverse("admin:accounts_account_change", args=[account.pk]) in text
