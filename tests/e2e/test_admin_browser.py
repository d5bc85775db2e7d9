"""A marketer in Chromium: edit the shared account from a contact, then Salesforce wins."""

import pytest

from accounts.models import Account, Contact
from marketo_sync.salesforce import client as client_module
from marketo_sync.sync.cycle import sync_cycle
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marketer_login():
    create_marketer("browser-marketer", "browser-password-1")
    return "browser-marketer", "browser-password-1"


def test_marketer_edits_account_from_a_contact_until_salesforce_overwrites(
    page, live_server, sandbox, marketer_login
):
    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    account = (
        Account.objects.filter(contacts__isnull=False, is_deleted=False).distinct().first()
    )
    first, second = account.contacts.filter(is_deleted=False).order_by("pk")[:2]
    log_in(page, live_server, *marketer_login)

    page.goto(f"{live_server.url}/admin/accounts/contact/{first.pk}/change/")
    assert "not sent to Salesforce" in page.inner_text(".local-edit-warning")
    assert f"Account: {account.name}" in page.inner_text("#content-main")
    assert page.locator("a.related-widget-wrapper-link.add-related").count() == 0
    page.fill("#id_account_industry", "Banking")
    screenshot(page, "contact-edit-account")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert "not sent to Salesforce" in page.inner_text(".messagelist")

    page.goto(f"{live_server.url}/admin/accounts/contact/{second.pk}/change/")
    assert page.input_value("#id_account_industry") == "Banking"
    page.goto(f"{live_server.url}/admin/accounts/account/?locally_edited=yes")
    assert account.name in page.inner_text("#result_list")
    screenshot(page, "divergence-list")
    page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/change/")
    assert "Banking" in page.inner_text(".field-divergence")
    screenshot(page, "account-page")

    sandbox.control.update("Account", account.sfdc_id, {"Industry": "Retail"})
    assert sync_cycle().status == "success"
    page.goto(f"{live_server.url}/admin/accounts/contact/{second.pk}/change/")
    assert page.input_value("#id_account_industry") == "Retail"
    page.goto(f"{live_server.url}/admin/accounts/account/?locally_edited=yes")
    assert account.name not in page.inner_text("#content-main")
    screenshot(page, "divergence-list-after-sync")
    timeline = page.goto(f"{live_server.url}/admin/accounts/contact/{second.pk}/change/")
    assert timeline.ok
    text = page.inner_text("#activity-timeline")
    assert "Local edit" in text and "Salesforce sync" in text


def test_no_add_account_path_in_the_browser(page, live_server, marketer_login):
    log_in(page, live_server, *marketer_login)
    page.goto(f"{live_server.url}/admin/accounts/account/")
    assert page.locator("a.addlink").count() == 0
    page.goto(f"{live_server.url}/admin/accounts/account/add/")
    assert "Convert Person is the only way" in page.inner_text(".messagelist")
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
