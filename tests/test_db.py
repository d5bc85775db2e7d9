"""Set-based SQL helpers: a filter's choices come from an index, never a read of every row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from marketo_sync.db import distinct_values
from tests.helpers.rows import insert_accounts

pytestmark = pytest.mark.django_db

COUNTRIES = ["India", "Germany", "Ägypten", "Brazil", ""]


@pytest.fixture
def accounts():
    insert_accounts(20000, COUNTRIES)


def test_distinct_values_are_the_non_empty_values_in_order(accounts):
    expected = list(
        Account.objects.exclude(billing_country="").order_by("billing_country")
        .values_list("billing_country", flat=True).distinct()
    )
    assert distinct_values(Account, "billing_country") == expected
    assert len(expected) == 4


def test_distinct_values_probe_the_index_once_per_value(accounts):
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + recorded_sql(lambda: distinct_values(
                Account, "billing_country"))
        )
        plan = str(cursor.fetchone()[0])
    assert "Seq Scan" not in plan
    assert "account_country_idx" in plan


def recorded_sql(call) -> str:
    with CaptureQueriesContext(connection) as queries:
        call()
    return queries.captured_queries[-1]["sql"]
