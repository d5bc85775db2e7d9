"""Every page under the enforced Content-Security-Policy in Chromium: no violation is reported.

The pages are the security suite's enumeration of every URL, loaded as a superuser (who reaches
all of them), plus the pages an anonymous visitor and a refused request see.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.fixtures.browser import log_in
from tests.helpers.routes import ROUTES

pytestmark = [pytest.mark.browser, pytest.mark.security, pytest.mark.django_db(transaction=True)]

# Runs before any page script; CSP does not apply to it, so it sees every violation event.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""
EXTRA_PAGES = ("/admin/accounts/account/?industry=%00",)  # the 400 page


class ViolationWatch:
    """Violations from the page's event and from Chromium's console, per page visited."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self.on_console)

    def on_console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> list[str] | None:
        """The violations on the page; None where the answer is not an HTML document."""
        answer = self.page.request.get(url, max_redirects=0)
        if not answer.body() or "text/html" not in answer.headers.get("content-type", ""):
            return None
        self.console.clear()
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        return self.page.evaluate("window.__cspViolations || []") + self.console


@pytest.fixture
def watch(page):
    return ViolationWatch(page)


@pytest.fixture
def superuser_login():
    get_user_model().objects.create_superuser("csp-admin", password="csp-admin-password-1")
    return "csp-admin", "csp-admin-password-1"


def test_the_watch_sees_an_inline_script_blocked(watch, live_server):
    assert watch.visit(f"{live_server.url}/admin/login/") == []
    watch.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.head.appendChild(s); }"
    )
    watch.page.wait_for_timeout(200)
    assert watch.page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in watch.page.evaluate("window.__cspViolations"))


def test_no_page_reports_a_policy_violation(
    watch, live_server, superuser_login, path_for, records  # noqa: F811
):
    anonymous = watch.visit(f"{live_server.url}/admin/login/")
    assert anonymous == [], anonymous
    log_in(watch.page, live_server, *superuser_login)
    failures, documents = {}, 0
    for path in [path_for(route) for route in ROUTES] + list(EXTRA_PAGES):
        violations = watch.visit(f"{live_server.url}{path}")
        documents += violations is not None
        if violations:
            failures[path] = violations
    assert failures == {}
    assert documents > len(ROUTES) * 3 // 4  # pages were loaded, not error screens


def test_the_refusal_pages_report_no_violation(watch, live_server, marketer):
    """The lockout (429), a missing permission (403) and the bad request (400) pages."""
    for _ in range(10):
        watch.page.goto(f"{live_server.url}/admin/login/")
        watch.page.fill("#id_username", "someone-else")
        watch.page.fill("#id_password", "wrong-password")
        watch.page.click("input[type=submit]")
    assert "Too many failed logins" in watch.page.inner_text("#login-locked")
    assert watch.page.evaluate("window.__cspViolations") == [] and watch.console == []
    log_in(watch.page, live_server, "marketer", "marketer-password-1")
    assert watch.visit(f"{live_server.url}/admin/auth/user/") == []
    assert "You need the permission" in watch.page.inner_text("#permission-denied")
    assert watch.visit(f"{live_server.url}/admin/accounts/account/?q=%00") == []
    assert "was refused" in watch.page.inner_text("#bad-request")
