"""The marketers' admin through the Django test client: every editing rule and its warnings."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.admin import ACCOUNT_WARNING, PERSON_WARNING
from accounts.models import Account, Contact
from activities.models import AccountHistory, Activity
from marketo_sync.sync.models import SyncState
from tests.helpers.admin_forms import account_form, contact_form

pytestmark = pytest.mark.django_db

ACCOUNT_ID = "0019000000B98deAAB"


@pytest.fixture
def account():
    account = Account.objects.create(
        sfdc_id=ACCOUNT_ID, name="Blue Harbor", industry="Retail", website="https://bh.example",
        sfdc_values={"Name": "Blue Harbor", "Industry": "Retail", "Website": "https://bh.example"},
    )
    Contact.objects.bulk_create(
        [Contact(last_name=f"Person {i}", email=f"p{i}@bh.example", account=account,
                 sfdc_id=f"0039000000B98d{i}AAB", sfdc_type="contact")
         for i in range(3)]
    )
    return account


def contact_url(contact: Contact) -> str:
    return reverse("admin:accounts_contact_change", args=[contact.pk])


def account_url(account: Account) -> str:
    return reverse("admin:accounts_account_change", args=[account.pk])


def test_contact_page_shows_the_shared_account_and_the_warnings(marketer_client, account):
    text = marketer_client.get(contact_url(account.contacts.first())).content.decode()
    assert "Account: Blue Harbor — shared by 3 contacts" in text
    assert ACCOUNT_WARNING in text and PERSON_WARNING in text
    assert 'name="account_industry"' in text
    assert "add_id_account" not in text and "/admin/accounts/account/add/" not in text


def test_contact_page_shows_when_salesforce_created_the_person_read_only(
    marketer_client, account
):
    contact = account.contacts.first()
    Contact.objects.filter(pk=contact.pk).update(
        sfdc_created_at=datetime(2024, 5, 17, 8, 0, tzinfo=UTC)
    )
    text = marketer_client.get(contact_url(contact)).content.decode()
    assert "Created in Salesforce:" in text and "May 17, 2024" in text
    assert 'name="sfdc_created_at"' not in text
    marketer_client.post(contact_url(contact), contact_form(contact, sfdc_created_at="2020-01-01"))
    contact.refresh_from_db()
    assert contact.sfdc_created_at == datetime(2024, 5, 17, 8, 0, tzinfo=UTC)


def test_editing_the_account_from_a_contact_changes_it_for_every_contact(
    marketer_client, marketer, account
):
    first, second, _ = account.contacts.order_by("pk")
    response = marketer_client.post(
        contact_url(first), contact_form(first, account_industry="Banking"), follow=True
    )
    assert "not sent to Salesforce" in response.content.decode()
    assert Account.objects.count() == 1
    assert 'value="Banking"' in marketer_client.get(contact_url(second)).content.decode()
    account.refresh_from_db()
    assert account.locally_edited_by == marketer and account.locally_edited_at
    local = Activity.objects.filter(source="local_edit", attribute="Industry")
    assert local.count() == 3
    assert set(local.values_list("old_value", "new_value")) == {("Retail", "Banking")}


def test_the_local_edit_shows_on_every_contacts_timeline(marketer_client, account):
    first, second, _ = account.contacts.order_by("pk")
    marketer_client.post(contact_url(first), contact_form(first, account_industry="Banking"))
    text = marketer_client.get(contact_url(second)).content.decode()
    timeline = text[text.index('id="activity-timeline"'):]
    assert "Industry" in timeline and "Local edit (marketer)" in timeline


def test_a_stale_contact_form_does_not_revert_fields_the_sync_changed(marketer_client, account):
    contact = account.contacts.first()
    stale = contact_form(contact, account_industry="Banking")
    Account.objects.filter(pk=account.pk).update(website="https://synced.example")
    Contact.objects.filter(pk=contact.pk).update(email="synced@bh.example")
    marketer_client.post(contact_url(contact), stale)
    account.refresh_from_db()
    contact.refresh_from_db()
    assert account.industry == "Banking"
    assert account.website == "https://synced.example"
    assert contact.email == "synced@bh.example"


def test_a_stale_account_form_does_not_revert_fields_the_sync_changed(marketer_client, account):
    stale = account_form(account, industry="Banking")
    Account.objects.filter(pk=account.pk).update(name="Blue Harbor Group")
    marketer_client.post(account_url(account), stale)
    account.refresh_from_db()
    assert (account.name, account.industry) == ("Blue Harbor Group", "Banking")


def test_editing_the_person_is_local_and_logged(marketer_client, marketer, account):
    contact = account.contacts.first()
    marketer_client.post(contact_url(contact), contact_form(contact, title="CFO"))
    contact.refresh_from_db()
    account.refresh_from_db()
    assert contact.title == "CFO" and contact.locally_edited_by == marketer
    assert account.locally_edited_at is None
    assert list(Activity.objects.values_list("contact", "attribute", "new_value", "source")) == [
        (contact.pk, "Title", "CFO", "local_edit")
    ]


def test_the_account_page_edits_fields_but_never_salesforce_ids(marketer_client, account):
    page = marketer_client.get(account_url(account)).content.decode()
    assert ACCOUNT_WARNING in page and ACCOUNT_ID in page
    assert 'name="sfdc_id"' not in page and 'name="sfdc_last_modified"' not in page
    marketer_client.post(
        account_url(account),
        account_form(account, industry="Banking", sfdc_id="001000000000000AAA"),
    )
    account.refresh_from_db()
    assert (account.industry, account.sfdc_id) == ("Banking", ACCOUNT_ID)
    assert Activity.objects.filter(source="local_edit").count() == 3


def test_the_account_page_lists_its_contacts_paginated_with_the_count(marketer_client, account):
    Contact.objects.bulk_create(
        [Contact(last_name=f"More {i:02d}", account=account) for i in range(40)]
        + [Contact(last_name="Removed Person", account=account, is_deleted=True)]
    )
    first = marketer_client.get(account_url(account)).content.decode()
    assert "Contacts of this account (43)" in first and "page 1 of 2" in first
    second = marketer_client.get(account_url(account) + "?contacts_page=2").content.decode()
    assert "page 2 of 2" in second and "Removed Person" not in second


def test_divergence_page_shows_local_against_stored_salesforce_values(marketer_client, account):
    contact = account.contacts.first()
    marketer_client.post(contact_url(contact), contact_form(contact, account_industry="Banking"))
    page = marketer_client.get(reverse("admin:accounts_account_local_edits")).content.decode()
    assert "Industry (Industry)</td>" in page
    assert "<td>Banking</td>" in page and "<td>Retail</td>" in page
    assert "by marketer" in page
    listing = marketer_client.get(
        reverse("admin:accounts_account_changelist") + "?locally_edited=yes"
    ).content.decode()
    assert "Blue Harbor" in listing and "Industry" in listing
    assert "Local edits the next sync overwrites" in listing
    detail = marketer_client.get(account_url(account)).content.decode()
    assert "<td>Industry</td><td>Banking</td><td>Retail</td>" in detail
    untouched = marketer_client.get(
        reverse("admin:accounts_account_changelist") + "?locally_edited=no"
    )
    assert "Blue Harbor" not in untouched.content.decode()


def test_divergence_page_is_empty_without_local_edits(marketer_client, account):
    page = marketer_client.get(reverse("admin:accounts_account_local_edits")).content.decode()
    assert "No local edits" in page


def test_salesforce_overwrites_the_local_edit_and_empties_the_divergence_view(
    marketer_client, sandbox
):
    from marketo_sync.salesforce import client as client_module
    from marketo_sync.sync.cycle import sync_cycle

    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    account = Account.objects.filter(contacts__isnull=False).distinct().first()
    contact = account.contacts.first()
    marketer_client.post(contact_url(contact), contact_form(contact, account_industry="Banking"))
    assert Account.objects.filter(locally_edited_at__isnull=False).count() == 1

    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Retail"})
    cycle = sync_cycle()

    account.refresh_from_db()
    assert (account.industry, account.locally_edited_at) == ("Retail", None)
    assert cycle.local_edits_overwritten == 1
    page = marketer_client.get(reverse("admin:accounts_account_local_edits")).content.decode()
    assert "No local edits" in page
    assert Activity.objects.filter(
        contact=contact, source="sfdc_sync", attribute="Industry", old_value="Banking",
        new_value="Retail",
    ).exists()


@pytest.mark.parametrize("user_fixture", ["marketer_client", "admin_client"])
def test_no_one_can_add_an_account(request, user_fixture, account):
    client = request.getfixturevalue(user_fixture)
    response = client.get(reverse("admin:accounts_account_add"), follow=True)
    assert "Convert Person is the only way" in response.content.decode()
    changelist = client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "/admin/accounts/account/add/" not in changelist
    client.post(reverse("admin:accounts_account_add"), {"name": "Sneaky", "sfdc_id": "x"})
    client.post(reverse("admin:accounts_contact_add"), {"last_name": "Sneaky"})
    assert Account.objects.count() == 1 and Contact.objects.count() == 3
    contact_page = client.get(contact_url(account.contacts.first())).content.decode()
    assert "add_id_account" not in contact_page and "account/add" not in contact_page
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/accounts/account/add/" not in index


def test_no_one_can_delete_accounts_or_people(admin_client, account):
    delete = reverse("admin:accounts_account_delete", args=[account.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert Account.objects.count() == 1


def test_view_only_staff_see_the_account_read_only(staff_client, account):
    viewer = staff_client("accounts.view_contact", "accounts.view_account")
    contact = account.contacts.first()
    page = viewer.get(contact_url(contact)).content.decode()
    assert "Account: Blue Harbor — shared by 3 contacts" in page
    assert 'name="account_industry"' not in page and "<td>Retail</td>" in page
    assert viewer.post(contact_url(contact), contact_form(contact)).status_code == 403


def test_changing_people_without_the_account_permission_leaves_the_account_alone(
    staff_client, account
):
    editor = staff_client("accounts.view_contact", "accounts.change_contact")
    contact = account.contacts.first()
    assert 'name="account_industry"' not in editor.get(contact_url(contact)).content.decode()
    editor.post(contact_url(contact), contact_form(contact, title="CFO",
                                                   account_industry="Banking"))
    account.refresh_from_db()
    contact.refresh_from_db()
    assert (contact.title, account.industry) == ("CFO", "Retail")


def test_contact_timeline_is_newest_first_and_paginated(marketer_client, account):
    contact = account.contacts.first()
    Activity.objects.bulk_create([
        Activity(contact=contact, activity_type="change_data_value", attribute=f"F{i}",
                 source="sfdc_sync", created_at=f"2026-01-{i + 1:02d}T00:00:00Z")
        for i in range(30)
    ])
    text = marketer_client.get(contact_url(contact)).content.decode()
    assert "Activity timeline (30)" in text
    assert text.index("F29") < text.index("F28")
    assert "F0<" not in text
    older = marketer_client.get(contact_url(contact) + "?timeline_page=2").content.decode()
    assert "F0<" in older and "F29" not in older


def test_changelists_search_and_filter(marketer_client, account):
    Account.objects.create(sfdc_id="0019000000oC4HkAAK", name="Other", industry="Energy",
                           website="https://other.example")
    accounts = reverse("admin:accounts_account_changelist")
    by_domain = marketer_client.get(accounts + "?q=bh.example").content.decode()
    assert "Blue Harbor" in by_domain and "Other" not in by_domain
    by_industry = marketer_client.get(accounts + "?industry=Energy").content.decode()
    assert "Other" in by_industry and "Blue Harbor" not in by_industry
    people = reverse("admin:accounts_contact_changelist")
    by_email = marketer_client.get(people + "?q=p1@bh.example").content.decode()
    assert "Person 1" in by_email and "Person 2" not in by_email
    assert "Person 0" in marketer_client.get(people + "?industry=Retail").content.decode()
    assert "Person 0" not in marketer_client.get(people + "?industry=Energy").content.decode()


def test_salesforce_data_is_escaped_everywhere(marketer_client):
    evil = Account.objects.create(
        sfdc_id=ACCOUNT_ID, name="<script>alert(1)</script>", industry="<b>x</b>",
        sfdc_values={"Industry": "<img src=x onerror=alert(1)>"},
        locally_edited_at="2026-01-01T00:00:00Z",
    )
    contact = Contact.objects.create(last_name="<i>p</i>", account=evil)
    for url in (contact_url(contact), account_url(evil),
                reverse("admin:accounts_account_local_edits"),
                reverse("admin:accounts_account_changelist")):
        text = marketer_client.get(url).content.decode()
        assert "<script>alert" not in text and "<img src=x" not in text, url
        assert "<b>x</b>" not in text, url


def test_an_account_edit_from_a_contact_lands_in_the_accounts_history(
    marketer_client, marketer, account
):
    contact = account.contacts.order_by("pk").first()
    marketer_client.post(
        contact_url(contact),
        contact_form(contact, title="CFO", account_industry="Banking"),
    )
    entry = AccountHistory.objects.get(account=account)
    assert (entry.attribute, entry.old_value, entry.new_value) == ("Industry", "Retail", "Banking")
    assert (entry.source, entry.user) == ("local_edit", marketer)
    account_log = LogEntry.objects.get(object_id=str(account.pk))
    assert "Industry" in account_log.get_change_message()
    person_log = LogEntry.objects.get(object_id=str(contact.pk))
    assert "Title" in person_log.get_change_message()
    assert "Industry" not in person_log.get_change_message()
    history_page = marketer_client.get(
        reverse("admin:accounts_account_history", args=[account.pk])
    ).content.decode()
    assert "Changed Industry" in history_page


def test_the_account_page_shows_its_history_filtered_and_paginated(marketer_client, account):
    for number in range(30):
        AccountHistory.objects.create(
            account=account, attribute="Industry" if number % 2 else "Phone",
            old_value=f"old {number}", new_value=f"new {number}",
            source="sfdc_sync" if number < 20 else "local_edit",
            created_at=timezone.now() + timedelta(seconds=number),
        )
    text = marketer_client.get(account_url(account)).content.decode()
    assert "Account history (30)" in text
    assert "new 29" in text and "new 0" not in text  # newest first, one page of 25
    assert "history_page=2" in text
    filtered = marketer_client.get(
        account_url(account), {"history_field": "Industry", "history_source": "local_edit"}
    ).content.decode()
    assert "Account history (5)" in filtered  # 21, 23, 25, 27, 29
    assert "new 21" in filtered and "new 20" not in filtered and "new 3<" not in filtered
    ignored = marketer_client.get(account_url(account), {"history_field": "No such field"})
    assert "Account history (30)" in ignored.content.decode()


def test_an_account_without_changes_says_its_first_values_are_the_baseline(
    marketer_client, account
):
    text = marketer_client.get(account_url(account)).content.decode()
    assert "Account history (0)" in text
    assert "the values Salesforce first sent are the baseline" in text


def test_a_large_shared_edit_is_saved_only_from_its_confirmation_page(
    marketer_client, account, settings
):
    settings.SHARED_EDIT_CONFIRM_CONTACTS = 2  # the fixture's account has 3 contacts
    contact = account.contacts.order_by("pk").first()
    posted = contact_form(contact, account_industry="Banking")
    first = marketer_client.post(contact_url(contact), posted)
    text = first.content.decode()
    assert first.status_code == 200
    assert "Change the account Blue Harbor for 3 contacts?" in text
    assert "<td>Industry</td><td>Retail</td><td>Banking</td>" in text
    assert ACCOUNT_WARNING in text and 'name="csrfmiddlewaretoken"' in text
    account.refresh_from_db()
    assert account.industry == "Retail" and not AccountHistory.objects.exists()

    confirmed = {**posted, "_confirm_shared_edit": "1"}
    for _ in range(2):  # a double submit saves once
        response = marketer_client.post(contact_url(contact), confirmed)
        assert response.status_code == 302
    account.refresh_from_db()
    assert account.industry == "Banking"
    assert AccountHistory.objects.count() == 1
    assert Activity.objects.filter(attribute="Industry").count() == 3


def test_a_small_shared_edit_and_a_person_only_edit_need_no_confirmation(
    marketer_client, account, settings
):
    settings.SHARED_EDIT_CONFIRM_CONTACTS = 3
    contact = account.contacts.order_by("pk").first()
    response = marketer_client.post(
        contact_url(contact), contact_form(contact, account_industry="Banking")
    )
    assert response.status_code == 302
    settings.SHARED_EDIT_CONFIRM_CONTACTS = 1
    contact.refresh_from_db()
    response = marketer_client.post(contact_url(contact), contact_form(contact, title="CFO"))
    assert response.status_code == 302


def test_the_message_names_what_changed(marketer_client, account):
    contact = account.contacts.order_by("pk").first()
    only_account = marketer_client.post(
        contact_url(contact), contact_form(contact, account_industry="Banking"), follow=True
    ).content.decode()
    assert "Saved locally for the account Blue Harbor (shared by 3 contacts): Industry" in (
        only_account
    )
    assert "was changed successfully" not in only_account
    contact.refresh_from_db()
    account.refresh_from_db()
    both = marketer_client.post(
        contact_url(contact),
        contact_form(contact, title="CFO", account_industry="Energy"),
        follow=True,
    ).content.decode()
    assert f"Saved locally for {contact}: Title and the account Blue Harbor" in both
    contact.refresh_from_db()
    account.refresh_from_db()
    nothing = marketer_client.post(contact_url(contact), contact_form(contact), follow=True)
    assert "Nothing changed, so nothing was saved." in nothing.content.decode()


@pytest.fixture
def described_picklists():
    SyncState.objects.update_or_create(
        object_name="Account",
        defaults={"describe": {"fields": [], "picklists": {
            "Industry": ["Banking", "Energy"], "Type": ["Customer", "Partner"],
        }}},
    )


def test_picklists_are_dropdowns_of_salesforces_values(
    marketer_client, account, described_picklists
):
    text = marketer_client.get(account_url(account)).content.decode()
    assert '<select name="industry"' in text
    assert '<option value="Banking">Banking</option>' in text
    assert "Retail (no longer listed in Salesforce)" in text  # the current value is kept
    contact = account.contacts.order_by("pk").first()
    assert '<select name="account_type"' in marketer_client.get(
        contact_url(contact)
    ).content.decode()
    refused = marketer_client.post(account_url(account), account_form(account, industry="Bankng"))
    assert refused.status_code == 200
    assert "Select a valid choice. Bankng is not one of the available choices." in (
        refused.content.decode()
    )
    kept = marketer_client.post(
        account_url(account), account_form(account, website="https://x.example")
    )
    assert kept.status_code == 302
    account.refresh_from_db()
    assert (account.industry, account.website) == ("Retail", "https://x.example")


def test_an_empty_timeline_says_so(marketer_client, account):
    text = marketer_client.get(contact_url(account.contacts.first())).content.decode()
    assert "Activity timeline (0)" in text and "No activities yet." in text


def test_the_timeline_filters_by_type_field_and_days_and_links_the_same_filter(
    marketer_client, account
):
    contact = account.contacts.order_by("pk").first()
    for day, activity_type, attribute in (
        (1, "change_data_value", "Industry"), (2, "change_data_value", "Phone"),
        (3, "change_data_value", "Industry"), (3, "merge", ""),
    ):
        Activity.objects.create(
            contact=contact, activity_type=activity_type, attribute=attribute,
            new_value=f"{attribute or activity_type} on day {day}", source="sfdc_sync",
            created_at=datetime(2026, 11, day, 12, tzinfo=UTC),
        )
    query = {"timeline_type": "change_data_value", "timeline_field": "Industry",
             "timeline_from": "2026-11-02", "timeline_to": "2026-11-03"}
    text = marketer_client.get(contact_url(contact), query).content.decode()
    assert "Activity timeline (1)" in text and "Industry on day 3" in text
    log_link = re.search(r'href="([^"]+)" class="timeline-in-activity-log"', text)[1]
    log = marketer_client.get(html.unescape(log_link)).content.decode()
    assert "Industry on day 3" in log
    assert "Industry on day 1" not in log and "Phone on day 2" not in log
    assert "merge on day 3" not in log
    bad_date = marketer_client.get(contact_url(contact), {"timeline_from": "yesterday"})
    assert bad_date.status_code == 200
    assert "Activity timeline (4)" in bad_date.content.decode()


def test_custom_fields_show_as_rows_labelled_from_the_describe(marketer_client, account):
    account.custom_fields = {"Tier__c": 2.0, "Region__c": "<EMEA>"}
    account.save(update_fields=["custom_fields"])
    SyncState.objects.update_or_create(
        object_name="Account",
        defaults={"describe": {"fields": [], "labels": {"Tier__c": "Tier"}}},
    )
    text = marketer_client.get(account_url(account)).content.decode()
    assert "<td>Tier</td><td>Tier__c</td><td>2.0</td>" in text
    assert "<td>Region__c</td><td>Region__c</td><td>&lt;EMEA&gt;</td>" in text
    assert "{&quot;Tier__c&quot;" not in text
