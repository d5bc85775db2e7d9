"""The marketers' admin: accounts and people, with the one-way rules in plain sight.

Accounts are never added here (Convert Person is the only way an account comes into being);
Salesforce ids and system timestamps are read-only; every local edit goes through
`accounts.services`, which saves only what changed and logs it.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin_convert import ConvertPersonAdminMixin
from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.selectors import account_divergences
from accounts.services import (
    ACCOUNT_API_NAMES,
    PERSON_API_NAMES,
    account_apply_local_edit,
    contact_apply_local_edit,
)
from marketo_sync.sync.services import sync_enqueue_records

ACCOUNT_COLUMNS = list(ACCOUNT_API_NAMES)
PERSON_COLUMNS = list(PERSON_API_NAMES)
SYSTEM_READONLY = (
    "sfdc_id", "sfdc_last_modified", "synced_at", "is_deleted", "master_record_sfdc_id",
    "custom_fields", "locally_edited_at", "locally_edited_by",
)
PAGE_SIZE = 25
ACCOUNT_WARNING = (
    "Edits here are local only: they are not sent to Salesforce, and the next Salesforce "
    "update of this account overwrites all of its account data, for every contact."
)
PERSON_WARNING = (
    "Edits to this person are local only: they are not sent to Salesforce, and the next "
    "Salesforce update of this person overwrites them."
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


class ResyncAdminMixin:
    """"Re-sync selected": pull just those records from Salesforce now."""

    resync_object_name = ""

    def has_resync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.run_sync")

    @admin.action(description="Re-sync selected from Salesforce now", permissions=["resync"])
    def resync_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = [i for i in queryset.values_list("sfdc_id", flat=True) if i]
        sync_enqueue_records(object_name=self.resync_object_name, sfdc_ids=ids)
        self.message_user(request, f"{len(ids)} record(s) queued for a re-sync from Salesforce.")


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ACCOUNT_COLUMNS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ACCOUNT_COLUMNS:
            self.fields[name].show_hidden_initial = True  # stale forms change only what changed


@admin.register(Account)
class AccountAdmin(ResyncAdminMixin, admin.ModelAdmin):
    resync_object_name = "Account"
    form = AccountAdminForm
    list_display = (
        "name", "industry", "type", "billing_country", "owner", "locally_edited", "is_deleted",
    )
    list_filter = (LocallyEditedFilter, "industry", "is_deleted", "type")
    list_select_related = ("owner",)
    search_fields = ("name", "website", "sfdc_id")
    show_full_result_count = False
    list_per_page = 50
    actions = ("resync_selected",)
    readonly_fields = (*SYSTEM_READONLY, "owner", "divergence")
    fieldsets = (
        ("Account data (from Salesforce; editable locally)", {"fields": ACCOUNT_COLUMNS}),
        ("Local edits", {"fields": ("locally_edited_at", "locally_edited_by", "divergence")}),
        (
            "Salesforce (read-only)",
            {"fields": ("sfdc_id", "owner", "sfdc_last_modified", "synced_at", "is_deleted",
                        "master_record_sfdc_id", "custom_fields")},
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts come from Salesforce, or from Convert Person

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.message_user(
            request,
            "Accounts cannot be created here: they come from Salesforce. Convert Person is the "
            "only way to create one.",
            messages.ERROR,
        )
        return HttpResponseRedirect(reverse("admin:accounts_account_changelist"))

    @admin.display(description="Local edits", boolean=True, ordering="locally_edited_at")
    def locally_edited(self, obj: Account) -> bool:
        return obj.locally_edited_at is not None

    @admin.display(description="Local value vs last value from Salesforce")
    def divergence(self, obj: Account) -> str:
        rows = account_divergences(account=obj)
        if not rows:
            return "No local differences."
        return format_html(
            "<table><tr><th>Field</th><th>Local</th><th>Salesforce (last sync)</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((row.label, row.local_value, row.salesforce_value) for row in rows),
            ),
        )

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        changed = {name: form.cleaned_data[name] for name in form.changed_data
                   if name in ACCOUNT_API_NAMES}
        logged = account_apply_local_edit(account_id=obj.pk, changes=changed, user=request.user)
        if changed:
            self.message_user(
                request,
                f"Saved locally ({logged} activities logged). This edit is not sent to "
                "Salesforce; the next Salesforce update of this account overwrites it.",
                messages.WARNING,
            )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        account = self.get_object(request, object_id)
        extra = {"edit_warning": ACCOUNT_WARNING}
        if account is not None:
            contacts = account.contacts.filter(is_deleted=False).order_by("last_name", "pk")
            page = Paginator(
                contacts.only("pk", "account_id", "first_name", "last_name", "email"), PAGE_SIZE
            )
            extra["contacts_page"] = page.get_page(request.GET.get("contacts_page"))
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


class ContactAdminForm(forms.ModelForm):
    """The person's fields plus the shared account's fields, prefixed `account_`."""

    class Meta:
        model = Contact
        fields = PERSON_COLUMNS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PERSON_COLUMNS:
            self.fields[name].show_hidden_initial = True  # stale forms change only what changed
        account = self.instance.account if self.instance.pk else None
        if account is None:
            return
        for column in ACCOUNT_COLUMNS:
            model_field = Account._meta.get_field(column)
            form_field = model_field.formfield()
            form_field.required = model_field.name == "name"
            form_field.initial = getattr(account, column)
            form_field.show_hidden_initial = True
            self.fields[f"account_{column}"] = form_field

    def account_changes(self) -> dict[str, Any]:
        return {
            name.removeprefix("account_"): self.cleaned_data[name]
            for name in self.changed_data
            if name.startswith("account_")
        }

    def person_changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in self.changed_data if name in PERSON_COLUMNS
        }


@admin.register(Contact)
class ContactAdmin(ConvertPersonAdminMixin, ResyncAdminMixin, admin.ModelAdmin):
    resync_object_name = "Contact"
    form = ContactAdminForm
    list_display = ("__str__", "email", "sfdc_type", "account", "owner", "is_deleted")
    list_filter = ("sfdc_type", "is_deleted", "account__industry")
    list_select_related = ("account", "owner")
    search_fields = ("first_name", "last_name", "email", "account__name")
    show_full_result_count = False
    list_per_page = 50
    actions = ("resync_selected", "convert_person")
    readonly_fields = (
        "sfdc_id", "sfdc_lead_id", "sfdc_type", "account", "owner", "company", "lead_status",
        "sfdc_last_modified", "synced_at", "is_deleted", "locally_edited_at", "custom_fields",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("account", "owner")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people come from Salesforce

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        # the account fields are added by the form itself; the model form knows person fields
        kwargs["fields"] = PERSON_COLUMNS
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None) -> list:
        fieldsets: list = [
            ("Person (editable locally)", {"fields": PERSON_COLUMNS}),
            ("Salesforce (read-only)", {"fields": list(self.readonly_fields)}),
        ]
        if obj is not None and obj.account_id:
            shared_by = Contact.objects.filter(account_id=obj.account_id, is_deleted=False).count()
            fieldsets.insert(1, (
                f"Account: {obj.account.name} — shared by {shared_by} contacts",
                {"fields": [f"account_{c}" for c in ACCOUNT_COLUMNS],
                 "description": ACCOUNT_WARNING},
            ))
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        contact_apply_local_edit(
            contact_id=obj.pk, changes=form.person_changes(), user=request.user
        )
        account_changes = form.account_changes()
        if account_changes and obj.account_id:
            if not request.user.has_perm("accounts.change_account"):
                self.message_user(request, "You may not edit account fields.", messages.ERROR)
                return
            account_apply_local_edit(
                account_id=obj.account_id, changes=account_changes, user=request.user
            )
            self.message_user(
                request,
                "Account saved locally for every contact of the account. It is not sent to "
                "Salesforce; the next Salesforce update of this account overwrites it.",
                messages.WARNING,
            )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        contact = self.get_object(request, object_id)
        extra = {
            "edit_warning": PERSON_WARNING,
            "can_convert": self.has_convert_person_permission(request),
        }
        if contact is not None:
            extra["conversions"] = contact.conversions.all()[:5]
            timeline = contact.activities.select_related("user").order_by("-created_at", "-pk")
            extra["timeline_page"] = Paginator(timeline, PAGE_SIZE).get_page(
                request.GET.get("timeline_page")
            )
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Mirrored from Salesforce and not edited here."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdmin):
    list_display = ("name", "stage", "close_date", "amount", "account", "owner", "is_deleted")
    list_filter = ("stage", "is_won", "is_deleted")
    list_select_related = ("account", "owner")
    search_fields = ("name", "account__name")


@admin.register(SalesforceUser)
class SalesforceUserAdmin(ReadOnlyAdmin):
    list_display = ("name", "email", "is_active", "sfdc_id")
    search_fields = ("name", "email")
