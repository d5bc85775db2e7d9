"""`/metrics` for Prometheus, behind a bearer token.

Without `METRICS_TOKEN` the endpoint does not exist (404), so a deploy that forgot it exposes
nothing; with it, a scrape without that exact token gets 401.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from marketo_sync.sync.metrics import SyncCollector

registry = CollectorRegistry(auto_describe=False)
registry.register(SyncCollector())


def bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        raise Http404
    if not hmac.compare_digest(bearer_token(request).encode(), settings.METRICS_TOKEN.encode()):
        response = HttpResponse("a valid bearer token is required\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
