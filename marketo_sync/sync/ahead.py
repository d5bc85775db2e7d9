"""Bulk jobs started ahead: a full cycle's large objects are prepared by Salesforce while the
objects before them are read.

A Bulk API 2.0 extract takes Salesforce from a second to minutes to prepare, and a full read
used to start its job only at its object's turn, then wait. Once a full cycle's first object is
read (so the login and the API budget are good), a thread with a client of its own counts each
later object read in full, creates the query job of every one that will be read through Bulk
(the same query, so the same extract), waits for it and downloads its first page of results;
the object's run takes the complete job and starts with records in hand. The thread reads from
Salesforce only and touches no database. A job that no run reads (the cycle stopped before its
object, or waiting for the job failed) is aborted. Anything that fails here is logged and left
to the object's run, which then reads as if nothing had been started.
"""

import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace

from django.conf import settings
from django.utils import timezone

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.bulk import (
    ReadStarted,
    abort_query_job,
    job_results,
    start_query_job,
    wait_for_query_job,
)
from marketo_sync.sync.engine import cached_describe, select_soql
from marketo_sync.sync.models import SyncState
from marketo_sync.sync.partitions import count_records

logger = logging.getLogger(__name__)


class Stopped(Exception):
    """The cycle ended while a job was still being prepared."""


class BulkJobsAhead:
    """The cycle's later full reads, started once its first read succeeded (see the module)."""

    def __init__(self, object_names: Iterable[str]) -> None:
        self.object_names = list(object_names)
        self.client: SalesforceClient | None = None
        self.reads: dict[str, Future[ReadStarted | None]] = {
            name: Future() for name in self.object_names
        }
        self.spent = dict.fromkeys(self.object_names, 0)  # API calls, per object
        self.jobs: dict[str, str] = {}  # job ids, per object
        self.used: set[str] = set()  # objects whose run reads the job started here
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        # API calls of reads no run took (the cycle stopped first): the cycle's own.
        self.uncharged_calls = 0

    @contextmanager
    def charged_to(self, name: str) -> Iterator[SalesforceClient]:
        assert self.client is not None  # started
        before = self.client.api_calls
        try:
            yield self.client
        finally:
            self.spent[name] += self.client.api_calls - before

    def start(self) -> None:
        """Build each object's query here (the describe it needs is cached in the database),
        then count and create jobs in a thread; once only. Nothing to start when full reads are
        partitioned (each counts its object and shares it among workers)."""
        if self.client is not None or not self.object_names or settings.SYNC_PARTITIONS >= 2:
            return
        self.client = SalesforceClient.from_settings()
        queries = {}
        try:
            for name in self.object_names:
                state, _ = SyncState.objects.get_or_create(object_name=name)
                with self.charged_to(name) as client:
                    queries[name] = select_soql(name, cached_describe(client, state)["fields"])
        except SalesforceError as exc:
            logger.warning("the Bulk jobs were not started ahead; each object reads in its "
                           "turn: %s", exc)
            for read in self.reads.values():
                read.set_result(None)
            return
        self.thread = threading.Thread(
            target=self.prepare, args=(queries,), name="bulk-ahead", daemon=True
        )
        self.thread.start()

    def prepare(self, queries: dict[str, str]) -> None:
        """Every object's read is settled, whatever happens here (a run may be waiting)."""
        try:
            self.start_jobs(queries)
        except BaseException:
            logger.exception("starting the Bulk jobs ahead failed; each object reads in its turn")
        finally:
            for read in self.reads.values():
                if not read.done():
                    read.set_result(None)

    def start_jobs(self, queries: dict[str, str]) -> None:
        """Count every object first and create the jobs of the large ones, then wait for each
        job in the cycle's order: no object waits behind a later one's count."""
        created: list[tuple[str, ReadStarted]] = []
        for name, soql in queries.items():
            try:
                with self.charged_to(name) as client:
                    total = count_records(client, name)
                    if total <= settings.SYNC_BULK_THRESHOLD:
                        self.reads[name].set_result(None)
                        continue
                    created_at = timezone.now()
                    self.jobs[name] = start_query_job(client, name, soql)
                    created.append((name, ReadStarted(total, self.jobs[name], created_at)))
            except SalesforceError as exc:
                self.fail(name, exc)
        for name, read in created:
            try:
                with self.charged_to(name) as client:
                    wait_for_query_job(
                        client, name, read.job_id, settings.SYNC_BULK_POLL_SECONDS, self.pause
                    )
                    # Downloaded now too: the object's turn starts with records in hand.
                    first = job_results(client, name, read.job_id, "",
                                        settings.SYNC_BULK_MAX_RECORDS)
            except Stopped:
                return  # the cycle ended: the jobs no run took are aborted
            except SalesforceError as exc:
                self.fail(name, exc)
                continue
            self.reads[name].set_result(replace(read, first_results=first))

    def pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped

    def fail(self, name: str, exc: Exception) -> None:
        logger.warning("%s: the Bulk job started ahead failed; the object's turn reads it: %s",
                       name, exc)
        self.reads[name].set_result(None)

    def take(self, object_name: str) -> tuple[ReadStarted | None, int]:
        """The object's read started ahead, once its job is complete (None if none was), and
        the API calls it cost, which the object's run is charged."""
        read = self.reads.get(object_name)
        if read is None or self.client is None:
            return None, 0
        started = read.result()
        if started is not None:
            self.used.add(object_name)
        calls, self.spent[object_name] = self.spent[object_name], 0
        return started, calls

    def close(self) -> None:
        """Stop preparing and abort the jobs no run reads (the cycle stopped before their
        object, or waiting for one failed); the calls no run was charged are the cycle's."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        for name, job_id in self.jobs.items():
            if name in self.used:
                continue
            with self.charged_to(name) as client:
                try:
                    abort_query_job(client, name, job_id)
                except SalesforceError as exc:
                    logger.warning("%s: could not abort Bulk job %s: %s", name, job_id, exc)
        self.uncharged_calls = sum(self.spent.values())
