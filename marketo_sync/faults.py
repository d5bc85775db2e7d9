"""Deterministic crash points for the fault suite: SIGKILL this process at a named place.

`SYNC_CRASHPOINTS=after_upsert_before_commit:2` kills the process the second time that point is
reached. Unset (always, outside tests), a crash point is one dictionary lookup.
"""

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def crashpoint(name: str) -> None:
    spec = os.environ.get("SYNC_CRASHPOINTS")
    if not spec:
        return
    _reached[name] += 1
    for entry in spec.split(","):
        point, _, nth = entry.strip().partition(":")
        if point == name and _reached[name] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
