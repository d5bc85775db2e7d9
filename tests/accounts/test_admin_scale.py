"""The changelists and pages stay responsive on a real-size org: 200,000 people.

Checked by their plans, not their times (the machines are shared): no page's query reads the
whole contacts table, neither by a sequential scan nor by walking an index in order and keeping
the rows that match. The times are printed with -s.
"""

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PEOPLE = 200_000
ACCOUNTS = 2_000
COMMON_SURNAME = 5_000  # 2.4% of the people


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
        # A common surname, last in name order: a search for it matches rows that sit together.
        cursor.execute(
            """
            INSERT INTO accounts_contact
                (sfdc_type, first_name, last_name, email, phone, title, company, lead_status,
                 master_record_sfdc_id, account_sfdc_id, custom_fields, is_deleted)
            SELECT 'lead', 'Common' || i, 'Zimmermann', 'common' || i || '@example.org',
                   '', '', '', '', '', '', '{}', false
            FROM generate_series(1, %s) AS i
            """,
            [COMMON_SURNAME],
        )
        cursor.execute("ANALYZE accounts_contact; ANALYZE accounts_account")
    return Account.objects.order_by("pk").first()


def test_the_plan_check_sees_a_whole_table_read(real_size_org):
    assert "accounts_contact" in whole_table_reads(
        "SELECT id FROM accounts_contact ORDER BY phone LIMIT 5"  # a sort needs every row
    )
    assert "accounts_contact" not in whole_table_reads(
        "SELECT id FROM accounts_contact LIMIT 10000"  # stops after 10,000 rows
    )
    assert "accounts_contact" not in whole_table_reads(
        "SELECT id FROM accounts_contact ORDER BY last_name, first_name LIMIT 50"  # 50 rows
    )
    # the name index walked in order, keeping the matches: the LIMIT stops it only once 50
    # rows matched, which may be the end of the table
    walk = ("SELECT id FROM accounts_contact WHERE phone = '' "
            "ORDER BY last_name, first_name LIMIT 50")
    assert '"Index Scan"' in json.dumps(explained(walk))
    assert "accounts_contact" in whole_table_reads(walk)


def test_pages_stay_fast_with_200000_people(marketer_client, real_size_org):
    contact = Contact.objects.filter(account=real_size_org).first()
    people = reverse("admin:accounts_contact_changelist")
    accounts = reverse("admin:accounts_account_changelist")
    pages = {
        "people": people,
        "people, last page": people + "?p=3999",
        "people by email": people + "?q=person123456@example.org",
        "people by name": people + "?q=First77777",
        # a name search matches names, so its matches sit together in name order: walking the
        # name index from "A" for its page would read most of the table to reach them
        "people by a common surname, page 2": people + "?q=zimmermann&p=2",
        "people by industry": people + "?industry=Energy",
        "people deleted in Salesforce": people + "?is_deleted__exact=1",
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
                assert "accounts_contact" not in whole_table_reads(query["sql"]), (name, query)


# Plan nodes that consume their whole input before giving a row: a sequential scan under one of
# these reads the whole table even when a LIMIT sits above.
BLOCKING = {"Sort", "Incremental Sort", "Aggregate", "Hash", "Materialize", "Unique", "WindowAgg",
            "SetOp"}


# Scans that read a table in some order and keep the rows that pass a filter.
WALKS = {"Seq Scan", "Index Scan", "Index Only Scan"}


def explained(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        return cursor.fetchone()[0][0]["Plan"]


def whole_table_reads(sql: str) -> list[str]:
    """The tables the query's plan reads whole (a page that does so grows with the org).

    A sequential scan stopped early by a LIMIT (the bounded count of the admin's paginator) is
    not one, unless it filters; a scan that walks a table or an index without an index
    condition and filters its rows is one even under a LIMIT: it stops only when enough rows
    matched, and the matches may all sit at the end.
    """
    pending = [(explained(sql), False)]
    tables = []
    while pending:
        node, bounded = pending.pop()
        kind = node.get("Node Type")
        unbounded = kind == "Seq Scan" and not bounded
        filtered_walk = kind in WALKS and "Filter" in node and "Index Cond" not in node
        if unbounded or filtered_walk:
            tables.append(node["Relation Name"])
        if kind == "Limit":
            bounded = True
        elif kind in BLOCKING:
            bounded = False
        pending.extend((child, bounded) for child in node.get("Plans", []))
    return tables
