"""The activity log, read-only: filter by type, source, date and attribute; search people."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from activities.models import Activity
from marketo_sync.admin_mixins import EstimatedCountPaginator, ReadOnlyAdminMixin
from marketo_sync.sync.mapping import MAPPINGS, SYSTEM_FIELDS
from marketo_sync.sync.models import SyncState

TRACKED_OBJECTS = ("Account", "Contact", "Lead")


def activity_attribute_choices() -> list[str]:
    """Field API names an activity can name: mapped columns plus the cached describes.

    Read from a handful of rows, never a DISTINCT over the whole activity table.
    """
    names = {name for object_name in TRACKED_OBJECTS for name in MAPPINGS[object_name].columns}
    names.add("OwnerId")
    for describe in SyncState.objects.filter(object_name__in=TRACKED_OBJECTS).values_list(
        "describe", flat=True
    ):
        names.update((describe or {}).get("fields", []))
    return sorted(names - SYSTEM_FIELDS)


class AttributeFilter(admin.SimpleListFilter):
    title = "attribute"
    parameter_name = "attribute"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in activity_attribute_choices()]

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
