"""The activity log, read-only: filter by type, source, date and attribute; search people."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from activities.models import Activity
from marketo_sync.admin_mixins import EstimatedCountPaginator, ReadOnlyAdminMixin
from marketo_sync.sync.selectors import synced_field_names

# The objects whose field changes become activities.
TRACKED_OBJECTS = ("Account", "Contact", "Lead")


class AttributeFilter(admin.SimpleListFilter):
    title = "attribute"
    parameter_name = "attribute"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # the synced fields' names, never a DISTINCT over the whole activity table
        return [(name, name) for name in synced_field_names(object_names=TRACKED_OBJECTS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(attribute=self.value()) if self.value() else queryset


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at", "contact", "activity_type", "attribute", "old_value", "new_value", "source",
        "user",
    )
    list_filter = (
        "activity_type", "source", ("created_at", admin.DateFieldListFilter), AttributeFilter,
    )
    search_fields = ("contact__email", "contact__first_name", "contact__last_name")
    list_select_related = ("contact", "user")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100
