"""Services that write the activity log and the account history. The sync and local edits both
call these, inside the transaction of the change they record.

Change Data Value fans one account change out to every live contact of the account, so it is
written as one set-based INSERT … SELECT per batch of changes (never a row per contact), and the
5,000-contact rule (`ACTIVITY_CONTACT_LIMIT`) is decided from one grouped count.

The activity table is partitioned by month (migration 0003); `activity_partitions_maintain`
keeps partitions ready ahead of time and drops the months past `ACTIVITY_RETENTION_MONTHS`.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Contact
from activities.models import AccountHistory, Activity

# (attribute, old value, new value) for one account field that changed.
FieldChange = tuple[str, Any, Any]

CHANGES_PER_STATEMENT = 500
# Monthly activity partitions kept ready after the current month.
PARTITION_MONTHS_AHEAD = 2
# Dropping a partition needs the activity table's exclusive lock for a moment. Behind a long
# sync transaction it gives up instead of queueing every timeline read behind it; the next
# scheduled run tries again.
PARTITION_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class PartitionMaintenance:
    created: list[str]
    dropped: list[str]


@dataclass(frozen=True)
class ChangeLogResult:
    activities_logged: int
    accounts_skipped: int


def salesforce_value_text(value: Any) -> str:
    """Salesforce's JSON representation of a value, as activity text (null becomes empty)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return json.dumps(value, default=str)


def live_contact_counts(account_ids: Iterable[int]) -> dict[int, int]:
    """Live (not deleted) contacts per account, for the activity limit."""
    rows = (
        Contact.objects.filter(account_id__in=list(account_ids), is_deleted=False)
        .values("account_id")
        .annotate(contacts=Count("id"))
        .values_list("account_id", "contacts")
    )
    return dict(rows)


def account_changes_log(
    *,
    changes_by_account: Mapping[int, list[FieldChange]],
    source: str,
    reason: str = "",
    sync_run_id: int | None = None,
    user_id: int | None = None,
    created_at: datetime | None = None,
    modstamps: Mapping[int, datetime] | None = None,
    history_only: Mapping[int, list[FieldChange]] | None = None,
) -> ChangeLogResult:
    """Record account field changes: one history row per account and field, always, and one
    Change Data Value activity per changed field for every live contact.

    Accounts with more than `ACTIVITY_CONTACT_LIMIT` live contacts log no activities, are counted
    as skipped and their history rows say so; exactly the limit still logs. `history_only`
    changes (a delete or undelete) go to the history alone. `modstamps` carries the Salesforce
    SystemModstamp of each account's update.
    """
    changes_by_account = {pk: changes for pk, changes in changes_by_account.items() if changes}
    history_only = {pk: changes for pk, changes in (history_only or {}).items() if changes}
    if not changes_by_account and not history_only:
        return ChangeLogResult(0, 0)
    counts = live_contact_counts(changes_by_account)
    limit = settings.ACTIVITY_CONTACT_LIMIT
    over_limit = {pk for pk, contacts in counts.items() if contacts > limit}
    when = created_at or timezone.now()
    history_changes = [
        (account_id, change, account_id in over_limit)
        for account_id, changes in changes_by_account.items()
        for change in changes
    ] + [(account_id, change, False) for account_id, changes in history_only.items()
         for change in changes]
    _insert_history(
        history_changes,
        source=source,
        reason=reason,
        created_at=when,
        sync_run_id=sync_run_id,
        user_id=user_id,
        modstamps=modstamps or {},
    )
    rows = [
        (account_id, attribute, salesforce_value_text(old), salesforce_value_text(new))
        for account_id, changes in changes_by_account.items()
        if account_id not in over_limit
        for attribute, old, new in changes
    ]
    logged = 0
    for start in range(0, len(rows), CHANGES_PER_STATEMENT):
        logged += _insert_fan_out(
            rows[start : start + CHANGES_PER_STATEMENT],
            source=source,
            reason=reason,
            sync_run_id=sync_run_id,
            user_id=user_id,
            created_at=when,
        )
    return ChangeLogResult(activities_logged=logged, accounts_skipped=len(over_limit))


def _insert_history(
    changes: list[tuple[int, FieldChange, bool]],
    *,
    source: str,
    reason: str,
    created_at: datetime,
    sync_run_id: int | None,
    user_id: int | None,
    modstamps: Mapping[int, datetime],
) -> None:
    """One INSERT … SELECT FROM unnest(arrays) for a page's history rows: no model instances,
    so recording history adds little to a page that changes thousands of accounts."""
    if not changes:
        return
    table = connection.ops.quote_name(AccountHistory._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (account_id, attribute, old_value, new_value, sfdc_modstamp, activities_skipped,
                 source, reason, created_at, sync_run_id, user_id)
            SELECT v.*, %s, %s, %s, %s, %s
            FROM unnest(%s::bigint[], %s::varchar[], %s::text[], %s::text[], %s::timestamptz[],
                        %s::boolean[]) AS v
            """,  # noqa: S608 - the table name comes from model metadata; values are parameters
            [
                source, reason, created_at, sync_run_id, user_id,
                [account_id for account_id, _, _ in changes],
                [attribute for _, (attribute, _, _), _ in changes],
                [salesforce_value_text(old) for _, (_, old, _), _ in changes],
                [salesforce_value_text(new) for _, (_, _, new), _ in changes],
                [modstamps.get(account_id) for account_id, _, _ in changes],
                [skipped for _, _, skipped in changes],
            ],
        )


def _insert_fan_out(
    rows: list[tuple[int, str, str, str]],
    *,
    source: str,
    reason: str,
    sync_run_id: int | None,
    user_id: int | None,
    created_at: datetime,
) -> int:
    """One INSERT … SELECT joining the changed fields to the accounts' live contacts."""
    activity_table = connection.ops.quote_name(Activity._meta.db_table)
    contact_table = connection.ops.quote_name(Contact._meta.db_table)
    values_sql = ", ".join(["(%s::bigint, %s, %s, %s)"] * len(rows))
    params: list[Any] = [
        Activity.Type.CHANGE_DATA_VALUE,
        reason,
        source,
        created_at,
        sync_run_id,
        user_id,
    ]
    for row in rows:
        params.extend(row)
    sql = f"""
        INSERT INTO {activity_table}
            (contact_id, activity_type, attribute, old_value, new_value, reason, source,
             created_at, sync_run_id, user_id)
        SELECT c.id, %s, v.attribute, v.old_value, v.new_value, %s, %s, %s, %s, %s
        FROM (VALUES {values_sql}) AS v(account_id, attribute, old_value, new_value)
        JOIN {contact_table} c ON c.account_id = v.account_id AND NOT c.is_deleted
    """  # noqa: S608 - table names come from model metadata; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def activity_partitions_maintain(
    *, retention_months: int | None = None, at: datetime | None = None
) -> PartitionMaintenance:
    """Create the monthly activity partitions of this month and `PARTITION_MONTHS_AHEAD` after
    it, and drop whole months older than the retention (`ACTIVITY_RETENTION_MONTHS`, 0 keeps
    everything). Idempotent: the schedule calls it daily."""
    if retention_months is None:
        retention_months = settings.ACTIVITY_RETENTION_MONTHS
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [PARTITION_LOCK_TIMEOUT])
        cursor.execute(
            "SELECT action, partition_name "
            "FROM activities_activity_partitions_maintain(%s, %s, %s)",
            [PARTITION_MONTHS_AHEAD, retention_months, at or timezone.now()],
        )
        rows = cursor.fetchall()
    return PartitionMaintenance(
        created=[name for action, name in rows if action == "created"],
        dropped=[name for action, name in rows if action == "dropped"],
    )
