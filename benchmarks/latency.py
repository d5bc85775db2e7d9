"""Latency of a Salesforce change to its Change Data Value activities: listener vs polling.

200 account updates (each account has 10 contacts) are made through the sandbox's REST API at a
steady rate. With `sfdc_listen` and an RQ worker running, each latency is the time from the
update's response to the last of its 10 activities being written. The polling side stops the
listener and runs cycles as the schedule does: each starts `--interval` seconds (default
SYNC_INTERVAL_SECONDS) after the previous one ended, the first at a random point of that wait.

    python -m benchmarks.latency [--updates 200] [--rate 5] [--interval 300]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.run import ROOT, Sandbox, prepare_environment, reset_local

CONTACTS_PER_ACCOUNT = 10
WRITE_KINDS = {"sobject", "token", "cometd", "control"}


def rest_session(sandbox: Sandbox):
    """simple-salesforce as a Salesforce user would write (not the product's client)."""
    import requests
    from simple_salesforce import Salesforce

    state = json.loads(sandbox.state_file.read_text())
    session = requests.Session()
    session.trust_env = False
    session.verify = state["ca_path"]
    token = session.post(
        f"{state['url']}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": state["client_id"],
              "client_secret": state["client_secret"]},
        timeout=30,
    ).json()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      session=session, version="59.0")


def seed_accounts(sandbox: Sandbox, count: int) -> list[str]:
    ids = [sandbox.control.create("Account", {"Name": f"Latency {n}"}) for n in range(count)]
    rows = [{"LastName": f"L{n}-{i}", "AccountId": account_id}
            for n, account_id in enumerate(ids) for i in range(CONTACTS_PER_ACCOUNT)]
    for start in range(0, len(rows), 2000):
        sandbox.control.bulk_create("Contact", rows[start:start + 2000])
    return ids


def measure(
    sandbox: Sandbox, account_ids: list[str], rate: float, label: str, patience: float = 300
) -> dict:
    """Update each account once at `rate` per second; wait for all their activities."""
    from django.db.models import Count, Max

    from activities.models import Activity

    sf = rest_session(sandbox)
    sandbox.control.reset_counts()
    written: dict[str, float] = {}
    for n, account_id in enumerate(account_ids):
        started = time.monotonic()
        sf.Account.update(account_id, {"Description": f"{label}-{n}"})
        written[f"{label}-{n}"] = time.time()
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        done = dict(
            Activity.objects.filter(attribute="Description", new_value__startswith=f"{label}-")
            .values_list("new_value")
            .annotate(n=Count("pk"), last=Max("created_at"))
            .filter(n=CONTACTS_PER_ACCOUNT)
            .values_list("new_value", "last")
        )
        if len(done) == len(account_ids):
            break
        time.sleep(0.5)
    latencies = sorted(
        max(0.0, done[value].timestamp() - at) for value, at in written.items() if value in done
    )
    counts = sandbox.control.request_counts()
    api_calls = sum(n for kind, n in counts.items() if kind not in WRITE_KINDS)
    return {
        "changes": len(account_ids),
        "completed": len(latencies),
        "p50_seconds": round(statistics.median(latencies), 3) if latencies else None,
        "p95_seconds": round(latencies[int(0.95 * (len(latencies) - 1))], 3) if latencies else None,
        "max_seconds": round(latencies[-1], 3) if latencies else None,
        "api_calls_per_change": round(api_calls / len(account_ids), 2),
    }


def spawn(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env={**os.environ},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def wait_connected(timeout: float = 60) -> None:
    from marketo_sync.sync.selectors import stream_healthy

    deadline = time.monotonic() + timeout
    while not stream_healthy():
        if time.monotonic() > deadline:
            raise RuntimeError("the listener did not connect")
        time.sleep(0.2)


def bench_latency(
    sandbox: Sandbox, updates: int = 200, rate: float = 5.0, interval: float | None = None
) -> dict:
    from django.conf import settings

    from marketo_sync.sync.cycle import sync_cycle
    from marketo_sync.sync.models import PendingChange, StreamState

    account_ids = seed_accounts(sandbox, updates)
    sync_cycle()
    StreamState.objects.all().delete()
    PendingChange.objects.all().delete()
    StreamState.objects.create(
        channel="/data/AccountChangeEvent", replay_id=sandbox.control.last_replay_id()
    )
    processes = [spawn("sfdc_listen", "--object", "Account"), spawn("rqworker", "sync")]
    try:
        wait_connected()
        streaming = measure(sandbox, account_ids, rate, "stream")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=60)

    wait = settings.SYNC_INTERVAL_SECONDS if interval is None else interval
    stop = threading.Event()

    def cycles() -> None:
        from django.db import connection

        stop.wait(random.uniform(0, wait))  # noqa: S311 - the phase of the schedule
        while not stop.is_set():
            sync_cycle(objects=["Account"])
            stop.wait(wait)
        connection.close()

    poller = threading.Thread(target=cycles)
    poller.start()
    try:
        polling = measure(sandbox, account_ids, rate, "poll", patience=wait + 300)
    finally:
        stop.set()
        poller.join()
    polling["interval_seconds"] = wait
    return {**streaming, "polling": polling,
            "p95_vs_polling": round(streaming["p95_seconds"] / polling["p95_seconds"], 3)
            if streaming["p95_seconds"] and polling["p95_seconds"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="updates per second")
    parser.add_argument("--interval", type=float, default=None,
                        help="polling side: seconds between cycles (default SYNC_INTERVAL_SECONDS)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    options = parser.parse_args()
    prepare_environment()
    reset_local()
    sandbox = Sandbox("tiny")
    try:
        figures = {
            "latency": bench_latency(sandbox, options.updates, options.rate, options.interval)
        }
    finally:
        sandbox.stop()
    options.out.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(options.out.read_text()) if options.out.exists() else {}
    options.out.write_text(json.dumps({**earlier, **figures}, indent=2))
    print(f"latency: {figures['latency']}")


if __name__ == "__main__":
    main()
