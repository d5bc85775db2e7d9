"""marketo-sync benchmarks: ratios measured side by side in one run (`make bench`).

Absolute times on shared machines are noise; each figure here is compared with a baseline
measured in the same run on the same data. Results are printed and written as JSON.

    python -m benchmarks [--seed large] [--out benchmarks/results/latest.json]
    python -m benchmarks --only people_1m [--people 1000000]   # `make bench-people`
    python -m benchmarks --only activities_scale [--activity-rows 50000000]
    python -m benchmarks --seed xlarge [--seed-scale 1]   # the `xlarge` section alone
    python -m benchmarks --only full_sync [--seed large]   # the `full_sync` section alone

BENCH_REDIS_URL picks the Redis database (default /14).
"""

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "marketo_sync_bench"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/14"
# Orgs measured in a section of their own, with the sandbox's SQLite file on disk: in memory,
# `xlarge`'s million people would be the sandbox's resident memory, and its peak RSS would
# measure the data instead of the serving.
BIG_SEEDS = {"xlarge"}
# The deploy configuration: with DEBUG=1 Django keeps the text of the last 9,000 queries, and
# bulk upserts of 2,000 rows make that log, not the sync, what is measured.
DEPLOY = {
    "DEBUG": "0",
    "SECRET_KEY": "benchmark-only-" + "k" * 50,
    "SECURE_SSL_REDIRECT": "0",
    "DEV_TOOLS": "1",  # `sfdc_sandbox`, and Salesforce settings from its state file
}


def prepare_environment(database: str = BENCH_DB) -> None:
    """A database of its own and a Redis db of its own: never the demo's data."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketo_sync.settings")
    os.environ.update(DEPLOY)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", BENCH_REDIS_URL)
    os.environ.setdefault("SALESFORCE_API_RESERVE", "0")
    subprocess.run([sys.executable, "scripts/ensure_database.py"], cwd=ROOT, check=True)  # noqa: S603
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # admin pages are measured in the deploy configuration: static files from collectstatic
    call_command("collectstatic", interactive=False, verbosity=0)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def reset_local() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE activities_activity, accounts_opportunity, accounts_contact, "
            "accounts_account, accounts_salesforceuser, sync_syncrun, sync_syncstate, "
            "sync_syncerror, accounts_personconversion RESTART IDENTITY CASCADE"
        )


class Sandbox:
    """The sandbox in its own process, so it does not share our GIL."""

    def __init__(self, seed: str, scale: float = 1) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
        self.state_file = self.directory / "state.json"
        on_disk = ["--data-dir", str(self.directory / "org")] if seed in BIG_SEEDS else []
        started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "sfdc_sandbox", "--seed", seed, "--port", "0",
             "--seed-scale", str(scale), "--state-file", str(self.state_file), *on_disk],
            cwd=ROOT, env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = started + 600
        while not self.state_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.2)
        self.start_seconds = time.monotonic() - started  # the process starting, seeding
        os.environ["SALESFORCE_SANDBOX_STATE"] = str(self.state_file)
        from django.conf import settings

        settings.SALESFORCE_SANDBOX_STATE = self.state_file
        from marketo_sync.sandbox.control import SandboxControl

        self.control = SandboxControl.from_state_file(self.state_file)

    def peak_rss_mb(self) -> int:
        """The sandbox process's high-water mark so far (seeding and serving)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)


def process_cpu_seconds(pids: set[int] | None = None, name_prefix: str = "") -> float:
    """User + system CPU of the processes with these pids or whose name starts with the prefix,
    and of their children that ended (PostgreSQL's postmaster holds the CPU of the backends
    that closed, such as the sync's second connection).

    PostgreSQL's backends and the sandbox are other processes: their CPU is what the worker's
    own rusage cannot see.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:  # the process ended while we looked
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        pid = int(stat_file.parent.name)
        if (pids and pid in pids) or (name_prefix and name.startswith(name_prefix)):
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(value) for value in fields[11:15]) / tick
    return total


def cpu_snapshot(sandbox: Sandbox) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "worker": usage.ru_utime + usage.ru_stime,
        "postgres": process_cpu_seconds(name_prefix="postgres"),
        "sandbox": process_cpu_seconds(pids={sandbox.process.pid}),
    }


def bench_full_sync(sandbox: Sandbox) -> dict:
    """Fetch-only vs COPY-only vs the product's full sync, on the same Contact rows."""
    from django.db import connection, transaction

    from marketo_sync.salesforce import client as client_module
    from marketo_sync.salesforce.client import SalesforceClient
    from marketo_sync.sync.cycle import sync_cycle
    from marketo_sync.sync.mapping import OBJECT_ORDER, UNQUERYABLE_TYPES

    reset_local()
    client_module._token_cache.clear()
    client = SalesforceClient.from_settings()
    total = sum(sandbox.control.count(o, include_deleted=True) for o in OBJECT_ORDER)
    fields = {  # what the sync reads: compound fields are not queryable through Bulk
        o: [f["name"] for f in client.describe(o)["fields"] if f["type"] not in UNQUERYABLE_TYPES]
        for o in OBJECT_ORDER
    }

    def fetch_all() -> int:
        count = 0
        for object_name in OBJECT_ORDER:
            soql = f"SELECT {', '.join(fields[object_name])} FROM {object_name}"  # noqa: S608
            for page in client.query_pages(soql, include_deleted=True):
                count += len(page["records"])
        return count

    fetch_seconds, fetched = timed(fetch_all)

    buffer = io.StringIO()  # built before the clock starts: only the load is timed
    for index in range(fetched):
        buffer.write(
            f"{index}\t2026-11-01 00:00:00+00\tf\t{{}}\t2026-11-01 00:00:00+00\t"
            f"\\N\t\\N\tlead\tFirst\tLast {index}\tp{index}@example.org\t+1 555\t"
            f"Engineer\t\t\t\\N\t\\N\t\\N\t\t\\N\t\\N\t\n"
        )
    columns = (
        "id, sfdc_last_modified, is_deleted, custom_fields, synced_at, sfdc_id, "
        "sfdc_lead_id, sfdc_type, first_name, last_name, email, phone, title, company, "
        "lead_status, account_id, owner_id, sfdc_lead_last_modified, "
        "master_record_sfdc_id, locally_edited_at, locally_edited_by_id, account_sfdc_id"
    )

    def copy_all() -> int:
        """COPY into the real contacts table (its indexes, constraints and WAL), rolled back."""
        buffer.seek(0)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(f"COPY accounts_contact ({columns}) FROM STDIN", buffer)
            transaction.set_rollback(True)
            return cursor.rowcount

    copy_seconds, _ = timed(copy_all)
    client_module._token_cache.clear()
    cpu_before = cpu_snapshot(sandbox)
    sync_seconds, cycle = timed(lambda: sync_cycle(full=True))
    cpu = {name: value - cpu_before[name] for name, value in cpu_snapshot(sandbox).items()}
    cycle.refresh_from_db()
    fetch_rate, copy_rate, sync_rate = (
        fetched / fetch_seconds, fetched / copy_seconds, cycle.fetched / sync_seconds,
    )
    # The fastest this machine could run the same work: every CPU second the sync cost (worker,
    # PostgreSQL, sandbox) spread perfectly over all cores.
    # A tiny org can cost less CPU than the clock's resolution: then there is no floor to compare.
    floor_seconds = sum(cpu.values()) / (os.cpu_count() or 1)
    floor_vs_limit = (
        round(cycle.fetched / floor_seconds / min(fetch_rate, copy_rate), 3)
        if floor_seconds > 0 else None
    )
    return {
        "records": total,
        "fetch_only_records_per_s": round(fetch_rate),
        "copy_only_records_per_s": round(copy_rate),
        "full_sync_records_per_s": round(sync_rate),
        "sync_vs_limit": round(sync_rate / min(fetch_rate, copy_rate), 3),
        "full_sync_cpu_seconds": {name: round(value, 1) for name, value in cpu.items()},
        "cpu_floor_seconds": round(floor_seconds, 1),
        "cpu_floor_vs_limit": floor_vs_limit,
        "full_sync_seconds": round(sync_seconds, 1),
        "full_sync_api_calls": cycle.api_calls,
        "api_calls_per_1000_records": round(cycle.api_calls * 1000 / max(cycle.fetched, 1), 3),
        "status": cycle.status,
    }


def bench_incremental(sandbox: Sandbox) -> dict:
    from accounts.models import Contact
    from marketo_sync.sync.cycle import sync_cycle

    idle = sync_cycle()
    assert idle is not None, "another cycle holds the lock"
    idle.refresh_from_db()
    ids = [
        sfdc_id  # every contact has one; the filter tells the type checker
        for sfdc_id in Contact.objects.filter(sfdc_type="contact").values_list(
            "sfdc_id", flat=True
        )[:: 100]
        if sfdc_id
    ]
    for sfdc_id in ids:
        sandbox.control.update("Contact", sfdc_id, {"Title": "Changed"})
    changed = sync_cycle()
    assert changed is not None, "another cycle holds the lock"
    changed.refresh_from_db()
    return {
        "idle_cycle_api_calls": idle.api_calls,
        "one_percent_changed_records": len(ids),
        "one_percent_cycle_api_calls": changed.api_calls,
        "one_percent_records_per_call": round(changed.fetched / max(changed.api_calls, 1), 1),
        "vs_marketo_200_records_per_call_full": None,
    }


def bench_reconcile() -> dict:
    """API calls and time of a daily reconcile of the whole org (ids and modstamps only)."""
    from marketo_sync.sync.maintenance import sync_reconcile

    seconds, runs = timed(sync_reconcile)
    compared = sum(run.fetched for run in runs)
    calls = sum(run.api_calls for run in runs)
    return {
        "records_compared": compared,
        "api_calls": calls,
        "api_calls_per_1000_records": round(calls * 1000 / max(compared, 1), 3),
        "seconds": round(seconds, 1),
        "status": sorted({run.status for run in runs}),
    }


def bench_change_data_value(sandbox: Sandbox) -> dict:
    """One account with 5,000 contacts, 3 fields changed: sync vs COPY of 15,000 activities."""
    from django.db import connection

    from accounts.models import Account
    from marketo_sync.sync.cycle import sync_cycle

    def account_with(contacts: int) -> str:
        account_id = sandbox.control.create("Account", {"Name": f"Bench {contacts}"})
        for start in range(0, contacts, 2000):
            sandbox.control.bulk_create(
                "Contact",
                [{"LastName": f"P{i}", "AccountId": account_id}
                 for i in range(start, min(start + 2000, contacts))],
            )
        return account_id

    ids = {size: account_with(size) for size in (5000, 5001, 10)}
    sync_cycle()

    def change(size: int) -> float:
        sandbox.control.update(
            "Account", ids[size], {"Industry": "Banking", "Phone": "+1 999", "Tier__c": 9}
        )
        seconds, run = timed(lambda: sync_cycle(objects=["Account"]))
        return seconds

    cdv_seconds = change(5000)
    over_seconds = change(5001)
    small_seconds = change(10)
    contact_ids = list(
        Account.objects.get(sfdc_id=ids[5000]).contacts.values_list("pk", flat=True)
    )

    def copy_activities() -> None:
        buffer = io.StringIO()
        for contact_id in contact_ids:
            for attribute in ("Industry", "Phone", "Tier__c"):
                buffer.write(
                    f"{contact_id}\tchange_data_value\t{attribute}\told\tnew\tbench\tsfdc_sync\t"
                    "2026-11-01 00:00:00+00\t\\N\t\\N\n"
                )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY activities_activity (contact_id, activity_type, attribute, old_value, "
                "new_value, reason, source, created_at, sync_run_id, user_id) FROM STDIN",
                buffer,
            )

    copy_seconds, _ = timed(copy_activities)
    return {
        "cdv_5000_contacts_3_fields_seconds": round(cdv_seconds, 3),
        "copy_15000_activities_seconds": round(copy_seconds, 3),
        "cdv_vs_copy": round(cdv_seconds / copy_seconds, 2),
        "over_limit_5001_vs_10_contacts": round(over_seconds / small_seconds, 2),
    }


def bench_history_overhead(sandbox: Sandbox, repeats: int = 5) -> dict:
    """What the account history rows cost, as ratios with/without them, measured alternately.

    "Without" skips only the history INSERT (everything else of the change, activities included,
    still runs), so the ratio is exactly the history's share. Two workloads: a full sync of
    Accounts that finds every account changed, and the 5,000-contact Change Data Value change.
    """
    from unittest import mock

    from django.db import connection

    from accounts.models import Account
    from activities.models import AccountHistory
    from marketo_sync.sync.cycle import sync_cycle

    def full_sync_changing_every_account() -> float:
        with connection.cursor() as cursor:  # the next full read finds every account newer
            cursor.execute(
                "UPDATE accounts_account SET industry = 'Stale', "
                "sfdc_last_modified = sfdc_last_modified - interval '1 day' "
                "WHERE NOT is_deleted"
            )
        seconds, _ = timed(lambda: sync_cycle(full=True, objects=["Account"]))
        return seconds

    account_id = Account.objects.values_list("sfdc_id", flat=True).get(name="Bench 5000")

    def cdv_change(number: int) -> float:
        sandbox.control.update(
            "Account", account_id, {"Industry": f"Bench {number}", "Phone": f"+1 {number}"}
        )
        seconds, _ = timed(lambda: sync_cycle(objects=["Account"]))
        return seconds

    figures: dict[str, dict[str, list[float]]] = {
        "full_sync": {"with": [], "without": []}, "cdv": {"with": [], "without": []},
    }
    for number in range(repeats):
        for variant in ("without", "with"):
            skipped = mock.patch.object(AccountHistory.objects, "bulk_create")
            if variant == "without":
                skipped.start()
            try:
                figures["full_sync"][variant].append(full_sync_changing_every_account())
                figures["cdv"][variant].append(cdv_change(number * 2 + (variant == "with")))
            finally:
                if variant == "without":
                    skipped.stop()
    return {  # medians: one run disturbed by the shared machine does not decide the ratio
        name: round(statistics.median(times["with"]) / statistics.median(times["without"]), 3)
        for name, times in figures.items()
    } | {
        "accounts": Account.objects.filter(is_deleted=False).count(),
        "seconds": {name: {k: [round(v, 3) for v in vs] for k, vs in times.items()}
                    for name, times in figures.items()},
    }


def peak_rss_mb(command: list[str], env: dict[str, str]) -> int:
    """Peak resident memory of a child process, from its VmHWM while it runs.

    Not `wait4`'s ru_maxrss: after fork+exec Linux reports the parent's high-water mark there.
    """
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        status_file = Path(f"/proc/{process.pid}/status")
        peak_kb = 0
        while process.poll() is None:
            try:
                for line in status_file.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.1)
        if process.wait() != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors.read()[-2000:]}")
    return peak_kb // 1024


def bench_memory(seeds: list[str], scales: dict[str, float] | None = None) -> dict:
    """Peak RSS of a `sync_sfdc --full` process per org size (deploy configuration).

    What is compared must differ only in size: both orgs fill at least three pages of every
    object (the page written, the one waiting, the one fetched; see the `medium` seed), and both
    read every object but Users through Bulk API 2.0 in full result pages (threshold and result
    page below the smallest of them, `large`'s 5,000 leads), so the figure shows what grows with
    the org, not a smaller org's half-empty page or its other read path: with the defaults,
    `large` reads its leads through REST and `xlarge` its 200,000 through Bulk, whose wide
    10,000-row result pages were the whole difference.
    """
    peaks = {}
    for seed in seeds:
        # sets the environment's SALESFORCE_SANDBOX_STATE
        sandbox = Sandbox(seed, (scales or {}).get(seed, 1))
        try:
            reset_local()
            peaks[seed] = peak_rss_mb(
                [sys.executable, "manage.py", "sync_sfdc", "--full"],
                {**os.environ, **DEPLOY, "SYNC_BULK_THRESHOLD": "4000",
                 "SYNC_BULK_MAX_RECORDS": "5000"},
            )
        finally:
            sandbox.stop()
    sizes = list(peaks)
    result: dict[str, float] = {f"peak_rss_mb_{seed}": mb for seed, mb in peaks.items()}
    if len(sizes) == 2:
        result["rss_growth"] = round(peaks[sizes[1]] / peaks[sizes[0]] - 1, 3)
    return result


def bench_scaling(sandbox: Sandbox, worker_counts: list[int]) -> dict:
    """The same full sync run by 1, 2 and 4 RQ worker processes (id-range partitions).

    Workers start first and are idle when the cycle is enqueued, so start-up is not timed.
    One worker reads without partitions (the default); N workers split large objects into 2N.
    """
    import django_rq

    from marketo_sync.sync.models import SyncRun
    from marketo_sync.sync.services import sync_enqueue_cycle

    seconds = {}
    for count in worker_counts:
        reset_local()
        django_rq.get_connection("sync").flushdb()
        env = {**os.environ, **DEPLOY, "SYNC_PARTITIONS": str(2 * count if count > 1 else 1)}
        workers = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "rqworker", "sync"], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for _ in range(count)
        ]
        try:
            deadline = time.monotonic() + 60
            while len(django_rq.get_worker("sync").all(queue=django_rq.get_queue("sync"))) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError("the RQ workers did not start")
                time.sleep(0.2)
            started = time.perf_counter()
            sync_enqueue_cycle(full=True)
            while not SyncRun.objects.filter(object_name="", finished_at__isnull=False).exists():
                time.sleep(0.1)
            seconds[count] = time.perf_counter() - started
            cycle = SyncRun.objects.get(object_name="")
            if cycle.status != SyncRun.Status.SUCCESS:
                raise RuntimeError(f"the cycle with {count} workers ended {cycle.status}")
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    baseline = seconds[worker_counts[0]]
    result = {f"workers_{n}_seconds": round(t, 1) for n, t in seconds.items()}
    result.update({f"workers_{n}_speedup": round(baseline / t, 2) for n, t in seconds.items()})
    return result


def bench_admin() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Account, Contact

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    big = Account.objects.latest("pk")
    small = Account.objects.filter(contacts__isnull=False).earliest("pk")
    pages = {
        "contact_changelist": "/admin/accounts/contact/",
        "contact_page": f"/admin/accounts/contact/{Contact.objects.earliest('pk').pk}/change/",
        "account_page_small": f"/admin/accounts/account/{small.pk}/change/",
        "account_page_large": f"/admin/accounts/account/{big.pk}/change/",
    }
    result = {"contacts": Contact.objects.count()}
    for name, url in pages.items():
        with CaptureQueriesContext(connection) as queries:
            seconds, response = timed(lambda url=url: client.get(url))
        assert response.status_code == 200, (url, response.status_code)
        result[f"{name}_queries"] = len(queries)
        result[f"{name}_ms"] = round(seconds * 1000, 1)
    return result


def bench_big_org(seed: str, scale: float, memory_baseline: str) -> dict:
    """The figures that grow with the org, on one big org: seeding, full sync, a 1% incremental
    cycle, reconcile, admin pages, and the sync process's peak RSS against `memory_baseline`'s.
    The figures that depend on one account's or one change's size stay with the default seed.
    """
    print(f"starting the sandbox org (seed {seed}, scale {scale})...", flush=True)
    sandbox = Sandbox(seed, scale)
    figures: dict = {"seed": seed, "scale": scale, "date": time.strftime("%Y-%m-%d"),
                     "machine": f"{os.cpu_count()} cores"}
    try:
        figures["sandbox_start_seconds"] = round(sandbox.start_seconds, 1)
        figures["sandbox_peak_rss_mb_after_seeding"] = sandbox.peak_rss_mb()
        figures["full_sync"] = measured("full_sync", bench_full_sync, sandbox)
        figures["incremental"] = measured("incremental", bench_incremental, sandbox)
        figures["reconcile"] = measured("reconcile", bench_reconcile)
        figures["admin"] = measured("admin", bench_admin)
        figures["sandbox_peak_rss_mb"] = sandbox.peak_rss_mb()
    finally:
        sandbox.stop()
    figures["memory"] = measured(
        "memory", bench_memory, [memory_baseline, seed], {seed: scale}
    )
    return figures


def measured(name: str, benchmark, *arguments):
    """Run one benchmark, saying which (a long run piped to a file is not silent)."""
    print(f"== benchmark {name}: running", flush=True)
    started = time.monotonic()
    figures = benchmark(*arguments)
    print(f"== benchmark {name}: done in {time.monotonic() - started:.1f} s", flush=True)
    return figures


def write_sections(out: Path, sections: dict) -> None:
    """Update these sections of the results file; the other sections stay as they were."""
    figures = json.loads(out.read_text()) if out.exists() else {}
    figures.update(sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    for section, values in sections.items():
        print(f"{section}: {values}")
    print(f"written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", default="large",
                        help="xlarge: only the `xlarge` section (the org's size figures)")
    parser.add_argument("--seed-scale", type=float, default=1,
                        help="a proportional part of the seed's org (smoke tests)")
    parser.add_argument("--memory-seeds", default="medium,large")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the scaling run")
    parser.add_argument("--latency-updates", type=int, default=200)
    parser.add_argument("--latency-interval", type=float, default=None,
                        help="polling side of the latency run (default SYNC_INTERVAL_SECONDS)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    parser.add_argument("--only", choices=["people_1m", "activities_scale", "full_sync"],
                        help="run one section alone and keep the others of --out as they are")
    parser.add_argument("--people", type=int, default=1_000_000,
                        help="people generated for the people_1m section")
    parser.add_argument("--activity-rows", type=int, default=200_000,
                        help="activities loaded for activities_scale (the issue's figure: "
                        "50000000)")
    parser.add_argument("--database", default=BENCH_DB, help="the benchmark's own database")
    options = parser.parse_args()
    prepare_environment(options.database)
    if options.only == "people_1m":
        from benchmarks.people import bench_people

        write_sections(options.out, {"people_1m": {
            **measured("people_1m", bench_people, options.people),
            "date": time.strftime("%Y-%m-%d")}})
        return
    figures: dict = {"seed": options.seed, "date": time.strftime("%Y-%m-%d"),
                     "machine": f"{os.cpu_count()} cores"}
    if options.only == "activities_scale":
        from benchmarks.activities import bench_activities_scale

        figures = {"activities_scale": measured(
            "activities_scale", bench_activities_scale, options.activity_rows, options.out.parent
        ) | {"date": figures["date"], "machine": figures["machine"]}}
        write_sections(options.out, figures)
        return
    if options.seed in BIG_SEEDS:
        baseline = options.memory_seeds.split(",")[-1]
        write_sections(options.out, {options.seed: bench_big_org(
            options.seed, options.seed_scale, baseline
        )})
        return
    print(f"starting the sandbox org (seed {options.seed})...", flush=True)
    sandbox = Sandbox(options.seed, options.seed_scale)
    if options.only == "full_sync":
        try:
            section = measured("full_sync", bench_full_sync, sandbox)
        finally:
            sandbox.stop()
        write_sections(options.out, {"full_sync": section | {
            "seed": options.seed, "date": figures["date"], "machine": figures["machine"]}})
        return
    try:
        figures["full_sync"] = measured("full_sync", bench_full_sync, sandbox)
        figures["incremental"] = measured("incremental", bench_incremental, sandbox)
        figures["incremental"]["vs_marketo_200_records_per_call_full"] = round(
            1000 / max(figures["full_sync"]["api_calls_per_1000_records"], 0.001) / 200, 1
        )
        figures["reconcile"] = measured("reconcile", bench_reconcile)
        figures["admin"] = measured("admin", bench_admin)
        figures["change_data_value"] = measured(
            "change_data_value", bench_change_data_value, sandbox
        )
        history = measured("history_overhead", bench_history_overhead, sandbox)
        figures["history_overhead_full_sync"] = history.pop("full_sync")
        figures["history_overhead_cdv"] = history.pop("cdv")
        figures["history_overhead_runs"] = history
        figures["scaling"] = measured(
            "scaling", bench_scaling, sandbox, [int(n) for n in options.workers.split(",")]
        )
        from benchmarks.latency import bench_latency

        figures["latency"] = bench_latency(
            sandbox, options.latency_updates, interval=options.latency_interval
        )
    finally:
        sandbox.stop()
    figures["memory"] = measured("memory", bench_memory, options.memory_seeds.split(","))
    write_sections(options.out, figures)
    runner_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"peak RSS of this runner: {runner_mb} MB")


if __name__ == "__main__":
    main()
