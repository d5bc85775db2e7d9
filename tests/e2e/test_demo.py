"""README command 1's demo, end to end in Chromium: the newcomer's first five minutes."""

import re
import subprocess
import sys
import time

import pytest
from django.db.models import Count

from accounts.models import Account
from activities.models import Activity
from marketo_sync.sandbox.control import SandboxControl
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.workers import ROOT, child_environment
from tests.helpers.network import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    state = tmp_path / "state.json"
    log = tmp_path / "demo.log"
    with log.open("w") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, str(ROOT / "manage.py"), "demo", "--seed", "demo",
             f"--addrport=127.0.0.1:{port}", f"--sandbox-port={free_port()}",
             f"--data-dir={tmp_path / 'org'}"],
            cwd=ROOT, env=child_environment(SALESFORCE_SANDBOX_STATE=str(state)),
            stdout=sink, stderr=subprocess.STDOUT, text=True,
        )
    deadline = time.monotonic() + 300
    while "Admin: http" not in log.read_text() and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.5)
    yield f"http://127.0.0.1:{port}", SandboxControl.from_state_file(state), log.read_text()
    process.terminate()
    assert process.wait(timeout=60) == 0, log.read_text()[-2000:]


def test_the_demo_path(page, demo):
    url, control, output = demo
    assert "user 'marketer' password 'marketer-demo-password'" in output
    sizes = dict(
        Account.objects.annotate(n=Count("contacts")).filter(n__gte=5000).values_list("n", "pk")
    )
    assert set(sizes) == {5000, 6000}
    big = Account.objects.get(pk=sizes[6000])
    small = Account.objects.annotate(n=Count("contacts")).filter(n__gte=5, n__lte=30).first()
    page.set_default_timeout(30000)
    log_in(page, type("Server", (), {"url": url}), "marketer", "marketer-demo-password")
    screenshot(page, "demo-1-home")

    page.goto(f"{url}/admin/accounts/account/{big.pk}/change/")
    assert "Contacts of this account (6000)" in page.inner_text("#account-contacts")
    screenshot(page, "demo-2-big-account")

    control.update("Account", small.sfdc_id, {"Industry": "Biotechnology", "Phone": "+1 555 0100"})
    control.update("Account", big.sfdc_id, {"Industry": "Biotechnology"})
    page.goto(f"{url}/admin/sync/syncrun/status/")
    page.click("input[value='Sync now']")
    page.wait_for_selector(".messagelist")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        big.refresh_from_db()
        if big.industry == "Biotechnology" and Activity.objects.filter(
            contact__account=small, attribute="Industry", new_value="Biotechnology"
        ).exists():
            break
        time.sleep(1)
    page.reload()
    screenshot(page, "demo-3-sync-status")
    assert big.industry == "Biotechnology"
    assert not Activity.objects.filter(contact__account=big).exists()  # over 5,000 contacts
    contacts = small.contacts.filter(is_deleted=False).count()
    assert Activity.objects.filter(contact__account=small, attribute="Industry").count() == contacts

    contact = small.contacts.first()
    page.goto(f"{url}/admin/accounts/contact/{contact.pk}/change/")
    timeline = page.inner_text("#activity-timeline")
    assert re.search(r"Change Data Value\s+Industry", timeline)
    assert "Biotechnology" in timeline
    screenshot(page, "demo-4-contact-timeline")
