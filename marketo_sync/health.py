"""`/healthz/`: database, Redis and the age of the last finished sync cycle.

The sync-age check is what tells an operator that workers or the schedule stopped: the database
and Redis can both be fine while no cycle has run for hours.
"""

import dataclasses
import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio import Redis as AsyncRedis

from marketo_sync.sync.models import SyncRun


def max_cycle_age() -> datetime.timedelta:
    """A cycle may take a while; three intervals plus ten minutes without one is a stop."""
    return datetime.timedelta(seconds=3 * settings.SYNC_INTERVAL_SECONDS + 600)


@dataclasses.dataclass
class LastSyncCycle(HealthCheck):
    """Unavailable when no sync run has finished within `max_cycle_age()`."""

    def run(self) -> None:
        try:
            last_finished = (
                SyncRun.objects.filter(finished_at__isnull=False)
                .order_by("-finished_at")
                .values_list("finished_at", flat=True)
                .first()
            )
        finally:
            connection.close()  # runs in an executor thread: do not leave its connection open
        if last_finished is None:
            raise ServiceUnavailable("no sync run has finished yet")
        age = timezone.now() - last_finished
        if age > max_cycle_age():
            raise ServiceUnavailable(f"last sync run finished {int(age.total_seconds())} s ago")


def redis_client() -> AsyncRedis:
    return AsyncRedis.from_url(settings.REDIS_URL)


health_view = HealthCheckView.as_view(
    checks=[Database, (Redis, {"client_factory": redis_client}), LastSyncCycle]
)
