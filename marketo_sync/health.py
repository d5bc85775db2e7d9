"""`/healthz/`: database, Redis and the age of the last sync cycle that completed.

Load balancers get the verdict only (200 or 500 with `{"status": ...}`); the checks' details
name hosts, ports and database numbers, so only logged-in staff see them.

The sync-age check is what tells an operator that workers or the schedule stopped: the database
and Redis can both be fine while no cycle has run for hours. Only whole cycles that ended in
success or a pause count: a cycle failing every few minutes, or a per-object run, is not a sync.
"""

import dataclasses
import datetime

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
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


COMPLETED = (SyncRun.Status.SUCCESS, SyncRun.Status.PAUSED)


def last_completed_cycle_end() -> datetime.datetime | None:
    """When the last whole cycle (`object_name=""`) ended in success or a pause."""
    return (
        SyncRun.objects.filter(object_name="", status__in=COMPLETED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


@dataclasses.dataclass
class LastSyncCycle(HealthCheck):
    """Unavailable when no cycle has completed (success or paused) within `max_cycle_age()`."""

    def run(self) -> None:
        try:
            last_completed = last_completed_cycle_end()
        finally:
            connection.close()  # runs in an executor thread: do not leave its connection open
        if last_completed is None:
            raise ServiceUnavailable("no sync cycle has completed yet")
        age = timezone.now() - last_completed
        if age > max_cycle_age():
            raise ServiceUnavailable(
                f"last completed sync cycle ended {int(age.total_seconds())} s ago"
            )


def redis_client() -> AsyncRedis:
    """From `REDIS_URL` at request time; a black-holed Redis fails the check within seconds."""
    return AsyncRedis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3)


class HealthView(HealthCheckView):
    async def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = await super().get(request, *args, **kwargs)
        user = await request.auser()
        if user.is_active and user.is_staff:
            return response
        healthy = not any(result.error for result in self.results)
        return JsonResponse(
            {"status": "ok" if healthy else "unavailable"}, status=200 if healthy else 500
        )


health_view = HealthView.as_view(
    checks=[Database, (Redis, {"client_factory": redis_client}), LastSyncCycle]
)
