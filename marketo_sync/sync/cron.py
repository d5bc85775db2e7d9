"""The one schedule (`python manage.py rqcron marketo_sync/sync/cron.py`).

It ticks every minute and starts a cycle only when none is running or queued and the last one
ended at least SYNC_INTERVAL_SECONDS ago — Marketo's "5 minutes after the previous cycle ends".
RQ's interval alone would count from the last enqueue and could stack cycles. Between cycles the
same tick starts the drift repair that is due: formula values hourly (their changes do not move
SystemModstamp) and a reconcile of ids and modstamps daily (it catches purged records).
"""

from rq import cron

from marketo_sync.sync.jobs import tick

cron.register(tick, queue_name="sync", cron="* * * * *")
