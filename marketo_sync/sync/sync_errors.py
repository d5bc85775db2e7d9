"""Record-level sync errors: one row per failing record, retried until it applies or is dismissed.

Written with one `INSERT … ON CONFLICT` per batch, so a page with bad records costs one statement,
a recurring failure counts its attempts, and a record that fails again after being fixed is
reopened rather than left looking resolved.
"""

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from marketo_sync.sync.models import SyncError

# Retried on every cycle for the first attempts, then less often (up to daily) so a record that
# stays broken does not cost a query per cycle forever.
RETRY_EVERY_CYCLE_ATTEMPTS = 5
RETRY_BACKOFF_START = timedelta(minutes=10)
RETRY_BACKOFF_MAX = timedelta(days=1)


def sync_errors_record(
    *, object_name: str, errors: Mapping[str, str], run_id: int | None
) -> None:
    """Quarantine these records (id → message): create, or count another attempt and reopen."""
    if not errors:
        return
    table = connection.ops.quote_name(SyncError._meta.db_table)
    now = timezone.now()
    ids, messages = zip(*((sfdc_id[:18], message[:2000]) for sfdc_id, message in errors.items()),
                        strict=True)
    sql = f"""
        INSERT INTO {table} AS e
            (object_name, sfdc_id, message, run_id, attempts, first_seen_at, last_seen_at,
             next_try_at, resolved_at, dismissed)
        SELECT %(object)s, v.sfdc_id, v.message, %(run)s, 1, %(now)s, %(now)s, %(now)s, NULL,
               false
        FROM unnest(%(ids)s::varchar[], %(messages)s::text[]) AS v(sfdc_id, message)
        ON CONFLICT (object_name, sfdc_id) DO UPDATE SET
            message = EXCLUDED.message,
            run_id = EXCLUDED.run_id,
            last_seen_at = EXCLUDED.last_seen_at,
            attempts = CASE WHEN e.resolved_at IS NULL THEN e.attempts + 1 ELSE 1 END,
            resolved_at = NULL,
            next_try_at = CASE
                WHEN e.resolved_at IS NOT NULL OR e.attempts + 1 < %(every_cycle)s
                    THEN EXCLUDED.next_try_at
                ELSE EXCLUDED.next_try_at + LEAST(
                    %(backoff)s * power(2, e.attempts + 1 - %(every_cycle)s), %(max)s)
            END
    """  # noqa: S608 - the table name comes from model metadata; values are parameters
    params: dict[str, Any] = {  # psycopg2 adapts the timedeltas to intervals
        "object": object_name,
        "run": run_id,
        "now": now,
        "ids": list(ids),
        "messages": list(messages),
        "every_cycle": RETRY_EVERY_CYCLE_ATTEMPTS,
        "backoff": RETRY_BACKOFF_START,
        "max": RETRY_BACKOFF_MAX,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def sync_errors_resolve(*, object_name: str, sfdc_ids: Iterable[str]) -> None:
    """These records applied cleanly: their open errors are resolved."""
    ids = list(sfdc_ids)
    if ids:
        SyncError.objects.filter(
            object_name=object_name, sfdc_id__any_of=ids, resolved_at__isnull=True
        ).update(resolved_at=timezone.now())


def sync_errors_due(*, object_name: str, limit: int) -> list[str]:
    """Ids of open, undismissed errors whose next try has come."""
    return list(
        SyncError.objects.filter(
            object_name=object_name,
            dismissed=False,
            resolved_at__isnull=True,
            next_try_at__lte=timezone.now(),
        )
        .order_by("next_try_at")
        .values_list("sfdc_id", flat=True)[:limit]
    )
