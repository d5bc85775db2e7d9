"""URL map: the admin is the product's UI; `/healthz/` and `/metrics` are for operations."""

from django.contrib import admin
from django.urls import path

from marketo_sync.health import health_view
from marketo_sync.metrics import metrics_view
from marketo_sync.rq_dashboard import rq_dashboard_protect

rq_dashboard_protect(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", health_view, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
