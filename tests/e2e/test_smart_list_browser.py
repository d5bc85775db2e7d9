"""A marketer in Chromium builds "Banking in India, more than 1,000 employees", opens it in the
People list and exports it as CSV."""

import csv
import io

import pytest

from accounts.models import Account, Contact
from marketo_sync.salesforce.ids import normalize_sfdc_id as sfdc_id
from tests.fixtures.browser import log_in, screenshot
from tests.fixtures.users import create_marketer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Banking in India, more than 1,000 employees"


@pytest.fixture
def people():
    bank = Account.objects.create(
        sfdc_id=sfdc_id("0019000000B98de"), name="Mumbai Bank", industry="Banking",
        billing_country="India", number_of_employees=5000,
    )
    small = Account.objects.create(
        sfdc_id=sfdc_id("0019000000oC4Hk"), name="Pune Savings", industry="Banking",
        billing_country="India", number_of_employees=300,
    )
    shop = Account.objects.create(
        sfdc_id=sfdc_id("0019000000oC4Hl"), name="Delhi Retail", industry="Retail",
        billing_country="India", number_of_employees=9000,
    )
    Contact.objects.bulk_create([
        Contact(first_name="Ana", last_name="Adeyemi", email="ana@bank.example",
                sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d1"), account=bank),
        Contact(first_name="Raj", last_name="Rao", email="=raj@bank.example",
                sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d2"), account=bank),
        Contact(first_name="Sam", last_name="Small", sfdc_type="contact",
                sfdc_id=sfdc_id("0039000000B98d3"), account=small),
        Contact(first_name="Tia", last_name="Shop", sfdc_type="contact",
                sfdc_id=sfdc_id("0039000000B98d4"), account=shop),
        Contact(first_name="Lea", last_name="Lopez", sfdc_type="lead", company="Delhi Credit",
                sfdc_lead_id=sfdc_id("00Q9000000B98d5"), industry="Banking", country="India",
                number_of_employees=1500),
        Contact(first_name="Leo", last_name="Lind", sfdc_type="lead", company="Tiny Bank",
                sfdc_lead_id=sfdc_id("00Q9000000B98d6"), industry="Banking", country="India",
                number_of_employees=20),
    ])


def add_rule(page, row: int, field: str, operator: str, value: str) -> None:
    page.select_option(f"#id_rules-{row}-field", field)
    page.select_option(f"#id_rules-{row}-operator", operator)
    page.fill(f"#id_rules-{row}-value", value)


def test_marketer_builds_opens_and_exports_a_smart_list(page, live_server, people):
    create_marketer("list-marketer", "list-password-1")
    admin = f"{live_server.url}/admin"
    log_in(page, live_server, "list-marketer", "list-password-1")

    page.goto(f"{admin}/accounts/smartlist/add/")
    page.fill("#id_name", NAME)
    page.select_option("#id_match", "all")
    add_rule(page, 0, "industry", "is", "Banking")
    add_rule(page, 1, "country", "is", "India")
    add_rule(page, 2, "employees", "gt", "1,000")
    screenshot(page, "smart-list-build")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    row = page.locator("#result_list tbody tr", has_text=NAME)
    assert row.locator("td.field-members").inner_text() == "3"
    screenshot(page, "smart-lists")

    row.locator("text=Open in People").click()
    page.wait_for_selector("#smart-list-rules")
    rules = page.inner_text("#smart-list-rules")
    assert NAME in rules and "Industry is 'Banking'" in rules
    assert "Number of employees greater than '1,000'" in rules
    names = set(page.locator("#result_list tbody th a, #result_list tbody td.field-__str__ a")
                .all_inner_texts())
    assert names == {"Ana Adeyemi", "Raj Rao", "Lea Lopez"}
    assert "3 people" in page.inner_text("#changelist-form .paginator")
    screenshot(page, "smart-list-people")

    page.check("#action-toggle")
    page.select_option("select[name=action]", "export_csv")
    with page.expect_download() as download:
        page.click("button[name=index]")
    body = download.value.path().read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {(r["First name"], r["Company"], r["Industry"], r["Country"]) for r in rows} == {
        ("Ana", "Mumbai Bank", "Banking", "India"), ("Raj", "Mumbai Bank", "Banking", "India"),
        ("Lea", "Delhi Credit", "Banking", "India"),
    }
    assert {r["Email"] for r in rows} == {"ana@bank.example", "'=raj@bank.example", ""}
