"""Deterministic crash points for the fault suite: signal this process at a named place.

`SYNC_CRASHPOINTS=after_upsert_before_commit:2` kills the process (SIGKILL) the second time that
point is reached; `page_fetched:3:SIGSTOP` stops it there instead (a paused VM or a long GC), until
the test sends SIGCONT. Unset (always, outside tests), a crash point is one dictionary lookup.
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
        point, _, rest = entry.strip().partition(":")
        nth, _, signal_name = rest.partition(":")
        if point == name and _reached[name] == int(nth or 1):
            os.kill(os.getpid(), signal.Signals[signal_name or "SIGKILL"])
