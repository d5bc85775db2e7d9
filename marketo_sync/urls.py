"""URL map: the admin is the product's UI; `/healthz/` and `/metrics` are for operations."""

from django.contrib import admin
from django.urls import path

from marketo_sync.health import health_view
from marketo_sync.metrics import metrics_view
from marketo_sync.rq_dashboard import rq_dashboard_protect

rq_dashboard_protect(admin.site)
admin.site.site_header = admin.site.site_title = "marketo-sync"
admin.site.index_title = "Salesforce accounts, people and their activity"

handler403 = "marketo_sync.forbidden.permission_denied"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", health_view, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
