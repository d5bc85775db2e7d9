"""The changelists and pages stay responsive on a real-size org: 200,000 people.

Checked by their plans, not their times (the machines are shared): no page's query reads the
whole contacts table. The times are printed with -s.
"""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PEOPLE = 200_000
ACCOUNTS = 2_000


@pytest.fixture
def real_size_org():
    """Rows written set-based by PostgreSQL itself (seconds, not minutes of ORM saves)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account
                (sfdc_id, name, type, industry, billing_street, billing_city, billing_state,
                 billing_postal_code, billing_country, website, phone, master_record_sfdc_id,
                 sfdc_values, custom_fields, is_deleted)
            SELECT 'acct' || lpad(i::text, 14, '0'), 'Company ' || i, '',
                   (ARRAY['Retail', 'Banking', 'Energy', 'Media'])[1 + i %% 4], '', '', '', '',
                   '', 'https://company' || i || '.example', '', '', '{}', '{}', false
            FROM generate_series(1, %s) AS i
            """,
            [ACCOUNTS],
        )
        cursor.execute(
            """
            INSERT INTO accounts_contact
                (sfdc_type, first_name, last_name, email, phone, title, company, lead_status,
                 master_record_sfdc_id, account_sfdc_id, custom_fields, is_deleted, account_id)
            SELECT 'lead', 'First' || i, 'Last' || (i %% 5000), 'person' || i || '@example.org',
                   '', '', '', '', '', '', '{}', false,
                   (SELECT min(id) FROM accounts_account) + i %% %s
            FROM generate_series(1, %s) AS i
            """,
            [ACCOUNTS, PEOPLE],
        )
        cursor.execute("ANALYZE accounts_contact; ANALYZE accounts_account")
    return Account.objects.order_by("pk").first()


def test_the_plan_check_sees_a_whole_table_read(real_size_org):
    assert "accounts_contact" in sequential_scans(
        "SELECT id FROM accounts_contact ORDER BY phone LIMIT 5"  # a sort needs every row
    )
    assert "accounts_contact" not in sequential_scans(
        "SELECT id FROM accounts_contact LIMIT 10000"  # stops after 10,000 rows
    )


def test_pages_stay_fast_with_200000_people(marketer_client, real_size_org):
    contact = Contact.objects.filter(account=real_size_org).first()
    people = reverse("admin:accounts_contact_changelist")
    accounts = reverse("admin:accounts_account_changelist")
    pages = {
        "people": people,
        "people, last page": people + "?p=3999",
        "people by email": people + "?q=person123456@example.org",
        "people by name": people + "?q=First77777",
        "people by industry": people + "?industry=Energy",
        "accounts by website domain": accounts + "?q=company42.example",
        "contact page (100 shared)": reverse("admin:accounts_contact_change", args=[contact.pk]),
        "account page (100 contacts)": reverse(
            "admin:accounts_account_change", args=[real_size_org.pk]
        ),
    }
    for name, url in pages.items():
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = marketer_client.get(url)
        elapsed = time.perf_counter() - started
        print(f"{name}: {elapsed * 1000:.0f} ms, {len(queries)} queries")
        assert response.status_code == 200, name
        for query in queries.captured_queries:
            if query["sql"].lstrip().upper().startswith("SELECT"):
                assert "accounts_contact" not in sequential_scans(query["sql"]), (name, query)


# Plan nodes that consume their whole input before giving a row: a sequential scan under one of
# these reads the whole table even when a LIMIT sits above.
BLOCKING = {"Sort", "Incremental Sort", "Aggregate", "Hash", "Materialize", "Unique", "WindowAgg",
            "SetOp"}


def sequential_scans(sql: str) -> list[str]:
    """The tables the query's plan reads whole (a page that does so grows with the org); a
    sequential scan stopped early by a LIMIT (the bounded count of the admin's paginator) is
    not one."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        pending = [(cursor.fetchone()[0][0]["Plan"], False)]
    tables = []
    while pending:
        node, bounded = pending.pop()
        kind = node.get("Node Type")
        if kind == "Seq Scan" and not bounded:
            tables.append(node["Relation Name"])
        if kind == "Limit":
            bounded = True
        elif kind in BLOCKING:
            bounded = False
        pending.extend((child, bounded) for child in node.get("Plans", []))
    return tables
