"""The marketers' admin: accounts and people, with the one-way rules in plain sight.

Accounts are never added here (Convert Person is the only way an account comes into being);
Salesforce ids and system timestamps are read-only; every local edit goes through
`accounts.services`, which saves only what changed and logs it.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from accounts.admin_convert import ConvertPersonAdminMixin
from accounts.forms import (
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    AccountLocalEditForm,
    ContactLocalEditForm,
    account_field_name,
)
from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.selectors import (
    account_divergences,
    account_industry_choices,
    account_list_locally_edited,
    contact_count_for_account,
    contact_list_for_account,
    contact_sfdc_ids_by_object,
    contact_timeline,
)
from accounts.services import (
    LocalEditResult,
    account_apply_local_edit,
    contact_apply_local_edit,
)
from marketo_sync.admin_mixins import EstimatedCountPaginator, ReadOnlyAdminMixin
from marketo_sync.forbidden import MissingPermission
from marketo_sync.sync.services import sync_enqueue_records

CONTACT_SYSTEM_READONLY = (
    "sfdc_id", "sfdc_lead_id", "sfdc_type", "account", "owner", "company", "lead_status",
    "sfdc_last_modified", "synced_at", "is_deleted", "locally_edited_at", "custom_fields",
)
SYSTEM_READONLY = (
    "sfdc_id", "owner", "sfdc_last_modified", "synced_at", "is_deleted", "master_record_sfdc_id",
    "custom_fields",
)
PAGE_SIZE = 25
MAX_RESYNC = 2000
ACCOUNT_WARNING = (
    "Edits here are local only: they are not sent to Salesforce, and the next Salesforce "
    "update of this account overwrites all of its account data, for every contact."
)
PERSON_WARNING = (
    "Edits to this person are local only: they are not sent to Salesforce, and the next "
    "Salesforce update of this person overwrites them."
)
NO_ACCOUNT_CREATION = (
    "Accounts cannot be created here: they come from Salesforce. Convert Person is the only "
    "way to create one."
)


def local_edit_message(edit: LocalEditResult) -> str:
    return (
        f"Account saved locally for every contact ({', '.join(edit.fields)}; "
        f"{edit.activities_logged} activities logged). It is not sent to Salesforce; the next "
        "Salesforce update of this account overwrites all of its account data."
    )


def values_table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> SafeString:
    """A small escaped HTML table (Salesforce data is never trusted as markup)."""
    cells = "".join("<td>{}</td>" for _ in headers)
    return format_html(
        '<table class="values-table"><tr>{}</tr>{}</table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join("", f"<tr>{cells}</tr>", rows),
    )


class LocallyEditedFilter(admin.SimpleListFilter):
    title = "local edits"
    parameter_name = "locally_edited"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Local edits the next sync will overwrite"), ("no", "As in Salesforce")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(locally_edited_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(locally_edited_at__isnull=True)
        return queryset


class IndustryFilter(admin.SimpleListFilter):
    """Industries read from the accounts table, never a DISTINCT over every contact."""

    title = "industry"
    parameter_name = "industry"
    lookup = "industry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(industry, industry) for industry in account_industry_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.lookup: self.value()}) if self.value() else queryset


class AccountIndustryFilter(IndustryFilter):
    lookup = "account__industry"


class ResyncAdminMixin:
    """"Re-sync selected": pull just those records from Salesforce now (needs sync.run_sync)."""

    def has_resync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.run_sync")

    def resync_ids(self, queryset: QuerySet) -> dict[str, list[str]]:
        """Salesforce ids to pull, per Salesforce object."""
        raise NotImplementedError

    @admin.action(description="Re-sync selected from Salesforce now", permissions=["resync"])
    def resync_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() > MAX_RESYNC:
            self.message_user(
                request, f"Re-sync at most {MAX_RESYNC} records at a time.", messages.ERROR
            )
            return
        ids_by_object = self.resync_ids(queryset)
        for object_name, sfdc_ids in ids_by_object.items():
            sync_enqueue_records(object_name=object_name, sfdc_ids=sfdc_ids)
        queued = sum(len(sfdc_ids) for sfdc_ids in ids_by_object.values())
        self.message_user(request, f"{queued} record(s) queued for a re-sync from Salesforce.")


class AccountEditMixin(admin.ModelAdmin):
    """Saving an account edit, from the account or from one of its contacts, says the same:
    every contact now shows it, and the next Salesforce update overwrites it."""

    def save_account_edit(
        self, request: HttpRequest, account: Account, changes: dict[str, Any]
    ) -> None:
        edit = account_apply_local_edit(account=account, changes=changes, user=request.user)
        if edit.fields:
            self.message_user(request, local_edit_message(edit), messages.WARNING)


class ChangeFormContextMixin:
    """One hook for extra change-page context, so mixins extend it instead of the views."""

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False,
        change: bool = False, form_url: str = "", obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self.change_form_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Account)
class AccountAdmin(ChangeFormContextMixin, ResyncAdminMixin, AccountEditMixin):
    form = AccountLocalEditForm
    list_display = (
        "name", "industry", "type", "website", "billing_country", "owner", "locally_edited",
        "diverging_fields", "is_deleted",
    )
    list_filter = (LocallyEditedFilter, IndustryFilter, "owner", "is_deleted", "type")
    list_select_related = ("owner",)
    search_fields = ("name", "website", "sfdc_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ("resync_selected",)
    readonly_fields = (*SYSTEM_READONLY, "locally_edited_at", "locally_edited_by", "divergence")
    fieldsets = (
        (
            "Account data (from Salesforce; editable locally)",
            {"fields": ACCOUNT_COLUMNS, "classes": ["local-edit"]},  # warned above the form
        ),
        ("Local edits", {"fields": ("locally_edited_at", "locally_edited_by", "divergence")}),
        ("Salesforce (read-only)", {"fields": SYSTEM_READONLY}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("owner", "locally_edited_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts come from Salesforce, or from Convert Person

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def resync_ids(self, queryset: QuerySet) -> dict[str, list[str]]:
        return {"Account": list(queryset.values_list("sfdc_id", flat=True))}

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.message_user(request, NO_ACCOUNT_CREATION, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:accounts_account_changelist"))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "local-edits/",
                self.admin_site.admin_view(self.local_edits_view),
                name="accounts_account_local_edits",
            ),
            *super().get_urls(),
        ]

    def local_edits_view(self, request: HttpRequest) -> HttpResponse:
        """The divergence view: local value vs the stored last Salesforce value, per field."""
        if not self.has_view_permission(request):
            raise MissingPermission("accounts.view_account")
        page = Paginator(account_list_locally_edited(), PAGE_SIZE).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Local edits the next Salesforce sync will overwrite",
            "page": page,
            "rows": [(account, account_divergences(account=account)) for account in page],
            "warning": ACCOUNT_WARNING,
        }
        return TemplateResponse(request, "admin/accounts/account/local_edits.html", context)

    @admin.display(description="Local edits", boolean=True, ordering="locally_edited_at")
    def locally_edited(self, obj: Account) -> bool:
        return obj.locally_edited_at is not None

    @admin.display(description="Differs from Salesforce")
    def diverging_fields(self, obj: Account) -> str:
        return ", ".join(row.api_name for row in account_divergences(account=obj))

    @admin.display(description="Local value vs last value from Salesforce")
    def divergence(self, obj: Account) -> str:
        rows = [
            (row.label, row.local_value, row.salesforce_value)
            for row in account_divergences(account=obj)
        ]
        if not rows:
            return "No local differences."
        return values_table(rows, ("Field", "Local", "Salesforce (last sync)"))

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        self.save_account_edit(request, obj, form.changes(ACCOUNT_COLUMNS))

    def change_form_context(self, request: HttpRequest, obj: Account) -> dict[str, Any]:
        contacts = Paginator(contact_list_for_account(account=obj), PAGE_SIZE)
        return {
            "edit_warning": ACCOUNT_WARNING,
            "contacts_page": contacts.get_page(request.GET.get("contacts_page")),
        }


@admin.register(Contact)
class ContactAdmin(
    ConvertPersonAdminMixin, ChangeFormContextMixin, ResyncAdminMixin, AccountEditMixin
):
    form = ContactLocalEditForm
    list_display = ("__str__", "email", "sfdc_type", "account", "owner", "is_deleted")
    list_filter = ("sfdc_type", AccountIndustryFilter, "owner", "is_deleted")
    list_select_related = ("account", "owner")
    search_fields = ("first_name", "last_name", "email", "account__name")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ("resync_selected", "convert_person")
    readonly_fields = (*CONTACT_SYSTEM_READONLY, "account_data")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("account", "owner")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people come from Salesforce

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def can_edit_account(self, request: HttpRequest, obj: Contact | None) -> bool:
        """The shared account is editable here by users who may change people and accounts."""
        return self.has_change_permission(request, obj) and request.user.has_perm(
            "accounts.change_account"
        )

    def resync_ids(self, queryset: QuerySet) -> dict[str, list[str]]:
        return contact_sfdc_ids_by_object(contacts=queryset)

    def get_form(
        self, request: HttpRequest, obj: Contact | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        # the account fields are added by the form itself; the model form knows person fields
        kwargs["fields"] = PERSON_COLUMNS
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"edit_account": self.can_edit_account(request, obj)})

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None) -> list:
        fieldsets: list = [
            ("Person (editable locally)", {"fields": PERSON_COLUMNS}),
            ("Salesforce (read-only)", {"fields": CONTACT_SYSTEM_READONLY}),
        ]
        if obj is not None and obj.account_id:
            shared_by = contact_count_for_account(account_id=obj.account_id)
            editable = self.can_edit_account(request, obj)
            fields = [account_field_name(c) for c in ACCOUNT_COLUMNS] if editable else [
                "account_data"
            ]
            fieldsets.insert(1, (
                f"Account: {obj.account.name} — shared by {shared_by} contacts",
                {"fields": fields, "description": ACCOUNT_WARNING,
                 "classes": ["shared-account", "local-edit"]},
            ))
        return fieldsets

    @admin.display(description="Account data")
    def account_data(self, obj: Contact) -> str:
        account = obj.account
        rows = [
            (capfirst(Account._meta.get_field(column).verbose_name), getattr(account, column))
            for column in ACCOUNT_COLUMNS
        ]
        return values_table(rows, ("Field", "Value"))

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        contact_apply_local_edit(contact=obj, changes=form.person_changes(), user=request.user)
        account_changes = form.account_changes()
        if account_changes and obj.account_id:
            self.save_account_edit(request, obj.account, account_changes)

    def change_form_context(self, request: HttpRequest, obj: Contact) -> dict[str, Any]:
        timeline = Paginator(contact_timeline(contact=obj), PAGE_SIZE)
        return {
            "edit_warning": PERSON_WARNING,
            "timeline_page": timeline.get_page(request.GET.get("timeline_page")),
            "can_convert": self.has_convert_person_permission(request),
            "conversions": obj.conversions.all()[:5],
        }


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "stage", "close_date", "amount", "account", "owner", "is_deleted")
    list_filter = ("stage", "is_won", "is_deleted")
    list_select_related = ("account", "owner")
    search_fields = ("name", "account__name")
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(SalesforceUser)
class SalesforceUserAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "email", "is_active", "sfdc_id")
    search_fields = ("name", "email")
    show_full_result_count = False
