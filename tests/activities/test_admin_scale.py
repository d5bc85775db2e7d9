"""The activity log and the person's timeline on a log with a busy person in it.

Checked by their plans, not their times (the machines are shared): no query reads the person's
activities of other types to throw them away (counting them one heap page each was the activity
log's slowest query at 50,000,000 rows). The times are printed with -s.
"""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Contact
from activities.admin import ActivityAdmin
from activities.models import Activity
from activities.services import activity_partitions_maintain
from tests.activities.test_partitions import at

# VACUUM, as autovacuum leaves a month nobody writes to any more, runs outside a transaction
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MONTHS = ("2041-01-01", "2041-02-01", "2041-03-01")
OTHER_PEOPLE = 3_000
ROWS = 180_000
# Every 300th activity is the busy person's (600, one in ten a merge): a small share of the
# table, as the busiest person's is, so the planner reads the person's rows by index.
BUSY_SHARE = 300
# A page may read a few rows it does not show (the planner pages a common type through the
# person's timeline); what it must not do is read the person's other activities in full.
PAGE = ActivityAdmin.list_per_page


@pytest.fixture
def busy_person():
    """A person with 600 activities among 3,000 people with 60 each, over three months, the
    busy person's rows spread over the table's pages as months of syncing leave them."""
    created = [
        name for month in MONTHS
        for name in activity_partitions_maintain(at=at(f"{month}T00:00:00")).created
    ]
    busy = Contact.objects.create(last_name="Busy")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_contact
                (sfdc_type, first_name, last_name, email, phone, title, company, lead_status,
                 master_record_sfdc_id, account_sfdc_id, custom_fields, is_deleted)
            SELECT 'lead', '', 'Other' || i, '', '', '', '', '', '', '', '{}', false
            FROM generate_series(1, %s) AS i
            """,
            [OTHER_PEOPLE],
        )
        cursor.execute(
            """
            INSERT INTO activities_activity
                (contact_id, activity_type, attribute, old_value, new_value, reason, source,
                 created_at)
            SELECT CASE WHEN i %% %(share)s = 0 THEN %(busy)s
                        ELSE %(busy)s + 1 + i %% %(others)s END,
                   CASE WHEN i %% (10 * %(share)s) = 0 THEN 'merge'
                        ELSE 'change_data_value' END,
                   'Industry', 'old', 'new', '', 'sfdc_sync',
                   %(start)s::timestamptz + interval '89 days' * (i::float8 / %(rows)s)
            FROM generate_series(1, %(rows)s) AS i
            """,
            {"share": BUSY_SHARE, "busy": busy.pk, "others": OTHER_PEOPLE, "rows": ROWS,
             "start": at(f"{MONTHS[0]}T00:00:00")},
        )
        cursor.execute("VACUUM ANALYZE activities_activity")
        cursor.execute("ANALYZE accounts_contact")
    yield busy
    with connection.cursor() as cursor:
        for name in created:
            cursor.execute(f"DROP TABLE {name}")


def test_the_plan_check_sees_rows_read_and_thrown_away(busy_person):
    assert rows_thrown_away(
        f"SELECT count(*) FROM activities_activity WHERE contact_id = {busy_person.pk} "
        "AND reason = 'x'"
    ) == ROWS // BUSY_SHARE
    assert rows_thrown_away(
        f"SELECT count(*) FROM activities_activity WHERE contact_id = {busy_person.pk}"
    ) == 0


def test_a_persons_activities_of_one_type_are_read_without_the_other_types(
    marketer_client, busy_person
):
    log = reverse("admin:activities_activity_changelist")
    urls = [
        *(f"{log}?contact__id__exact={busy_person.pk}&activity_type__exact={activity_type}"
          for activity_type in (Activity.Type.CHANGE_DATA_VALUE, Activity.Type.MERGE)),
        reverse("admin:accounts_contact_change", args=[busy_person.pk])
        + f"?timeline_type={Activity.Type.MERGE}",
    ]
    for url in urls:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = marketer_client.get(url)
        print(f"{url}: {(time.perf_counter() - started) * 1000:.0f} ms, {len(queries)} queries")
        assert response.status_code == 200
        reading = [query["sql"] for query in queries.captured_queries
                   if query["sql"].lstrip().upper().startswith("SELECT")
                   and "activities_activity" in query["sql"]]
        counts = [sql for sql in reading if "COUNT(*)" in sql]
        pages = [sql for sql in reading if sql not in counts]
        assert counts and pages, url
        for sql in counts:
            assert rows_thrown_away(sql) == 0, (url, sql)
        for sql in pages:
            assert rows_thrown_away(sql) < PAGE, (url, sql)


def rows_thrown_away(sql: str) -> int:
    """Rows of the activity table the query read and then discarded by a filter (a query that
    reads a busy person's every activity to show some of them grows with the person)."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        pending = [cursor.fetchone()[0][0]["Plan"]]
    removed = 0
    while pending:
        node = pending.pop()
        if node.get("Relation Name", "").startswith("activities_activity"):
            removed += node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1)
            removed += node.get("Rows Removed by Index Recheck", 0) * node.get("Actual Loops", 1)
        pending.extend(node.get("Plans", []))
    return removed
