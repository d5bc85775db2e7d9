"""URL map: the admin is the product's UI; `/healthz/` is for operations."""

from django.contrib import admin
from django.urls import path

from marketo_sync.health import health_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", health_view, name="healthz"),
]
