"""Convert Person in Chromium: the caution page's button waits for the checkbox, Cancel changes
nothing, and a failed conversion's Retry button works."""

import pytest
from django.contrib.auth.models import Permission

from accounts.conversion import conversion_request, conversion_run
from accounts.models import Account, Contact, PersonConversion
from marketo_sync.salesforce import client as client_module
from marketo_sync.salesforce.convert import ConvertOptions
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.cycle import sync_cycle
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer
from tests.fixtures.workers import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_caution_page_checkbox_and_cancel(page, live_server, sandbox):
    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    user = create_marketer("converter", "converter-password-1")
    user.user_permissions.add(Permission.objects.get(codename="convert_person"))
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).first()
    log_in(page, live_server, "converter", "converter-password-1")

    page.goto(f"{live_server.url}/admin/accounts/contact/{lead.pk}/change/")
    page.click("a.convert-person-link")
    page.wait_for_selector(".caution")
    caution = page.inner_text(".caution")
    assert "CAUTION" in caution and "If you are not sure, do not use it." in caution
    screenshot(page, "convert-person-caution")

    button = page.locator("#confirm-convert")
    assert button.is_disabled()
    button.click(force=True)  # a click on the disabled button does nothing
    assert "/convert/" in page.url
    assert not PersonConversion.objects.exists()
    page.check("#id_understand")
    assert button.is_enabled()
    page.uncheck("#id_understand")
    assert button.is_disabled()

    page.click("#cancel-convert")
    page.wait_for_selector("#result_list")
    assert not PersonConversion.objects.exists()
    lead.refresh_from_db()
    assert lead.sfdc_type == "lead"
    remote = sandbox.control.get("Lead", lead.sfdc_lead_id)
    assert remote["IsConverted"] is False


def test_a_failed_conversion_is_retried_by_clicking_the_button(page, live_server, sandbox):
    """The Retry button submits its own form, which sits outside the change form."""
    client_module._token_cache.clear()
    assert sync_cycle().status == "success"
    user = create_marketer("converter", "converter-password-1")
    user.user_permissions.add(Permission.objects.get(codename="convert_person"))
    lead = Contact.objects.filter(sfdc_type="lead", is_deleted=False).first()
    conversion, _ = conversion_request(
        person=lead, options=ConvertOptions(converted_status="Closed - Converted"), user=user,
        idempotency_key="browser-retry",
    )
    sandbox.control.inject_fault("request_limit", count=1, path="/Soap/")
    with pytest.raises(SalesforceError):
        conversion_run(conversion_id=conversion.pk)
    accounts_before = sandbox.control.count("Account")
    log_in(page, live_server, "converter", "converter-password-1")

    page.goto(f"{live_server.url}/admin/accounts/contact/{lead.pk}/change/")
    assert "REQUEST_LIMIT_EXCEEDED" in page.inner_text("#conversions")
    page.click(f"button[form=retry-{conversion.pk}]")
    page.wait_for_selector("text=The conversion was queued again.")
    assert page.url.endswith(f"/admin/accounts/contact/{lead.pk}/change/")
    conversion.refresh_from_db()
    assert conversion.status == "lead_created"

    worker = run_worker("default")
    assert worker.returncode == 0, worker.stderr
    page.reload()
    assert "Completed" in page.inner_text("#conversions")
    assert page.locator("button.retry-conversion").count() == 0
    assert sandbox.control.count("Account") == accounts_before + 1
    conversion.refresh_from_db()
    assert Account.objects.filter(sfdc_id=conversion.account_sfdc_id).count() == 1
