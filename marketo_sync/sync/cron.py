"""The one schedule (`python manage.py rqcron marketo_sync/sync/cron.py`).

It ticks every minute and starts a cycle only when none is running or queued and the last one
ended at least SYNC_INTERVAL_SECONDS ago — Marketo's "5 minutes after the previous cycle ends".
RQ's interval alone would count from the last enqueue and could stack cycles.
"""

from rq import cron

from marketo_sync.sync.jobs import run_sync_formula_refresh, run_sync_reconcile, tick

cron.register(tick, queue_name="sync", cron="* * * * *")
# Drift repair: formula values hourly (their changes do not move SystemModstamp), and a full
# reconcile of ids and modstamps (catches purged records) once a day.
cron.register(run_sync_formula_refresh, queue_name="sync", cron="17 * * * *")
cron.register(run_sync_reconcile, queue_name="sync", cron="43 3 * * *", job_timeout=6 * 3600)
