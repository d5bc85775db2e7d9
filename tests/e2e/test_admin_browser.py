"""A marketer in Chromium: edit the shared account from a contact, then Salesforce wins."""

import pytest

from accounts.models import Account, Contact
from marketo_sync.salesforce import client as client_module
from marketo_sync.salesforce.ids import id_from_number, id_number
from marketo_sync.sync.cycle import sync_cycle
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marketer_login():
    """The demo's marketer: the Marketers group, plus the right to press "Sync now"."""
    grant(create_marketer("browser-marketer", "browser-password-1"), "sync.run_sync")
    return "browser-marketer", "browser-password-1"


def test_marketer_edits_account_from_a_contact_until_salesforce_overwrites(
    page, live_server, sandbox, marketer_login, burst_worker
):
    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    account = (
        Account.objects.filter(contacts__isnull=False, is_deleted=False).distinct().first()
    )
    first, second = account.contacts.filter(is_deleted=False).order_by("pk")[:2]
    admin = f"{live_server.url}/admin"
    log_in(page, live_server, *marketer_login)

    page.goto(f"{admin}/accounts/contact/{first.pk}/change/")
    heading = page.inner_text("fieldset.shared-account h2")
    assert heading.startswith(f"Account: {account.name} — shared by ")
    warning = page.inner_text("fieldset.shared-account .description")
    assert "not sent to Salesforce" in warning and "overwrites all of its account data" in warning
    assert "not sent to Salesforce" in page.inner_text(".local-edit-warning")
    assert page.locator("a.add-related, #add_id_account").count() == 0
    page.select_option("#id_account_industry", "Banking")
    screenshot(page, "contact-edit-account")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert "not sent to Salesforce" in page.inner_text(".messagelist")

    page.goto(f"{admin}/accounts/contact/{second.pk}/change/")
    assert page.input_value("#id_account_industry") == "Banking"
    assert "Local edit" in page.inner_text("#activity-timeline")
    screenshot(page, "other-contact-same-account")
    page.goto(f"{admin}/accounts/account/?locally_edited=yes")
    assert account.name in page.inner_text("#result_list")
    screenshot(page, "accounts-with-local-edits")
    page.click("text=Local edits the next sync overwrites")
    divergences = page.inner_text("#divergences")
    assert account.name in divergences and "Banking" in divergences
    screenshot(page, "divergence-view")
    page.goto(f"{admin}/accounts/account/{account.pk}/change/")
    assert "Banking" in page.inner_text(".field-divergence")
    assert "Contacts of this account" in page.inner_text("#account-contacts")
    history = page.inner_text("#account-history")
    assert "Industry" in history and "Banking" in history and "Local edit" in history
    screenshot(page, "account-page")

    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Retail"})
    page.goto(f"{admin}/sync/syncrun/status/")
    page.click("input[value='Sync now']")
    assert "A sync cycle was queued" in page.inner_text(".messagelist")
    burst_worker()
    page.reload()
    assert "1 local edit overwritten" in page.inner_text("#sync-summary")
    screenshot(page, "sync-status")

    page.goto(f"{admin}/accounts/contact/{second.pk}/change/")
    assert page.input_value("#id_account_industry") == "Retail"
    text = page.inner_text("#activity-timeline")
    assert "Local edit" in text and "Salesforce sync" in text
    page.goto(f"{admin}/accounts/account/local-edits/")
    assert "No local edits" in page.inner_text("#divergences")
    assert account.name not in page.inner_text("#divergences")
    screenshot(page, "divergence-view-after-sync")


def test_no_add_account_path_in_the_browser(page, live_server, marketer_login):
    log_in(page, live_server, *marketer_login)
    page.goto(f"{live_server.url}/admin/accounts/account/")
    assert page.locator("#content a.addlink").count() == 0  # the sidebar may add smart lists
    page.goto(f"{live_server.url}/admin/accounts/account/add/")
    assert "Convert Person is the only way" in page.inner_text(".messagelist")
    page.goto(f"{live_server.url}/admin/")
    assert page.locator("a[href$='/accounts/account/add/']").count() == 0
    assert Account.objects.count() == 0
    screenshot(page, "no-add-account")


def test_salesforce_data_is_rendered_inert(page, live_server, marketer_login):
    account = Account.objects.create(
        sfdc_id="0019000000B98deAAB", name="<script>window.pwned=1</script>Evil",
        sfdc_values={"Name": "<img src=x onerror=window.pwned=1>"},
    )
    Contact.objects.create(last_name="<b>bold</b>", account=account, email="x@example.org")
    log_in(page, live_server, *marketer_login)
    for path in ("accounts/account/", f"accounts/account/{account.pk}/change/",
                 "accounts/contact/", f"accounts/contact/{account.contacts.first().pk}/change/"):
        page.goto(f"{live_server.url}/admin/{path}")
        assert page.evaluate("window.pwned") is None, path
    assert "<script>" in page.inner_text("#content")


def test_a_large_account_edit_asks_first_and_lands_in_the_accounts_history(
    page, live_server, marketer_login
):
    account = Account.objects.create(
        sfdc_id="0019000000B98deAAB", name="Big Co", industry="Retail",
    )
    first_contact_number = id_number("003900000000000")
    Contact.objects.bulk_create(
        Contact(
            last_name=f"Person {number}", account=account, sfdc_type="contact",
            sfdc_id=id_from_number(first_contact_number + number),
        )
        for number in range(6000)
    )
    contact = account.contacts.order_by("pk").first()
    log_in(page, live_server, *marketer_login)
    page.goto(f"{live_server.url}/admin/accounts/contact/{contact.pk}/change/")
    page.fill("#id_account_industry", "Banking")  # no describe yet: a text box
    page.click("input[name=_save]")
    assert "Change the account Big Co for 6000 contacts?" in page.inner_text("#content")
    assert "Retail" in page.inner_text("#shared-edit-changes")
    screenshot(page, "shared-edit-confirmation")
    account.refresh_from_db()
    assert account.industry == "Retail"  # nothing saved before the confirmation
    page.click("text=Yes, change it for all 6000 contacts")
    page.wait_for_selector(".messagelist")
    assert "the account Big Co (shared by 6000 contacts): Industry" in (
        page.inner_text(".messagelist")
    )
    page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/change/")
    history = page.inner_text("#account-history")
    assert "Banking" in history and "no activities: too many contacts" in history
    screenshot(page, "account-history")


def test_the_accounts_list_fits_a_1280_pixel_window(page, live_server, marketer_login):
    Account.objects.create(
        sfdc_id="0019000000B98deAAB", name="Blue Harbor Logistics International",
        industry="Banking", type="Customer - Channel", billing_country="United Kingdom",
    )
    log_in(page, live_server, *marketer_login)
    page.goto(f"{live_server.url}/admin/accounts/account/")
    column = page.locator("th.column-diverging_fields").bounding_box()
    assert column is not None
    assert column["x"] + column["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
