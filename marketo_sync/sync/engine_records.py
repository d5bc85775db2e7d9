"""Pull just some records now ("Re-sync selected"), under the same cycle lock."""

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.sync.cycle import cycle_lock, fail_dead_runs, sync_object
from marketo_sync.sync.models import SyncRun


class SyncBusy(Exception):
    """A cycle is running; the records are pulled by it or by the next attempt."""


def sync_records(*, object_name: str, sfdc_ids: list[str]) -> SyncRun:
    with cycle_lock() as acquired:
        if not acquired:
            raise SyncBusy("a sync cycle is running; try again when it has finished")
        fail_dead_runs()
        return sync_object(
            SalesforceClient.from_settings(), object_name, SyncRun.Mode.RECORDS, sfdc_ids=sfdc_ids
        )
