"""Every admin page costs the same number of queries for an account of 10 and of 1,000 contacts."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from activities.models import Activity

pytestmark = pytest.mark.django_db

BOUND = 15  # measured: 6 to 14 queries per page (run with -s to see each)

PAGES: dict[str, Callable[[Account], str]] = {
    "contact page": lambda a: reverse(
        "admin:accounts_contact_change", args=[a.contacts.first().pk]
    ),
    "account page": lambda a: reverse("admin:accounts_account_change", args=[a.pk]),
    "people": lambda a: reverse("admin:accounts_contact_changelist"),
    "people by industry": lambda a: (
        reverse("admin:accounts_contact_changelist") + f"?industry={a.industry}"
    ),
    "people by company and account": lambda a: (
        reverse("admin:accounts_contact_changelist")
        + f"?industry={a.industry}&country=&employees_min=0&account__type=&has_email=yes"
    ),
    "accounts": lambda a: reverse("admin:accounts_account_changelist"),
    "accounts with local edits": lambda a: (
        reverse("admin:accounts_account_changelist") + "?locally_edited=yes"
    ),
    "divergence page": lambda a: reverse("admin:accounts_account_local_edits"),
    "activities": lambda a: reverse("admin:activities_activity_changelist"),
    "timeline search": lambda a: reverse("admin:activities_activity_changelist") + "?q=p1",
    "sync status": lambda a: reverse("admin:sync_status"),
}


def account_with_contacts(sfdc_id: str, name: str, contacts: int) -> Account:
    account = Account.objects.create(
        sfdc_id=sfdc_id,
        name=name,
        industry=name,
        sfdc_values={"Industry": "Retail"},
        locally_edited_at=timezone.now(),
    )
    people = Contact.objects.bulk_create(
        [
            Contact(last_name=f"{name} {i}", email=f"p{i}@{name}.example", account=account)
            for i in range(contacts)
        ]
    )
    Activity.objects.bulk_create(
        Activity(
            contact=person,
            activity_type="change_data_value",
            attribute="Industry",
            source="sfdc_sync",
            created_at=timezone.now(),
        )
        for person in people
    )
    return account


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_contacts(
    marketer_client, django_assert_max_num_queries, page
):
    small = account_with_contacts("0019000000B98deAAB", "small", 10)
    marketer_client.get(PAGES[page](small))  # warm the content-type cache
    counts = []
    for account in (small, account_with_contacts("0019000000oC4HkAAK", "large", 1000)):
        url = PAGES[page](account)
        with django_assert_max_num_queries(BOUND), CaptureQueriesContext(connection) as queries:
            assert marketer_client.get(url).status_code == 200
        counts.append(len(queries))
    print(f"{page}: {counts[0]} queries with 10 contacts, {counts[1]} with 1,000")
    assert counts[0] == counts[1]
