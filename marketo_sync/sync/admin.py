"""Sync runs, record errors and the sync status page (Sync now, Pause/Resume, the chart)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from marketo_sync.admin_mixins import EstimatedCountPaginator, ReadOnlyAdminMixin
from marketo_sync.csv_export import csv_response
from marketo_sync.forbidden import MissingPermission
from marketo_sync.sync.charts import backlog_chart_svg, runs_chart_svg
from marketo_sync.sync.models import SyncError, SyncRun
from marketo_sync.sync.selectors import (
    accounts_skipped_by_activity_limit,
    local_record_admin_target,
    pause_description,
    sync_errors_with_local_records,
    sync_pause_record,
)
from marketo_sync.sync.services import (
    backlog_estimates,
    backlog_history,
    sync_enqueue_cycle,
    sync_set_paused,
    sync_status,
)

RECENT = timedelta(hours=24)
SUMMED = ("fetched", "local_edits_overwritten", "accounts_skipped_activity_limit", "errors",
          "api_calls")


def cycles_summary(since: timedelta = RECENT) -> dict[str, int]:
    """Totals of the cycles started in the last day, for the status page's headline."""
    totals = SyncRun.objects.filter(
        object_name="", started_at__gte=timezone.now() - since
    ).aggregate(**{name: Sum(name) for name in SUMMED})
    return {name: value or 0 for name, value in totals.items()}


def api_remaining(status: dict) -> int | None:
    """Daily API calls left, from the limit header Salesforce sent with the last call."""
    if status["api_limit"] is None or status["api_used"] is None:
        return None
    return status["api_limit"] - status["api_used"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "started_at", "object_name", "mode", "status", "fetched", "created", "updated",
        "deleted", "activities_logged", "accounts_skipped_activity_limit",
        "local_edits_overwritten", "errors", "api_calls", "backlog",
    )
    list_filter = ("status", "mode", "object_name")
    readonly_fields = ("accounts_without_activities",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description="Accounts whose changes logged no activities (too many contacts)")
    def accounts_without_activities(self, obj: SyncRun) -> str:
        accounts = accounts_skipped_by_activity_limit(run=obj)
        if not accounts:
            return "None."
        return format_html_join(
            ", ", '<a href="{}">{}</a>',
            ((reverse("admin:accounts_account_change", args=[a.pk]), a.name) for a in accounts),
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("status/", view(self.status_view), name="sync_status"),
            path("status/sync-now/", view(require_POST(self.sync_now_view)), name="sync_now"),
            path("status/pause/", view(require_POST(self.pause_view)), name="sync_pause"),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise MissingPermission("sync.view_syncrun")
        status = sync_status()
        cycles = list(SyncRun.objects.filter(object_name="").order_by("-started_at")[:30])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Salesforce sync status",
            "status": status,
            "api_remaining": api_remaining(status),
            "recent": cycles_summary(),
            "activity_contact_limit": f"{settings.ACTIVITY_CONTACT_LIMIT:,}",
            "open_errors": SyncError.objects.filter(dismissed=False, resolved_at=None).count(),
            "cycles": cycles,
            "chart": runs_chart_svg(list(reversed(cycles))),
            "backlog_chart": backlog_chart_svg(backlog_history()),
            "backlog": backlog_estimates(),
            "can_run": request.user.has_perm("sync.run_sync"),
            "can_pause": request.user.has_perm("sync.pause_sync"),
            "can_see_queues": request.user.has_perm("django_rq.admin"),
        }
        return TemplateResponse(request, "admin/sync/status.html", context)

    def sync_now_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("sync.run_sync"):
            raise MissingPermission("sync.run_sync")
        pause = sync_pause_record()
        if pause is not None:
            self.message_user(
                request, f"The sync is {pause_description(pause)}: resume it first.",
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:sync_status"))
        job_id = sync_enqueue_cycle(requested_by=request.user)
        if job_id:
            self.message_user(request, "A sync cycle was queued; refresh to follow it.")
        else:
            self.message_user(request, "A sync cycle is already queued or running.",
                              messages.WARNING)
        return HttpResponseRedirect(reverse("admin:sync_status"))

    def pause_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("sync.pause_sync"):
            raise MissingPermission("sync.pause_sync")
        paused = request.POST.get("paused") == "1"
        sync_set_paused(paused=paused, by=request.user.get_username())
        self.message_user(request, "Sync paused." if paused else "Sync resumed.")
        return HttpResponseRedirect(reverse("admin:sync_status"))


@admin.register(SyncError)
class SyncErrorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "last_seen_at", "object_name", "sfdc_id", "local_record", "message", "attempts",
        "next_try_at", "resolved_at", "dismissed",
    )
    readonly_fields = ("local_record",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return sync_errors_with_local_records(super().get_queryset(request))

    @admin.display(description="Local record")
    def local_record(self, obj: SyncError) -> str:
        target = local_record_admin_target(obj)
        if target is None:
            return "Not in the local copy"
        url_name, pk = target
        return format_html('<a href="{}">Open</a>', reverse(url_name, args=[pk]))
    list_filter = ("object_name", "dismissed", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("sfdc_id", "message")
    actions = ("dismiss", "export_csv")
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_dismiss_permission(self, request: HttpRequest) -> bool:
        """Its own permission: giving up on a record is not the same trust as "Sync now"."""
        return request.user.has_perm("sync.dismiss_syncerror")

    @admin.action(description="Dismiss (stop retrying)", permissions=["dismiss"])
    def dismiss(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.update(dismissed=True)
        self.message_user(request, f"{count} error(s) dismissed.")

    @admin.action(description="Export selected as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: Any) -> HttpResponseBase:
        columns = ["object_name", "sfdc_id", "message", "attempts", "first_seen_at",
                   "last_seen_at", "next_try_at", "resolved_at", "dismissed", "run_id"]
        return csv_response(
            filename="sync-errors.csv", header=columns,
            rows=queryset.values_list(*columns).iterator(chunk_size=2000),
        )
