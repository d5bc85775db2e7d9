"""The one schedule (`python manage.py rqcron marketo_sync/sync/cron.py`).

It ticks every minute and starts a cycle only when none is running or queued and the last one
ended at least SYNC_INTERVAL_SECONDS ago — Marketo's "5 minutes after the previous cycle ends".
RQ's interval alone would count from the last enqueue and could stack cycles. Between cycles the
same tick starts the drift repair that is due: formula values hourly (their changes do not move
SystemModstamp) and a reconcile of ids and modstamps daily (it catches purged records).
Daily, the activity table's monthly partitions are created ahead and the months past
ACTIVITY_RETENTION_MONTHS dropped (idempotent; partitions exist two months ahead, so a missed day
costs nothing).
"""

from rq import cron

from activities.jobs import run_activity_partitions_maintain
from marketo_sync.sync.jobs import tick

cron.register(tick, queue_name="sync", cron="* * * * *")
cron.register(run_activity_partitions_maintain, queue_name="sync", cron="17 3 * * *")
