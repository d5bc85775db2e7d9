"""One lifecycle for every kind of run: cycles, objects, re-syncs, maintenance, partitions.

Whatever ends a run, it ends recorded: an API limit pauses it, a Salesforce fault, a lost lock,
a fenced write or a database error fails it with its message, and any other exception fails it
too and is raised again for the worker to report. No run is left `running` for the next cycle to
call dead. A run carries the cycle generation it was started under (see `fence`): it is created
only while that generation is current, and once a newer cycle took the lock it can only end failed.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, connection
from django.utils import timezone

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceApiLimitReached, SalesforceError
from marketo_sync.sync.fence import FenceLost, fence_current, fenced
from marketo_sync.sync.models import SyncRun


class SyncStopped(Exception):
    """Raised between pages to end a run early; the pages already committed stay applied."""


# Failures a run records and ends on; the caller reads the outcome from the run.
EXPECTED_FAILURES = (SalesforceError, SyncStopped, FenceLost, DatabaseError)


def failure_outcome(exc: BaseException) -> tuple[str, str]:
    """The status and message a run ends with after this exception."""
    if isinstance(exc, SalesforceApiLimitReached):
        return SyncRun.Status.PAUSED, str(exc)
    if isinstance(exc, SalesforceError | SyncStopped | FenceLost):
        return SyncRun.Status.FAILED, str(exc)
    if isinstance(exc, DatabaseError):
        return SyncRun.Status.FAILED, f"database error: {exc}".strip()
    return SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"


@contextmanager
def outcome_recorded(record: Callable[[str, str], None]) -> Iterator[None]:
    """Call `record(status, error)` once the block ends, however it ends.

    Expected failures (Salesforce, a stopped run, the database) end the block quietly; anything
    else is recorded and raised again. A dropped database connection is replaced first, so the
    failure can still be written.
    """
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, DatabaseError):
            connection.close()
        record(*failure_outcome(exc))
        if not isinstance(exc, EXPECTED_FAILURES):
            raise
    else:
        record(SyncRun.Status.SUCCESS, "")


def run_start(
    *, mode: str, object_name: str = "", job_id: str = "", generation: int | None = None
) -> SyncRun:
    """A new run, writing under `generation` (None: a re-sync of selected records, unfenced)."""
    now = timezone.now()
    with fenced(generation):
        return SyncRun.objects.create(
            object_name=object_name, mode=mode, started_at=now, heartbeat_at=now, job_id=job_id,
            generation=generation,
        )


@dataclass
class RunRecording:
    """The run being recorded, and the client whose API calls it is charged (once known)."""

    run: SyncRun
    client: SalesforceClient | None = None
    calls_before: int = 0

    def charge(self, client: SalesforceClient) -> SalesforceClient:
        self.client, self.calls_before = client, client.api_calls
        return client


@contextmanager
def run_recorded(
    run: SyncRun, *, before_save: Callable[[SyncRun], None] | None = None
) -> Iterator[RunRecording]:
    """Own the run's end: status, error, finish time and API accounting, saved once.

    The counters the page transactions added are read back first; `before_save` may complete
    the run (a cycle sums its objects' runs). After the block, `run` holds what was saved.
    """
    recording = RunRecording(run)

    def record(status: str, error: str) -> None:
        run.refresh_from_db()
        if status != SyncRun.Status.FAILED and not fence_current(run.generation):
            status, error = SyncRun.Status.FAILED, (
                "fenced: another cycle took the sync lock after this run's lock expired; this "
                "run's writes since then were refused"
            )
        client = recording.client
        if client is not None:
            # helpers of a partitioned read add their own calls to the run
            run.api_calls += client.api_calls - recording.calls_before
            run.api_used, run.api_limit = client.api_used, client.api_limit
        run.status, run.error, run.finished_at = status, error, timezone.now()
        if before_save is not None:
            before_save(run)
        run.save()

    with outcome_recorded(record):
        yield recording
