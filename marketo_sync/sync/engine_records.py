"""Pull just some records now ("Re-sync selected", Convert Person's read-back).

Records fetched by id never move a watermark, and every write is row-locked and guarded by
SystemModstamp, so this may run while a cycle runs: a marketer's re-sync does not wait for a
long full sync. When no cycle holds the lock, it is taken anyway so dead runs get cleaned up.
"""

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import cycle_lock, fail_dead_runs, sync_object
from marketo_sync.sync.models import SyncRun


def sync_records(*, object_name: str, sfdc_ids: list[str]) -> SyncRun:
    with cycle_lock() as acquired:
        if acquired:
            fail_dead_runs()
        return sync_object(
            SalesforceClient.from_settings(), object_name, SyncRun.Mode.RECORDS, sfdc_ids=sfdc_ids
        )
