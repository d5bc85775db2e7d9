"""RQ jobs: thin wrappers that take ids and call the sync services."""

import logging

from django.conf import settings
from rq import get_current_job

from marketo_sync.sync.cycle import cycle_log_summary, sync_cycle
from marketo_sync.sync.maintenance import sync_formula_refresh, sync_reconcile
from marketo_sync.sync.partitions import help_with_partitions
from marketo_sync.sync.selectors import sync_start_refusal
from marketo_sync.sync.services import (
    maintenance_due,
    schedule_interval_record,
    sync_cycle_due,
    sync_enqueue_cycle,
    sync_enqueue_maintenance,
    sync_records,
)


def current_job_id() -> str:
    job = get_current_job()
    return job.id if job else ""


logger = logging.getLogger(__name__)


def run_sync_cycle(full: bool = False) -> int | None:
    cycle = sync_cycle(full=full, job_id=current_job_id())
    if cycle is None:
        logger.info("sync cycle not started: %s", sync_start_refusal())
        return None
    cycle_log_summary(cycle)
    return cycle.pk


def run_sync_records(object_name: str, sfdc_ids: list[str]) -> int:
    return sync_records(object_name=object_name, sfdc_ids=sfdc_ids).pk


def run_sync_partitions(run_id: int) -> int:
    return help_with_partitions(run_id)


def tick() -> list[str]:
    """Every minute: enqueue a cycle if one is due, else the maintenance that is due (see
    marketo_sync/sync/cron.py). Returns the ids of the jobs it enqueued."""
    schedule_interval_record(settings.SYNC_INTERVAL_SECONDS)
    if sync_cycle_due():
        job_id = sync_enqueue_cycle()
        return [job_id] if job_id else []
    return [sync_enqueue_maintenance(job) for job in maintenance_due()]


def run_sync_reconcile() -> int:
    return len(sync_reconcile() or [])


def run_sync_formula_refresh() -> int:
    return len(sync_formula_refresh() or [])
