"""Smart lists in the admin: built from validated rules, opened in the People list, counted in
one statement for the whole page of lists."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.forms import SmartListRuleForm
from accounts.models import SmartList, SmartListRule
from accounts.selectors import smart_list_member_counts
from marketo_sync.admin_mixins import staff_user


class SmartListRuleInline(admin.TabularInline):
    model = SmartListRule
    form = SmartListRuleForm
    extra = 3
    fields = ("field", "operator", "value", "value_to", "position")


class SmartListChangeList(ChangeList):
    """Member counts of the page's lists, counted together once the page is known."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        page = list(self.result_list)
        counts = smart_list_member_counts(smart_lists=page)
        for smart_list in page:
            smart_list.member_count = counts.get(smart_list.pk)


@admin.register(SmartList)
class SmartListAdmin(admin.ModelAdmin):
    list_display = ("name", "members", "rules_summary", "owner", "updated_at", "open_link")
    list_select_related = ("owner",)
    search_fields = ("name", "description")
    readonly_fields = ("owner", "created_at", "updated_at")
    fields = ("name", "description", "match", "owner", "created_at", "updated_at")
    inlines = (SmartListRuleInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("rules")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SmartListChangeList

    def save_model(self, request: HttpRequest, obj: SmartList, form: Any, change: bool) -> None:
        if obj.owner_id is None:
            obj.owner = staff_user(request)
        super().save_model(request, obj, form, change)

    @admin.display(description="People")
    def members(self, obj: SmartList) -> str:
        count = getattr(obj, "member_count", None)
        return "rules no longer apply" if count is None else f"{count:,}"

    @admin.display(description="Rules")
    def rules_summary(self, obj: SmartList) -> str:
        join = " and " if obj.match == SmartList.Match.ALL else " or "
        return join.join(str(rule) for rule in obj.rules.all()) or "everyone"

    @admin.display(description="")
    def open_link(self, obj: SmartList) -> str:
        url = reverse("admin:accounts_contact_changelist") + f"?smart_list={obj.pk}"
        return format_html('<a href="{}">Open in People</a>', url)
