"""The Convert Person caution page in Chromium: the button waits for the checkbox; Cancel
changes nothing."""

import pytest
from django.contrib.auth.models import Permission

from accounts.models import Contact, PersonConversion
from marketo_sync.salesforce import client as client_module
from marketo_sync.sync.cycle import sync_cycle
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer

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
