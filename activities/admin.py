"""The activity log, read-only: filter by type, source, date and attribute; search people."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from activities.models import Activity
from marketo_sync.admin_mixins import BoundedCountPaginator, ReadOnlyAdminMixin
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
        "created_at", "person", "account", "activity_type", "attribute", "old_value",
        "new_value", "source", "user",
    )
    list_filter = (
        "activity_type", "source", ("created_at", admin.DateFieldListFilter), AttributeFilter,
    )
    search_fields = (
        "contact__email", "contact__first_name", "contact__last_name", "contact__account__name",
    )
    list_select_related = ("contact__account", "user")
    show_full_result_count = False
    paginator = BoundedCountPaginator
    list_per_page = 100

    @admin.display(description="Person", ordering="contact__last_name")
    def person(self, obj: Activity) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:accounts_contact_change", args=[obj.contact_id]), obj.contact,
        )

    @admin.display(description="Account")
    def account(self, obj: Activity) -> str:
        account = obj.contact.account
        if account is None:
            return ""
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:accounts_account_change", args=[account.pk]),
            account.name,
        )
