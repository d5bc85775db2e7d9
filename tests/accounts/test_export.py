"""Export as CSV from People and Accounts: streamed, neutralised, counted, permitted, logged."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact
from marketo_sync.salesforce.ids import normalize_sfdc_id as sfdc_id

pytestmark = pytest.mark.django_db

PEOPLE = reverse("admin:accounts_contact_changelist")
ACCOUNTS = reverse("admin:accounts_account_changelist")
FORMULAS = ["=HYPERLINK(\"http://evil.example\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture
def people():
    bank = Account.objects.create(
        sfdc_id=sfdc_id("0019000000B98de"), name="=cmd|' /C calc'!A0", industry="Banking",
        billing_country="India", number_of_employees=5000,
    )
    Contact.objects.bulk_create(
        [Contact(first_name=formula, last_name=f"Zoë {i}", sfdc_type="contact",
                 sfdc_id=sfdc_id(f"0039000000C{i:04d}"), account=bank)
         for i, formula in enumerate(FORMULAS)]
        + [Contact(first_name="Lea", last_name="Lopez", sfdc_type="lead", industry="Banking",
                   sfdc_lead_id=sfdc_id("00Q9000000B98d3"), company="Delhi Credit",
                   country="India", number_of_employees=1500),
           Contact(first_name="Leo", last_name="Lind", sfdc_type="lead", industry="Retail",
                   sfdc_lead_id=sfdc_id("00Q9000000B98d4"), company="Shop")]
    )
    return bank


def export(client, url: str, **post):
    response = client.post(url, {"action": "export_csv", **post})
    assert isinstance(response, StreamingHttpResponse), response
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert body.startswith("\ufeff".encode())
    header, *rows = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    return response, [dict(zip(header, row, strict=True)) for row in rows]


def test_select_all_exports_the_whole_filtered_list(marketer_client, people):
    filtered = Contact.objects.filter(sfdc_type="contact", account__industry="Banking")
    response, rows = export(
        marketer_client, PEOPLE + "?industry=Banking&country=India",
        select_across=1, _selected_action=[filtered.first().pk],
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert len(rows) == filtered.count() + 1  # the Indian bank's contacts and the Indian lead
    lead = next(row for row in rows if row["Type"] == "lead")
    assert (lead["Company"], lead["Industry"], lead["Country"], lead["Number of employees"]) == (
        "Delhi Credit", "Banking", "India", "1500")
    contact = next(row for row in rows if row["Type"] == "contact")
    assert contact["Salesforce account ID"] == people.sfdc_id
    assert contact["Number of employees"] == "5000" and contact["Country"] == "India"


def test_the_export_keeps_salesforce_text_out_of_spreadsheet_formulas(marketer_client, people):
    _response, rows = export(
        marketer_client, PEOPLE, _selected_action=list(
            Contact.objects.filter(sfdc_type="contact").values_list("pk", flat=True))
    )
    assert sorted(row["First name"] for row in rows) == sorted("'" + f for f in FORMULAS)
    assert {row["Company"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert {row["Last name"][:3] for row in rows} == {"Zoë"}  # UTF-8 intact


def test_selected_rows_only(marketer_client, people):
    chosen = Contact.objects.filter(sfdc_type="lead").values_list("pk", flat=True)
    _response, rows = export(marketer_client, PEOPLE, _selected_action=list(chosen))
    assert {row["Last name"] for row in rows} == {"Lopez", "Lind"}


def test_each_export_is_recorded_in_the_admin_log(marketer_client, marketer, people):
    export(marketer_client, PEOPLE + "?industry=Banking", select_across=1,
           _selected_action=[Contact.objects.first().pk])
    entry = LogEntry.objects.get()
    assert entry.user == marketer and entry.content_type.model == "contact"
    assert entry.get_change_message() == "Exported 7 rows as CSV; filter: ?industry=Banking"
    assert entry.object_repr == "CSV export of 7 people"


def test_accounts_export(marketer_client, people):
    _response, rows = export(marketer_client, ACCOUNTS, _selected_action=[people.pk])
    assert rows == [{**rows[0], "Name": "'=cmd|' /C calc'!A0", "Industry": "Banking",
                     "Salesforce account ID": people.sfdc_id}]
    assert LogEntry.objects.get().content_type.model == "account"


def test_export_needs_the_export_people_permission(staff_client, people):
    viewer = staff_client("accounts.view_contact", "accounts.view_account")
    page = viewer.get(PEOPLE).content.decode()
    assert 'value="export_csv"' not in page
    response = viewer.post(PEOPLE, {"action": "export_csv",
                                    "_selected_action": [Contact.objects.first().pk]})
    assert not isinstance(response, StreamingHttpResponse)
    assert not LogEntry.objects.exists()
    exporter = staff_client("accounts.view_contact", "accounts.export_people")
    assert 'value="export_csv"' in exporter.get(PEOPLE).content.decode()


def test_marketers_may_export(marketer_client, people):
    assert 'value="export_csv"' in marketer_client.get(PEOPLE).content.decode()


def test_rows_are_read_while_the_response_streams_not_before(marketer_client, people):
    with CaptureQueriesContext(connection) as answering:
        response = marketer_client.post(PEOPLE, {
            "action": "export_csv", "select_across": 1,
            "_selected_action": [Contact.objects.first().pk]})
    with CaptureQueriesContext(connection) as streaming:
        lines = list(response.streaming_content)
    assert len(lines) == Contact.objects.count() + 1
    assert not any("CASE WHEN" in q["sql"] for q in answering.captured_queries)
    assert [q for q in streaming.captured_queries if "CASE WHEN" in q["sql"]]
