"""The activity log, read-only: filter by type, source, date and attribute; search people."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from activities.models import Activity


class AttributeFilter(admin.SimpleListFilter):
    title = "attribute"
    parameter_name = "attribute"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = (
            Activity.objects.exclude(attribute="")
            .order_by("attribute")
            .values_list("attribute", flat=True)
            .distinct()[:100]
        )
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        return queryset.filter(attribute=self.value()) if self.value() else queryset


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "contact", "activity_type", "attribute", "old_value", "new_value", "source",
    )
    list_filter = ("activity_type", "source", ("created_at", admin.DateFieldListFilter),
                   AttributeFilter)
    search_fields = ("contact__email", "contact__first_name", "contact__last_name")
    list_select_related = ("contact",)
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
