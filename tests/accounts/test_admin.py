"""The marketers' admin through the Django test client: rules, permissions, query counts."""

import pytest
from django.urls import reverse

from accounts.models import Account, Contact
from activities.models import Activity

pytestmark = pytest.mark.django_db

ACCOUNT_ID = "0019000000B98deAAB"


@pytest.fixture
def account():
    account = Account.objects.create(
        sfdc_id=ACCOUNT_ID, name="Blue Harbor", industry="Retail", website="https://bh.example",
        sfdc_values={"Name": "Blue Harbor", "Industry": "Retail", "Website": "https://bh.example"},
    )
    Contact.objects.bulk_create(
        [Contact(last_name=f"Person {i}", email=f"p{i}@bh.example", account=account)
         for i in range(3)]
    )
    return account


def contact_form(contact, **changes):
    """What the browser posts: current values, the hidden initial values, and the changes."""
    account = contact.account
    data = {}
    for name in ("first_name", "last_name", "email", "phone", "title"):
        data[name] = data[f"initial-{name}"] = getattr(contact, name)
    for column in ("name", "type", "industry", "annual_revenue", "number_of_employees",
                   "billing_street", "billing_city", "billing_state", "billing_postal_code",
                   "billing_country", "website", "phone"):
        value = getattr(account, column)
        data[f"account_{column}"] = data[f"initial-account_{column}"] = (
            "" if value is None else value
        )
    data.update(changes)
    return data


def test_contact_page_shows_the_shared_account_and_the_warning(marketer_client, account):
    contact = account.contacts.first()
    page = marketer_client.get(reverse("admin:accounts_contact_change", args=[contact.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Account: Blue Harbor — shared by 3 contacts" in text
    assert "not sent to Salesforce" in text
    assert "next Salesforce update of this account overwrites all of its account data" in text
    assert "add_id_account" not in text and "/admin/accounts/account/add/" not in text


def test_editing_the_account_from_a_contact_changes_it_for_every_contact(
    marketer_client, marketer, account
):
    first, second, _ = account.contacts.order_by("pk")
    response = marketer_client.post(
        reverse("admin:accounts_contact_change", args=[first.pk]),
        contact_form(first, account_industry="Banking"),
    )
    assert response.status_code == 302, response.content
    second.refresh_from_db()
    assert second.account.industry == "Banking"
    account.refresh_from_db()
    assert account.locally_edited_by == marketer and account.locally_edited_at
    local = Activity.objects.filter(source="local_edit", attribute="Industry")
    assert local.count() == 3
    assert set(local.values_list("old_value", "new_value")) == {("Retail", "Banking")}


def test_a_stale_form_does_not_revert_fields_the_sync_changed(marketer_client, account):
    contact = account.contacts.first()
    stale = contact_form(contact, account_industry="Banking")
    Account.objects.filter(pk=account.pk).update(website="https://synced.example")
    marketer_client.post(reverse("admin:accounts_contact_change", args=[contact.pk]), stale)
    account.refresh_from_db()
    assert account.industry == "Banking"
    assert account.website == "https://synced.example"


def test_divergence_view_lists_local_vs_stored_salesforce_values(marketer_client, account):
    contact = account.contacts.first()
    marketer_client.post(
        reverse("admin:accounts_contact_change", args=[contact.pk]),
        contact_form(contact, account_industry="Banking"),
    )
    listing = marketer_client.get(
        reverse("admin:accounts_account_changelist") + "?locally_edited=yes"
    )
    assert "Blue Harbor" in listing.content.decode()
    page = marketer_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    text = page.content.decode()
    assert "<td>Industry</td><td>Banking</td><td>Retail</td>" in text
    untouched = marketer_client.get(
        reverse("admin:accounts_account_changelist") + "?locally_edited=no"
    )
    assert "Blue Harbor" not in untouched.content.decode()


@pytest.mark.parametrize("user_fixture", ["marketer_client", "admin_client"])
def test_no_one_can_add_an_account(request, user_fixture, account):
    client = request.getfixturevalue(user_fixture)
    response = client.get(reverse("admin:accounts_account_add"), follow=True)
    assert Account.objects.count() == 1
    assert "Convert Person is the only way" in response.content.decode()
    changelist = client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "/admin/accounts/account/add/" not in changelist
    client.post(reverse("admin:accounts_account_add"), {"name": "Sneaky", "sfdc_id": "x"})
    assert Account.objects.count() == 1


def test_marketers_cannot_change_salesforce_ids(marketer_client, account):
    page = marketer_client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    assert 'name="sfdc_id"' not in page.content.decode()
    assert ACCOUNT_ID in page.content.decode()


def test_contact_timeline_is_newest_first_and_paginated(marketer_client, account):
    contact = account.contacts.first()
    Activity.objects.bulk_create([
        Activity(contact=contact, activity_type="change_data_value", attribute=f"F{i}",
                 source="sfdc_sync", created_at=f"2026-01-{i + 1:02d}T00:00:00Z")
        for i in range(30)
    ])
    text = marketer_client.get(
        reverse("admin:accounts_contact_change", args=[contact.pk])
    ).content.decode()
    assert "Activity timeline (30)" in text
    assert text.index("F29") < text.index("F28")
    assert "F0<" not in text  # on page 2


def test_activity_changelist_filters_and_search(marketer_client, account):
    contact = account.contacts.first()
    Activity.objects.create(contact=contact, activity_type="change_data_value",
                            attribute="Industry", source="local_edit",
                            created_at="2026-01-01T00:00:00Z")
    url = reverse("admin:activities_activity_changelist")
    filtered = marketer_client.get(url + "?source__exact=local_edit&attribute=Industry")
    assert filtered.status_code == 200
    found = marketer_client.get(url + f"?q={contact.email}")
    assert contact.email in found.content.decode()


@pytest.mark.parametrize("page", ["contact", "account", "contacts", "accounts"])
def test_query_counts_do_not_grow_with_contacts(admin_client, django_assert_max_num_queries, page):
    small = Account.objects.create(sfdc_id=ACCOUNT_ID, name="Small")
    large = Account.objects.create(sfdc_id="0019000000oC4HkAAK", name="Large")
    Contact.objects.bulk_create([Contact(last_name="s", account=small) for _ in range(10)])
    Contact.objects.bulk_create([Contact(last_name="l", account=large) for _ in range(1000)])
    urls = {
        "contact": lambda a: reverse("admin:accounts_contact_change", args=[a.contacts.first().pk]),
        "account": lambda a: reverse("admin:accounts_account_change", args=[a.pk]),
        "contacts": lambda a: reverse("admin:accounts_contact_changelist"),
        "accounts": lambda a: reverse("admin:accounts_account_changelist"),
    }
    for account in (small, large):
        url = urls[page](account)
        with django_assert_max_num_queries(15):
            assert admin_client.get(url).status_code == 200


def test_sync_status_page_and_its_buttons(marketer_client, admin_client):
    status_url = reverse("admin:sync_status")
    assert marketer_client.get(status_url).status_code == 200
    assert "Sync now" not in marketer_client.get(status_url).content.decode()
    assert marketer_client.post(reverse("admin:sync_now")).status_code == 403
    assert marketer_client.post(reverse("admin:sync_pause"), {"paused": "1"}).status_code == 403
    assert "Sync now" in admin_client.get(status_url).content.decode()
    admin_client.post(reverse("admin:sync_pause"), {"paused": "1"})
    assert "Resume sync" in admin_client.get(status_url).content.decode()
    assert admin_client.get(reverse("admin:sync_now")).status_code == 405
