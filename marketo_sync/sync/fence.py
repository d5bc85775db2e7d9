"""Fencing of cycle writes: the Redis lock says who may run, PostgreSQL decides who may commit.

Taking the cycle lock bumps the generation of the single `CycleFence` row. A run started under the
lock carries that generation, and each of its write transactions ends by share-locking the row and
comparing: if another cycle has taken the lock since (ours expired while the worker was paused or
cut off from Redis), the transaction rolls back and the run fails. The share lock is held until
the commit, so a bump waits for pages already checked and every later page sees it.

The row also names the holder (host, boot id, pid namespace, pid, process start time), so the next
cycle can tell that a holder on its own machine is gone (killed: no such process, or the pid now
belongs to a younger one) and break its lock at once instead of waiting out the TTL.
"""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from marketo_sync.sync.models import CycleFence

FENCE_PK = 1
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout


class FenceLost(Exception):
    """A newer cycle took the lock: this run's writes are refused."""


def read_proc(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def process_started(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (field 22 of /proc/<pid>/stat); None
    when there is no such process or it has ended (a zombie its parent has not reaped yet)."""
    stat = read_proc(f"/proc/{pid}/stat")
    if not stat:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in {"Z", "X"} else int(fields[19])


def this_process() -> dict:
    pid = os.getpid()
    return {
        "holder_host": socket.gethostname(),
        "holder_boot_id": read_proc("/proc/sys/kernel/random/boot_id"),
        "holder_pid_namespace": pid_namespace("self"),
        "holder_pid": pid,
        "holder_started": process_started(pid),
    }


def pid_namespace(pid: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def holder_gone(fence: CycleFence) -> bool:
    """True only when the holder provably no longer runs: it ran on this machine since its last
    boot, in this pid namespace, and its pid is free or belongs to another process. A holder on
    another machine (or where /proc tells nothing) is presumed alive: its lock expires by TTL."""
    me = this_process()
    pid = fence.holder_pid
    same_machine = (
        bool(me["holder_boot_id"])
        and bool(me["holder_pid_namespace"])
        and all(
            getattr(fence, field) == me[field]
            for field in ("holder_host", "holder_boot_id", "holder_pid_namespace")
        )
    )
    if pid is None or not same_machine:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # someone else's process: the pid is taken; compare start times
    return process_started(pid) != fence.holder_started


def dead_holder_token() -> str | None:
    """The lock token of the last holder if it is provably gone (see `holder_gone`)."""
    fence = CycleFence.objects.filter(pk=FENCE_PK).first()
    if fence is None or not fence.lock_token or not holder_gone(fence):
        return None
    return fence.lock_token


def fence_advance(lock_token: str) -> int | None:
    """Call right after taking the Redis lock: a new generation, held by this process.

    Waits for pages of the former generation that passed their check to commit, for at most the
    lock TTL: None when a former holder stays stopped between its check and its commit.
    """
    try:
        return bump_generation(lock_token)
    except OperationalError as exc:
        if getattr(exc.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        return None


def bump_generation(lock_token: str) -> int:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL lock_timeout = %s", [f"{settings.SYNC_LOCK_TTL_SECONDS}s"]
            )
        fence, _ = CycleFence.objects.select_for_update().get_or_create(pk=FENCE_PK)
        fence.generation += 1
        fence.lock_token = lock_token
        fence.acquired_at = timezone.now()
        for field, value in this_process().items():
            setattr(fence, field, value)
        fence.save()
    return fence.generation


def current_generation(*, lock: bool) -> int | None:
    table = connection.ops.quote_name(CycleFence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT generation FROM {table} WHERE id = %s{' FOR SHARE' if lock else ''}",  # noqa: S608
            [FENCE_PK],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def fence_check(generation: int | None) -> None:
    """Inside a transaction: raise `FenceLost` unless `generation` is still the current one.
    None (a re-sync of selected records) is not fenced."""
    if generation is None:
        return
    current = current_generation(lock=True)
    if current != generation:
        raise FenceLost(
            f"fenced: another cycle took the sync lock (generation {current}, this run's "
            f"{generation}) after this one's lock expired (worker paused or cut off from Redis "
            "for longer than SYNC_LOCK_TTL_SECONDS); this write was rolled back and the newer "
            "cycle carries on"
        )


def fence_current(generation: int | None) -> bool:
    """Outside a write: whether a run of this generation may still record success."""
    return generation is None or current_generation(lock=False) == generation


@contextmanager
def fenced(generation: int | None) -> Iterator[None]:
    """A transaction that commits only if `generation` is still current at its end."""
    with transaction.atomic():
        yield
        fence_check(generation)
