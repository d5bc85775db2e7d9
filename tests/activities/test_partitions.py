"""The activity table is partitioned by UTC month of `created_at`: rows land in their month,
out-of-range rows in the default partition, retention drops whole months, and the timeline, the
changelist and the Change Data Value fan-out work unchanged."""

from datetime import UTC, datetime

import django_rq
import pytest
from django.db import connection
from django.urls import reverse
from rq.cron import CronScheduler

from accounts.selectors import contact_timeline
from activities.jobs import run_activity_partitions_maintain
from activities.models import Activity
from activities.services import account_changes_log, activity_partitions_maintain
from marketo_sync.admin_mixins import planner_row_estimate
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

DEFAULT = "activities_activity_default"


def at(text: str) -> datetime:
    """An ISO time, UTC unless it says otherwise."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def partition(month: str) -> str:
    return f"activities_activity_p{month}"


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent = 'activities_activity'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def stored_in(activity: Activity) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM activities_activity WHERE id = %s",
            [activity.pk],
        )
        return cursor.fetchone()[0]


def check_foreign_keys_now() -> None:
    """The test's rows are checked now, as their commit would: PostgreSQL drops no partition
    with deferred checks pending in the same transaction, and in production the maintenance
    runs in a transaction of its own."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def log(contact, when: str, **fields) -> Activity:
    return Activity.objects.create(
        contact=contact, activity_type=Activity.Type.MERGE, source=Activity.Source.FLOW,
        created_at=at(when), **fields,
    )


def test_the_table_is_range_partitioned_on_created_at_with_a_default_partition():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = 'activities_activity'::regclass"
        )
        assert cursor.fetchall() == [("r", "created_at")]
        cursor.execute(
            "SELECT partdefid::regclass::text FROM pg_partitioned_table "
            "WHERE partrelid = 'activities_activity'::regclass"
        )
        assert cursor.fetchone()[0] == DEFAULT
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'activities_activity'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, created_at)"
    assert Activity._meta.pk is not None and Activity._meta.pk.name == "id"


def test_partitions_are_created_for_this_month_and_two_ahead_and_creation_is_idempotent():
    first = activity_partitions_maintain(at=at("2031-11-20T12:00:00"))
    assert first.created == [partition("2031_11"), partition("2031_12"), partition("2032_01")]
    assert first.dropped == []
    before = partitions()
    again = activity_partitions_maintain(at=at("2031-11-30T23:00:00"))
    assert again.created == [] and again.dropped == []
    assert partitions() == before
    assert activity_partitions_maintain(at=at("2031-12-01T00:00:00")).created == [
        partition("2032_02")
    ]


def test_rows_land_in_their_utc_month():
    activity_partitions_maintain(at=at("2031-03-15T00:00:00"))
    contact = ContactFactory.create()
    assert stored_in(log(contact, "2031-03-31T23:59:59")) == partition("2031_03")
    assert stored_in(log(contact, "2031-04-01T00:00:00")) == partition("2031_04")
    # 01:00 in Paris on April 1st is still March in UTC
    assert stored_in(log(contact, "2031-04-01T01:00:00+02:00")) == partition("2031_03")


def test_rows_far_in_the_past_or_future_go_to_the_default_partition_and_move_out_later():
    contact = ContactFactory.create()
    past = log(contact, "1990-06-01T00:00:00")
    future = log(contact, "2099-02-10T00:00:00")
    assert stored_in(past) == stored_in(future) == DEFAULT
    activity_partitions_maintain(at=at("2099-01-05T00:00:00"))
    assert stored_in(future) == partition("2099_02")
    assert stored_in(past) == DEFAULT
    assert Activity.objects.get(pk=future.pk).created_at == at("2099-02-10T00:00:00")


def test_retention_drops_exactly_the_months_older_than_the_setting():
    activity_partitions_maintain(at=at("2025-01-15T00:00:00"))
    activity_partitions_maintain(at=at("2025-04-15T00:00:00"))
    contact = ContactFactory.create()
    for month in range(1, 7):
        log(contact, f"2025-{month:02d}-28T00:00:00", attribute=f"m{month}")
    log(contact, "1990-01-01T00:00:00", attribute="default")
    check_foreign_keys_now()

    result = activity_partitions_maintain(retention_months=3, at=at("2025-06-10T00:00:00"))

    # kept: three whole months before June (March to May), June itself, and the months the
    # migration created around today's date
    assert result.dropped == [partition("2025_01"), partition("2025_02")]
    assert not {partition("2025_01"), partition("2025_02")} & partitions()
    assert set(Activity.objects.values_list("attribute", flat=True)) == {
        "m3", "m4", "m5", "m6", "default",
    }
    assert activity_partitions_maintain(retention_months=3, at=at("2025-06-30")).dropped == []


def test_no_retention_keeps_every_month(settings):
    settings.ACTIVITY_RETENTION_MONTHS = 0
    activity_partitions_maintain(at=at("2000-01-15T00:00:00"))
    assert activity_partitions_maintain(at=at("2031-06-10T00:00:00")).dropped == []
    assert partition("2000_01") in partitions()


def test_the_scheduled_job_uses_the_retention_setting(settings):
    activity_partitions_maintain(at=at("2000-01-15T00:00:00"))
    log(ContactFactory.create(), "2000-01-20T00:00:00")
    check_foreign_keys_now()
    settings.ACTIVITY_RETENTION_MONTHS = 12
    assert run_activity_partitions_maintain() >= 3  # January to March 2000 dropped
    assert not Activity.objects.exists()
    assert not {partition("2000_01"), partition("2000_02"), partition("2000_03")} & partitions()


def test_the_schedule_runs_the_partition_job_daily():
    scheduler = CronScheduler(connection=django_rq.get_connection("sync"))
    scheduler.load_config_from_file("marketo_sync/sync/cron.py")
    crons = {job.func: job.cron for job in scheduler.get_jobs()}
    assert crons[run_activity_partitions_maintain] == "17 3 * * *"


def test_the_timeline_reads_across_partitions_newest_first():
    activity_partitions_maintain(at=at("2031-03-15T00:00:00"))
    contact = ContactFactory.create()
    other = ContactFactory.create()
    ids = [
        log(contact, when, attribute=when).pk
        for when in ("1990-01-01T00:00:00", "2031-03-02T00:00:00", "2031-04-02T00:00:00",
                     "2099-01-01T00:00:00")
    ]
    log(other, "2031-03-03T00:00:00")
    assert [a.pk for a in contact_timeline(contact=contact)] == ids[::-1]
    assert len(set(ids)) == 4 and ids == sorted(ids)


def test_the_changelist_and_change_page_work_across_partitions(admin_client):
    activity_partitions_maintain(at=at("2031-03-15T00:00:00"))
    contact = ContactFactory.create()
    in_month = log(contact, "2031-03-02T00:00:00", old_value="in-a-month")
    in_default = log(contact, "1990-01-01T00:00:00", old_value="in-the-default")
    url = reverse("admin:activities_activity_changelist")
    text = admin_client.get(
        f"{url}?activity_type__exact=merge&q={contact.last_name}"
    ).content.decode()
    assert text.index("in-a-month") < text.index("in-the-default")
    for activity in (in_month, in_default):
        page = admin_client.get(reverse("admin:activities_activity_change", args=[activity.pk]))
        assert page.status_code == 200 and activity.old_value in page.content.decode()


def test_change_data_value_fan_out_writes_into_the_partitioned_table():
    activity_partitions_maintain(at=at("2031-03-15T00:00:00"))
    account = AccountFactory.create()
    contacts = ContactFactory.create_batch(3, account=account)
    result = account_changes_log(
        changes_by_account={account.pk: [("Industry", "Retail", "Banking")]},
        source=Activity.Source.SFDC_SYNC,
        created_at=at("2031-03-20T00:00:00"),
    )
    assert result.activities_logged == 3
    logged = Activity.objects.filter(attribute="Industry")
    assert sorted(logged.values_list("contact_id", flat=True)) == sorted(c.pk for c in contacts)
    assert {stored_in(activity) for activity in logged} == {partition("2031_03")}


def test_the_unfiltered_changelist_estimate_sums_the_analyzed_partitions():
    """Autovacuum never analyzes a partitioned table itself, so its own figure goes stale."""
    activity_partitions_maintain(at=at("2031-03-15T00:00:00"))
    contact = ContactFactory.create()
    for day in range(1, 21):
        log(contact, f"2031-03-{day:02d}T00:00:00")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE activities_activity")  # the table and every partition: 20
        for day in range(1, 21):
            log(contact, f"2031-04-{day:02d}T00:00:00")
        cursor.execute(f"ANALYZE {partition('2031_04')}")
    assert planner_row_estimate(Activity.objects.all()) == 40
