"""Bulk API 2.0 reads for full syncs of large objects.

Each step (create the job, wait for it, fetch a result page) is its own `client.call`, so an
expired session or a 503 repeats that step only, not the whole extract. Results are CSV; values
are turned back into what the REST API would have sent (types from the cached describe), so a
record reads the same whichever API brought it.
"""

import csv
import itertools
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import Operation

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceRequestError

INTEGER_TYPES = {"int"}
FIRST_POLL_SECONDS = 0.25
JOB_TIMEOUT_SECONDS = 86400  # a day, as simple-salesforce waits
NUMBER_TYPES = {"double", "currency", "percent"}


@dataclass(frozen=True)
class ReadStarted:
    """A query job of a whole object, created before the object's turn in a cycle and now
    complete (see `ahead`): `total` records (deleted ones included), the local time just
    before the job was created, so its extract holds nothing older, and its first page of
    results once downloaded."""

    total: int
    job_id: str
    created_at: datetime
    first_results: dict | None = None


def typed_cell(field_type: str) -> Callable[[str], Any] | None:
    """How a non-empty CSV cell of this type reads as its REST value; None: as the text it is."""
    if field_type == "boolean":
        return lambda value: value == "true"
    if field_type in INTEGER_TYPES:
        return lambda value: int(float(value))
    if field_type in NUMBER_TYPES:
        return float
    if field_type == "datetime":
        return bulk_datetime_as_rest
    return None


def rest_records(lines: Iterable[str], field_types: dict[str, str]) -> Iterator[dict]:
    """Records of Bulk CSV lines (header first), valued as the REST API would send them.

    An empty cell is null; only the columns of other types than text are converted further,
    so most cells cost a comparison, not a call.
    """
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return
    typed = [
        (name, read) for name in header
        if (read := typed_cell(field_types.get(name, ""))) is not None
    ]
    for cells in reader:
        record = {
            name: (value if value != "" else None)
            for name, value in zip(header, cells, strict=False)
        }
        for name, read in typed:
            value = record.get(name)
            if value is not None:
                record[name] = read(value)
        yield record


def bulk_datetime_as_rest(value: str) -> str:
    """`2026-11-24T21:19:53.000Z` (Bulk) → `2026-11-24T21:19:53.000+0000` (REST)."""
    if value.endswith("Z"):
        value = value[:-1] + "+0000"
    if value[19:20] != ".":
        value = value[:19] + ".000" + value[19:]
    return value


def lines_of(text: str) -> Iterator[str]:
    """The text's lines, each made only when it is read (csv joins quoted newlines back).

    A list of a download's lines would hold the download a second time, and a StringIO a
    third (four bytes a character): a wide object's 10,000-row page is megabytes.
    """
    start = 0
    while start < len(text):
        end = text.find("\n", start) + 1 or len(text)
        yield text[start:end]
        start = end


def wait_for_job(
    job_info: Callable[[], dict],
    poll_seconds: float,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Poll a Bulk job until it is complete: first after a quarter of a second, then at
    doubling intervals up to `poll_seconds`.

    A small extract that Salesforce prepares in a second is read a second later, not after
    whole poll intervals; a long one costs a few polls more than polling at the interval from
    the start. Each poll is its own API call, so a transient failure repeats only that poll.
    `sleep` waits between polls (one that raises stops the wait; default `time.sleep`).
    """
    sleep = sleep or time.sleep
    delay = min(FIRST_POLL_SECONDS, poll_seconds)
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while True:
        sleep(delay)
        info = job_info()
        if info["state"] == "JobComplete":
            return
        if info["state"] in ("Aborted", "Failed"):
            raise SalesforceRequestError(
                f"Bulk API job failed: {info.get('errorMessage') or info['state']}",
                "BULK_JOB_FAILED",
            )
        if time.monotonic() > deadline:
            raise SalesforceRequestError(
                f"Bulk API job not complete after {JOB_TIMEOUT_SECONDS} s: {info['state']}",
                "BULK_JOB_TIMEOUT",
            )
        delay = min(delay * 2, poll_seconds)


def bulk_client(sf: Salesforce, object_name: str) -> Any:
    """The Bulk 2.0 client of one object: simple-salesforce exposes the individual job steps
    only there."""
    return getattr(sf.bulk2, object_name)._client


def start_query_job(client: SalesforceClient, object_name: str, soql: str) -> str:
    """Create a `queryAll` Bulk 2.0 job; returns its id. Salesforce prepares the extract while
    the caller does other work."""
    job = client.call(lambda sf: bulk_client(sf, object_name).create_job(Operation.query_all, soql))
    return str(job["id"])


def wait_for_query_job(
    client: SalesforceClient,
    object_name: str,
    job_id: str,
    poll_seconds: float,
    sleep: Callable[[float], None] | None = None,
) -> None:
    wait_for_job(
        lambda: client.call(lambda sf: bulk_client(sf, object_name).get_job(job_id, True)),
        poll_seconds, sleep,
    )


def abort_query_job(client: SalesforceClient, object_name: str, job_id: str) -> None:
    client.call(lambda sf: bulk_client(sf, object_name).abort_job(job_id, True))


def job_results(
    client: SalesforceClient, object_name: str, job_id: str, locator: str, max_records: int
) -> dict:
    """One page of a complete job's results (`records` as CSV, and the next `locator`)."""
    return client.call(
        lambda sf: bulk_client(sf, object_name).get_query_results(job_id, locator, max_records)
    )


def bulk_records(
    client: SalesforceClient,
    object_name: str,
    soql: str,
    field_types: dict[str, str],
    *,
    max_records: int,
    poll_seconds: float,
    page_size: int,
) -> Generator[list[dict], None, None]:
    """Yield the records of a new `queryAll` Bulk 2.0 job in pages of at most `page_size`."""
    job_id = start_query_job(client, object_name, soql)
    wait_for_query_job(client, object_name, job_id, poll_seconds)
    yield from job_records(
        client, object_name, job_id, field_types, max_records=max_records, page_size=page_size
    )


def job_records(
    client: SalesforceClient,
    object_name: str,
    job_id: str,
    field_types: dict[str, str],
    *,
    max_records: int,
    page_size: int,
    first_results: dict | None = None,
) -> Generator[list[dict], None, None]:
    """Yield the records of a complete query job in pages of at most `page_size`, from its
    first page of results (downloaded here unless given).

    Each result page (up to `max_records` rows of CSV) is parsed as it is consumed, so memory
    holds two CSV downloads (this one and the next) and one page of records, whatever the size
    of the object.
    """

    def download(locator: str) -> dict:
        return job_results(client, object_name, job_id, locator, max_records)

    # The next result page downloads while this one is parsed and written: the locator is
    # known as soon as a page arrives. At most two downloads are held at once.
    downloader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-download")
    try:
        result: dict | None = download("") if first_results is None else first_results
        while result is not None:
            pending = downloader.submit(download, result["locator"]) if result["locator"] else None
            records = rest_records(lines_of(result.pop("records")), field_types)
            while page := list(itertools.islice(records, page_size)):
                yield page
            result = pending.result() if pending is not None else None
    finally:
        downloader.shutdown(wait=False, cancel_futures=True)
