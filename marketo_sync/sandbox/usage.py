"""The org's daily API allowance, counted as Salesforce reports it in
`Sforce-Limit-Info`: used/limit over a **rolling 24 hours** (not per calendar or UTC day).

Calls are counted in hourly buckets, so a call stops counting between 23 and 24 hours after it
was made; Salesforce's own figure is approximate too. The buckets are kept in the store's meta
table, so a sandbox with a data dir still knows its usage after a restart.
"""

import json
import threading
import time
from collections.abc import Callable

from marketo_sync.sandbox.store import Store

DEFAULT_API_LIMIT = 15000
HOUR = 3600
WINDOW_HOURS = 24
META_KEY = "api_usage"


class ApiUsage:
    """Counts API calls against `limit`; `clock` returns epoch seconds (tests move it)."""

    def __init__(
        self, store: Store, limit: int = DEFAULT_API_LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.limit = limit
        self.clock = clock
        self.lock = threading.Lock()
        saved = json.loads(str(store.meta(META_KEY) or "{}"))
        self.buckets: dict[int, int] = {int(hour): int(count) for hour, count in saved.items()}

    def _current_hour(self) -> int:
        """Drop buckets older than the window; the caller holds the lock."""
        hour = int(self.clock() // HOUR)
        self.buckets = {h: n for h, n in self.buckets.items() if h > hour - WINDOW_HOURS}
        return hour

    def _save(self) -> None:
        self.store.set_meta(META_KEY, json.dumps(self.buckets))

    @property
    def used(self) -> int:
        with self.lock:
            self._current_hour()
            return sum(self.buckets.values())

    def charge(self) -> bool:
        """Count one call, or return False (counting nothing) when the allowance is spent."""
        with self.lock:
            hour = self._current_hour()
            if sum(self.buckets.values()) >= self.limit:
                return False
            self.buckets[hour] = self.buckets.get(hour, 0) + 1
            self._save()
            return True

    def set(self, limit: int, used: int | None = None) -> None:
        """Change the limit; `used` replaces the count (as if all made in the current hour)."""
        with self.lock:
            self.limit = limit
            if used is not None:
                self.buckets = {self._current_hour(): used} if used else {}
                self._save()

    def header(self) -> str:
        """The `Sforce-Limit-Info` value simple-salesforce parses."""
        return f"api-usage={self.used}/{self.limit}"
