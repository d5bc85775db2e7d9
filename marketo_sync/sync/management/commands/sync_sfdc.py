"""`manage.py sync_sfdc`: pull from Salesforce now (or enqueue it with --async), and the
operator's view and switches of the sync (--status, --pause, --resume)."""

import getpass
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from simple_salesforce import Salesforce

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.cycle import cycle_summary, sync_cycle
from marketo_sync.sync.maintenance import sync_formula_refresh, sync_reconcile
from marketo_sync.sync.mapping import OBJECT_ORDER
from marketo_sync.sync.models import SyncError, SyncRun
from marketo_sync.sync.selectors import running_description, sync_start_refusal
from marketo_sync.sync.services import sync_enqueue_cycle, sync_set_paused, sync_status

T = TypeVar("T")
# Without a terminal, a progress line at most this often (a log file or pipe gets news, not
# a line per page).
PROGRESS_LINE_SECONDS = 5.0


class RateColumn(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Any) -> Any:
        speed = task.finished_speed or task.speed
        return super().render(task) if speed is None else f"{speed:,.0f} rec/s"


class Command(BaseCommand):
    help = "Pull accounts, people and opportunities from Salesforce now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="re-read everything")
        parser.add_argument("--object", choices=OBJECT_ORDER, action="append", dest="objects")
        parser.add_argument("--async", action="store_true", dest="enqueue",
                            help="enqueue the cycle on the RQ 'sync' queue instead")
        parser.add_argument("--reconcile", action="store_true",
                            help="compare ids and modstamps with Salesforce and repair drift")
        parser.add_argument("--formulas", action="store_true",
                            help="re-read formula fields (their changes do not move modstamps)")
        parser.add_argument("--dry-run", action="store_true",
                            help="check the connection and show the backlog; change nothing")
        operator = parser.add_mutually_exclusive_group()
        operator.add_argument("--status", action="store_true",
                              help="print what the admin's sync status page shows")
        operator.add_argument("--pause", action="store_true",
                              help="pause the sync (as the status page's Pause button)")
        operator.add_argument("--resume", action="store_true",
                              help="resume a paused sync (as the Resume button)")
        parser.add_argument("--reason", default="", help="with --pause: why, shown to others")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reason"] and not options["pause"]:
            raise CommandError("--reason goes with --pause")
        if options["status"]:
            self.print_status()
            return
        if options["pause"] or options["resume"]:
            sync_set_paused(
                paused=options["pause"], by=f"{getpass.getuser()} (sync_sfdc --pause)",
                reason=options["reason"],
            )
            self.stdout.write(
                f"sync {sync_status()['pause']}" if options["pause"] else "sync resumed"
            )
            return
        if options["enqueue"]:
            job_id = sync_enqueue_cycle(full=options["full"])
            self.stdout.write(f"enqueued cycle job {job_id}" if job_id else
                              "a cycle is already queued or running; nothing enqueued")
            return
        if options["dry_run"]:
            self.dry_run(options["objects"] or OBJECT_ORDER)
            return
        if options["reconcile"] or options["formulas"]:
            maintenance = sync_reconcile if options["reconcile"] else sync_formula_refresh
            runs = self.run_with_progress(maintenance, "records compared")
            if runs is None:
                raise CommandError(f"not started: {sync_start_refusal()}")
            for run in runs:
                self.stdout.write(
                    f"{run.get_mode_display()} {run.object_name}: {run.status}, {run.fetched} "
                    f"compared, {run.created} pulled new, {run.updated} updated, {run.deleted} "
                    f"marked deleted, {run.activities_logged} activities, {run.api_calls} API "
                    f"calls{': ' + run.error if run.error else ''}"
                )
            if any(run.status != SyncRun.Status.SUCCESS for run in runs):
                raise CommandError("not every object completed; see the messages above")
            return
        cycle = self.run_with_progress(
            partial(sync_cycle, full=options["full"], objects=options["objects"]),
            "records applied",
        )
        if cycle is None:
            raise CommandError(f"not started: {sync_start_refusal()}")
        self.stdout.write(cycle_summary(cycle))
        if cycle.status != SyncRun.Status.SUCCESS:
            raise CommandError(cycle.error or cycle.status)

    def run_with_progress(self, run: Callable[..., T], unit: str) -> T:
        """`run(progress=…)` with a live bar on a terminal, else a line every few seconds."""
        interactive = sys.stdout.isatty()
        line_printed_at = time.monotonic()
        with Progress(
            TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
            RateColumn(), TimeElapsedColumn(), disable=not interactive, transient=False,
        ) as progress:
            tasks: dict[str, Any] = {}

            def report(object_name: str, done: int, total: int | None) -> None:
                nonlocal line_printed_at
                if object_name not in tasks:
                    tasks[object_name] = progress.add_task(object_name, total=total)
                progress.update(tasks[object_name], completed=done, total=max(total or 0, done))
                if not interactive:
                    now = time.monotonic()
                    if now - line_printed_at >= PROGRESS_LINE_SECONDS:
                        line_printed_at = now
                        of = f" of about {total:,}" if total else ""
                        self.stdout.write(f"{object_name}: {done:,}{of} {unit}")
                        self.stdout.flush()

            try:
                return run(progress=report)
            except SalesforceError as exc:
                raise CommandError(str(exc)) from None

    def print_status(self) -> None:
        """The status page as text: state, pause, next cycle, objects, errors, API budget."""
        status = sync_status()
        now = timezone.now()
        if status["paused"]:
            state = f"the sync is {status['pause']}"
        elif status["running"]:
            state = running_description() or "a cycle is queued"
        else:
            state = "idle"
        self.stdout.write(f"state: {state}")
        last = status["last_cycle"]
        if last is not None:
            ended = f"{last.finished_at:%Y-%m-%d %H:%M:%S} UTC" if last.finished_at else "running"
            self.stdout.write(
                f"last cycle: {last.status}, started {last.started_at:%Y-%m-%d %H:%M:%S} UTC, "
                f"ended {ended}{': ' + last.error if last.error else ''}"
            )
        next_at = status["next_cycle_at"]
        self.stdout.write(
            f"next cycle: {next_at:%Y-%m-%d %H:%M:%S} UTC" if next_at
            else "next cycle: after the running cycle ends"
        )
        self.stdout.write(f"{'object':<12} {'watermark':<24} {'lag':>10} {'backlog':>9}")
        for state_row in status["states"]:
            watermark = state_row.modstamp
            lag = f"{(now - watermark).total_seconds():,.0f} s" if watermark else "-"
            backlog = "-" if state_row.backlog is None else f"{state_row.backlog:,}"
            mark = f"{watermark:%Y-%m-%d %H:%M:%S} UTC" if watermark else "not synced yet"
            self.stdout.write(f"{state_row.object_name:<12} {mark:<24} {lag:>10} {backlog:>9}")
        open_errors = SyncError.objects.filter(dismissed=False, resolved_at=None).count()
        self.stdout.write(f"open record errors: {open_errors}")
        if status["api_limit"] is None or status["api_used"] is None:
            self.stdout.write("daily API budget: not measured yet")
        else:
            self.stdout.write(
                f"daily API budget: {status['api_limit'] - status['api_used']:,} calls remaining "
                f"({status['api_used']:,} of {status['api_limit']:,} used)"
            )

    def dry_run(self, objects: tuple[str, ...] | list[str]) -> None:
        try:
            client = SalesforceClient.from_settings()
            for object_name in objects:
                # object names come from the fixed OBJECT_ORDER choices
                soql = f"SELECT COUNT() FROM {object_name}"  # noqa: S608
                total = client.call(partial(Salesforce.query, query=soql))["totalSize"]
                self.stdout.write(f"{object_name:<12} {total:>9,} records in Salesforce")
        except SalesforceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"dry run: {client.api_calls} API calls, nothing changed")
