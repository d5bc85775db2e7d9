"""Big changelists are not counted row by row on every page; filtered ones still are, exactly,
except the activity log's, counted only up to the threshold ("more than" it).

The threshold above which the planner's estimate is used is lowered by a setting, so a few rows
stand in for 200,000 people.
"""

import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact
from activities.models import Activity
from marketo_sync.admin_mixins import BoundedCountPaginator, EstimatedCountPaginator
from marketo_sync.sync.models import SyncError, SyncRun

pytestmark = pytest.mark.django_db

THRESHOLD = 20
ROWS = 30


@pytest.fixture(autouse=True)
def low_threshold(settings):
    settings.ADMIN_COUNT_ESTIMATE_THRESHOLD = THRESHOLD


def analyze(table: str) -> None:
    """Refresh the planner statistics, as autovacuum would on a real table."""
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{table}"')


def people(count: int, **fields) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(last_name=f"Person {i}", email=f"p{i}@example.org", **fields)
        for i in range(count)
    )


def accounts(count: int) -> None:
    Account.objects.bulk_create(
        Account(sfdc_id=f"001{i:012d}", name=f"Company {i}") for i in range(count)
    )


def activities(count: int) -> None:
    person = Contact.objects.create(last_name="Timeline")
    Activity.objects.bulk_create(
        Activity(contact=person, activity_type="change_data_value", attribute="Industry",
                 source="sfdc_sync", created_at=timezone.now())
        for _ in range(count)
    )


def runs(count: int) -> None:
    SyncRun.objects.bulk_create(
        SyncRun(mode="incremental", status="success", started_at=timezone.now())
        for _ in range(count)
    )


def errors(count: int) -> None:
    SyncError.objects.bulk_create(
        SyncError(object_name="Account", sfdc_id=f"001{i:015d}", message="bad")
        for i in range(count)
    )


CHANGELISTS: dict[str, tuple[str, str, Callable[[int], object]]] = {
    "people": ("admin:accounts_contact_changelist", "accounts_contact", people),
    "accounts": ("admin:accounts_account_changelist", "accounts_account", accounts),
    "activities": ("admin:activities_activity_changelist", "activities_activity", activities),
    "sync runs": ("admin:sync_syncrun_changelist", "sync_syncrun", runs),
    "sync errors": ("admin:sync_syncerror_changelist", "sync_syncerror", errors),
}


def full_counts(queries: CaptureQueriesContext, table: str) -> list[str]:
    """COUNT(*) queries over the whole table (a bounded `LIMIT n` count is not one)."""
    pattern = re.compile(rf'COUNT\(\*\).*FROM "{table}"', re.IGNORECASE)
    return [
        query["sql"] for query in queries.captured_queries
        if pattern.search(query["sql"]) and "LIMIT" not in query["sql"]
    ]


def assert_estimated_not_counted(admin_client, url_name: str, table: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(url_name))
    assert response.status_code == 200
    assert full_counts(queries, table) == []
    assert response.context["cl"].paginator.estimated
    assert response.context["cl"].result_count >= THRESHOLD


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_an_unfiltered_big_changelist_is_not_counted(admin_client, changelist):
    url_name, table, create = CHANGELISTS[changelist]
    create(ROWS)
    analyze(table)
    assert_estimated_not_counted(admin_client, url_name, table)


@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_a_big_table_without_statistics_is_estimated_not_counted(admin_client, changelist):
    """TRUNCATE forgets a table's statistics, as a first full sync into an emptied table has
    none until autovacuum analyzes it: the planner's guess from its size stands in."""
    url_name, table, create = CHANGELISTS[changelist]
    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{table}" CASCADE')
    create(ROWS)
    assert_estimated_not_counted(admin_client, url_name, table)


def test_a_filtered_or_searched_people_list_shows_the_exact_count(admin_client):
    people(ROWS)
    people(7, is_deleted=True, first_name="Ada")
    analyze("accounts_contact")
    changelist = reverse("admin:accounts_contact_changelist")
    for query in ("?is_deleted__exact=1", "?q=Ada"):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist + query)
        assert response.status_code == 200
        assert response.context["cl"].result_count == 7, query
        assert not response.context["cl"].paginator.estimated
        assert "7 results" in response.content.decode()
        assert full_counts(queries, "accounts_contact")  # exact: a real count over the filter


def test_a_small_table_is_counted_exactly_whatever_its_statistics_say(admin_client):
    people(ROWS)
    analyze("accounts_contact")
    Contact.objects.filter(pk__in=Contact.objects.values("pk")[:25]).delete()
    response = admin_client.get(reverse("admin:accounts_contact_changelist"))
    assert response.context["cl"].result_count == 5
    assert not response.context["cl"].paginator.estimated


def test_pages_past_a_low_estimate_are_still_served():
    people(ROWS)
    analyze("accounts_contact")
    people(ROWS)  # the statistics still say 30
    paginator = EstimatedCountPaginator(Contact.objects.order_by("pk"), 10)
    assert paginator.estimated and paginator.count == ROWS
    assert len(paginator.page(5).object_list) == 10
    assert len(paginator.page(7).object_list) == 0


def test_a_filtered_activity_log_is_counted_only_up_to_the_threshold(admin_client):
    activities(ROWS)
    changelist = reverse("admin:activities_activity_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(changelist + "?activity_type__exact=change_data_value")
    assert response.status_code == 200
    counts = [query["sql"] for query in queries.captured_queries
              if "COUNT(" in query["sql"] and '"activities_activity"' in query["sql"]]
    assert counts and all(f"LIMIT {THRESHOLD + 1}" in sql for sql in counts), counts
    assert full_counts(queries, "activities_activity") == []
    assert f"more than {THRESHOLD} activities" in response.content.decode()


def test_a_bounded_count_keeps_every_page_reachable():
    activities(ROWS)
    paginator = BoundedCountPaginator(
        Activity.objects.filter(activity_type="change_data_value").order_by("pk"), 10
    )
    assert paginator.more_than == THRESHOLD and paginator.num_pages == 3
    assert len(paginator.page(3).object_list) == 10
    assert len(paginator.page(4).object_list) == 0


def test_a_filtered_activity_log_under_the_threshold_is_counted_exactly(admin_client):
    activities(THRESHOLD)
    response = admin_client.get(
        reverse("admin:activities_activity_changelist") + "?activity_type__exact=change_data_value"
    )
    assert response.context["cl"].result_count == THRESHOLD
    assert response.context["cl"].paginator.more_than is None
    assert f"{THRESHOLD} activities" in response.content.decode()
    assert "more than" not in response.content.decode()
