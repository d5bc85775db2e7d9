"""`manage.py sync_sfdc`: pull from Salesforce now (or enqueue it with --async)."""

import sys
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from simple_salesforce import Salesforce

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.sync.cycle import sync_cycle
from marketo_sync.sync.maintenance import sync_formula_refresh, sync_reconcile
from marketo_sync.sync.mapping import OBJECT_ORDER
from marketo_sync.sync.models import SyncRun
from marketo_sync.sync.services import sync_enqueue_cycle


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            job_id = sync_enqueue_cycle(full=options["full"])
            self.stdout.write(f"enqueued cycle job {job_id}" if job_id else
                              "a cycle is already queued or running; nothing enqueued")
            return
        if options["dry_run"]:
            self.dry_run(options["objects"] or OBJECT_ORDER)
            return
        if options["reconcile"] or options["formulas"]:
            runs = sync_reconcile() if options["reconcile"] else sync_formula_refresh()
            if runs is None:
                raise CommandError("not started: a sync cycle is running")
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
        cycle = self.run_with_progress(options)
        if cycle is None:
            raise CommandError("not started: another cycle is running, or the sync is paused")
        self.stdout.write(
            f"sync {cycle.status}: {cycle.fetched} fetched, {cycle.created} created, "
            f"{cycle.updated} updated, {cycle.deleted} deleted, {cycle.activities_logged} "
            f"activities, {cycle.accounts_skipped_activity_limit} accounts over the activity "
            f"limit, {cycle.local_edits_overwritten} local edits overwritten, {cycle.errors} "
            f"records quarantined, {cycle.api_calls} API calls"
            f"{' in ' + format(cycle.finished_at - cycle.started_at) if cycle.finished_at else ''}"
        )
        if cycle.status != SyncRun.Status.SUCCESS:
            raise CommandError(cycle.error or cycle.status)

    def run_with_progress(self, options: dict) -> SyncRun | None:
        interactive = sys.stdout.isatty()
        with Progress(
            TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
            RateColumn(), TimeElapsedColumn(), disable=not interactive, transient=False,
        ) as progress:
            tasks: dict[str, Any] = {}

            def report(object_name: str, done: int, total: int | None) -> None:
                if object_name not in tasks:
                    tasks[object_name] = progress.add_task(object_name, total=total)
                progress.update(tasks[object_name], completed=done, total=max(total or 0, done))

            try:
                return sync_cycle(
                    full=options["full"], objects=options["objects"], progress=report
                )
            except SalesforceError as exc:
                raise CommandError(str(exc)) from None

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
