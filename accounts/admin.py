"""The marketers' admin: accounts and people, with the one-way rules in plain sight.

Accounts are never added here (Convert Person is the only way an account comes into being);
Salesforce ids and system timestamps are read-only; every local edit goes through
`accounts.services`, which saves only what changed and logs it.
"""

from contextlib import suppress
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from accounts import admin_smart_lists  # noqa: F401 - registers the smart lists' admin
from accounts.admin_convert import ConvertPersonAdminMixin
from accounts.admin_filters import PEOPLE_LIST_FILTERS, account_value_filter
from accounts.forms import (
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    AccountLocalEditForm,
    ContactLocalEditForm,
    TimelineFilterForm,
    account_field_name,
)
from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.selectors import (
    PERSON_SEARCH_ORDER,
    InvalidFilter,
    account_divergences,
    account_history,
    account_history_attributes,
    account_list_locally_edited,
    activity_log_query,
    contact_count_for_account,
    contact_list_for_account,
    contact_sfdc_ids_by_object,
    contact_timeline,
    conversion_list_with_records,
    person_account_lookup_allowed,
    person_search,
    person_search_used,
    smart_list_get,
)
from accounts.services import (
    ACCOUNT_API_NAMES,
    PERSON_API_NAMES,
    account_apply_local_edit,
    contact_apply_local_edit,
    export_start,
)
from activities.models import Activity
from marketo_sync.admin_mixins import (
    EstimatedCountPaginator,
    KeysFirstPaginator,
    ReadOnlyAdminMixin,
    staff_user,
)
from marketo_sync.csv_export import csv_response
from marketo_sync.fields import concrete_field
from marketo_sync.forbidden import MissingPermission
from marketo_sync.sync.selectors import (
    picklist_values,
    record_sync_status,
    salesforce_field_labels,
)
from marketo_sync.sync.services import sync_enqueue_records

CONTACT_SYSTEM_READONLY = (
    "sfdc_id", "sfdc_lead_id", "sfdc_type", "account", "owner", "company", "industry",
    "number_of_employees", "annual_revenue", "city", "state", "country", "lead_status",
    "sfdc_created_at", "sfdc_last_modified", "synced_at", "is_deleted", "locally_edited_at",
    "salesforce_fields",
)
SYSTEM_READONLY = (
    "sfdc_id", "owner", "sfdc_last_modified", "synced_at", "is_deleted", "master_record_sfdc_id",
    "salesforce_fields",
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
SHARED_EDIT_TEMPLATE = "admin/accounts/shared_edit_confirmation.html"
# The posted field that says the marketer confirmed a large shared edit.
CONFIRMED = "_confirm_shared_edit"
# Where save_model leaves the summary that replaces Django's generic success message.
SAVE_SUMMARY = "_local_edit_summary"
NO_ACCOUNT_CREATION = (
    "Accounts cannot be created here: they come from Salesforce. Convert Person is the only "
    "way to create one."
)


def field_labels(model: type[Account] | type[Contact], columns: Any) -> list[str]:
    return [str(capfirst(concrete_field(model, column).verbose_name)) for column in columns]


def local_edit_summary(
    *, person: Contact | None, person_fields: list[str], account: Account | None,
    account_fields: list[str], contacts: int,
) -> str:
    """What a save changed, named: the person's fields and/or the shared account's."""
    parts = []
    if person is not None and person_fields:
        parts.append(f"{person}: {', '.join(person_fields)}")
    if account is not None and account_fields:
        parts.append(
            f"the account {account.name} (shared by {contacts} contacts): "
            f"{', '.join(account_fields)}"
        )
    if not parts:
        return "Nothing changed, so nothing was saved."
    overwritten = (
        "the next Salesforce update overwrites all of the account's data"
        if account_fields else "the next Salesforce update of this person overwrites it"
    )
    return (
        f"Saved locally for {' and '.join(parts)}. It is not sent to Salesforce; {overwritten}."
    )


def values_table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> SafeString:
    """A small escaped HTML table (Salesforce data is never trusted as markup)."""
    cells = "".join("<td>{}</td>" for _ in headers)
    return format_html(
        '<table class="values-table"><tr>{}</tr>{}</table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join("", f"<tr>{cells}</tr>", rows),
    )


def history_url(request: HttpRequest, **changes: Any) -> str:
    """This page's query string with some history parameters changed (others kept)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query[name] = value
    return f"?{query.urlencode()}"


def history_filter_links(
    request: HttpRequest, parameter: str, options: list[tuple[str, str]]
) -> list[tuple[str, str, bool]]:
    """(label, url, selected) per option of one account-history filter; the page restarts."""
    current = request.GET.get(parameter, "")
    return [
        (label, history_url(request, **{parameter: value, "history_page": 1}), value == current)
        for value, label in options
    ]


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


class ResyncAdminMixin(admin.ModelAdmin):
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


class ExportCsvAdminMixin:
    """"Export as CSV": the selection, or with "select all" the whole filtered list, streamed."""

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.export_people")

    @admin.action(description="Export as CSV", permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponseBase:
        header, rows = export_start(
            user=staff_user(request), queryset=queryset, filter_query=request.GET.urlencode()
        )
        name = str(queryset.model._meta.verbose_name_plural).replace(" ", "-")
        return csv_response(filename=f"{name}.csv", header=header, rows=rows)


class AccountEditMixin(admin.ModelAdmin):
    """Saving an account edit, from the account or from one of its contacts: the same rules.

    An edit that reaches more than `SHARED_EDIT_CONFIRM_CONTACTS` contacts is saved only from a
    confirmation page that repeats the posted form; the message after a save names what changed
    instead of Django's generic "changed successfully".
    """

    def edited_account(self, obj: Any, form: Any) -> tuple[Account | None, dict[str, Any]]:
        """The account a valid form edits and its changed fields (column → new value)."""
        raise NotImplementedError

    def picklist_columns(self) -> dict[str, list[str]]:
        """Account columns that are picklists in Salesforce → the values it currently lists."""
        values = picklist_values(object_name="Account")
        return {
            column: values[api_name]
            for column, api_name in ACCOUNT_API_NAMES.items()
            if api_name in values
        }

    def save_account_edit(
        self, request: HttpRequest, account: Account, changes: dict[str, Any]
    ) -> list[str]:
        """Apply the edit; returns the labels of the account fields it changed."""
        edit = account_apply_local_edit(account=account, changes=changes, user=staff_user(request))
        columns = {ACCOUNT_API_NAMES[c]: c for c in changes}
        return field_labels(Account, [columns[api_name] for api_name in edit.fields])

    def message_user(self, request: HttpRequest, message: Any, level: int | str = messages.INFO,
                     *args: Any, **kwargs: Any) -> None:
        summary = getattr(request, SAVE_SUMMARY, None)
        if summary is not None and level == messages.SUCCESS:
            message = summary
        super().message_user(request, message, level, *args, **kwargs)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "POST" and object_id and CONFIRMED not in request.POST:
            confirmation = self.shared_edit_confirmation(request, object_id)
            if confirmation is not None:
                return confirmation
        return super().changeform_view(request, object_id, form_url, extra_context)

    def shared_edit_confirmation(
        self, request: HttpRequest, object_id: str
    ) -> HttpResponse | None:
        """The confirmation page, when this POST would change a large account; else None and
        the ordinary view saves (or shows the form's errors, or refuses)."""
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_change_permission(request, obj):
            return None
        form = self.get_form(request, obj, change=True)(request.POST, request.FILES, instance=obj)
        if not form.is_valid():
            return None
        account, changes = self.edited_account(obj, form)
        if account is None or not changes:
            return None
        contacts = contact_count_for_account(account_id=account.pk)
        if contacts <= settings.SHARED_EDIT_CONFIRM_CONTACTS:
            return None
        current = Account.objects.get(pk=account.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Change the account {current.name} for {contacts} contacts?",
            "account": current,
            "contacts": contacts,
            "changes": [
                (label, getattr(current, column), value)
                for (column, value), label in zip(
                    changes.items(), field_labels(Account, changes), strict=True
                )
            ],
            "warning": ACCOUNT_WARNING,
            "posted": [
                (name, value)
                for name, values in request.POST.lists()
                if name != "csrfmiddlewaretoken"
                for value in values
            ],
            "confirmed_name": CONFIRMED,
        }
        return TemplateResponse(request, SHARED_EDIT_TEMPLATE, context)


class ChangeFormContextMixin(admin.ModelAdmin):
    """One hook for extra change-page context, so mixins extend it instead of the views; every
    record page also says how its sync stands (open errors, the last re-sync's result)."""

    def change_form_context(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def salesforce_ids(self, obj: Any) -> dict[str, str]:
        """The record's Salesforce ids by object name."""
        return {self.model.__name__: obj.sfdc_id}

    @admin.display(description="More Salesforce fields")
    def salesforce_fields(self, obj: Any) -> str:
        """Custom and other unmapped fields, one labelled row each (labels from describe)."""
        values = obj.custom_fields or {}
        if not values:
            return "None."
        known = [name for name, sfdc_id in self.salesforce_ids(obj).items() if sfdc_id]
        labels = salesforce_field_labels(object_name=known[0] if known else self.model.__name__)
        return values_table(
            [(labels.get(name, name), name, values[name]) for name in sorted(values)],
            ("Field", "API name", "Value"),
        )

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False,
        change: bool = False, form_url: str = "", obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            context["sync_status"] = record_sync_status(sfdc_ids=self.salesforce_ids(obj))
            context.update(self.change_form_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Account)
class AccountAdmin(
    ExportCsvAdminMixin, ChangeFormContextMixin, ResyncAdminMixin, AccountEditMixin
):
    form = AccountLocalEditForm
    list_display = (
        "name", "locally_edited", "diverging_fields", "industry", "type", "billing_country",
        "owner", "is_deleted",
    )
    list_filter = (
        LocallyEditedFilter, account_value_filter("industry", "industry"), "owner", "is_deleted",
        account_value_filter("type", "type"),
    )
    list_select_related = ("owner",)
    search_fields = ("name", "website", "sfdc_id")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ("resync_selected", "export_csv")
    readonly_fields = (*SYSTEM_READONLY, "locally_edited_at", "locally_edited_by", "divergence")
    fieldsets = (
        (
            "Account data (from Salesforce; editable locally)",
            {"fields": tuple(ACCOUNT_COLUMNS), "classes": ["local-edit"]},  # warned above the form
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

    def edited_account(
        self, obj: Account, form: Any
    ) -> tuple[Account | None, dict[str, Any]]:
        return obj, form.changes(ACCOUNT_COLUMNS)

    def get_form(
        self, request: HttpRequest, obj: Account | None = None, change: bool = False,
        **kwargs: Any,
    ) -> type[ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"picklists": self.picklist_columns()})

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        changed = self.save_account_edit(request, obj, form.changes(ACCOUNT_COLUMNS))
        setattr(request, SAVE_SUMMARY, local_edit_summary(
            person=None, person_fields=[], account=obj, account_fields=changed,
            contacts=contact_count_for_account(account_id=obj.pk),
        ))

    def change_form_context(self, request: HttpRequest, obj: Account) -> dict[str, Any]:
        contacts = Paginator(contact_list_for_account(account=obj), PAGE_SIZE)
        attributes = account_history_attributes(account=obj)
        attribute = request.GET.get("history_field", "")
        source = request.GET.get("history_source", "")
        attribute = attribute if attribute in attributes else ""
        source = source if source in Activity.Source.values else ""
        history = Paginator(
            account_history(account=obj, attribute=attribute, source=source), PAGE_SIZE
        ).get_page(request.GET.get("history_page"))
        return {
            "edit_warning": ACCOUNT_WARNING,
            "contacts_page": contacts.get_page(request.GET.get("contacts_page")),
            "history_page": history,
            "history_field_links": history_filter_links(
                request, "history_field", [("", "All fields")] + [(a, a) for a in attributes]
            ),
            "history_source_links": history_filter_links(
                request, "history_source", [("", "All sources"), *Activity.Source.choices]
            ),
        }


@admin.register(Contact)
class ContactAdmin(
    ConvertPersonAdminMixin, ExportCsvAdminMixin, ChangeFormContextMixin, ResyncAdminMixin,
    AccountEditMixin,
):
    form = ContactLocalEditForm
    list_display = (
        "__str__", "email", "sfdc_type", "company_name", "company_industry", "owner", "is_deleted"
    )
    list_filter = PEOPLE_LIST_FILTERS
    list_select_related = ("account", "owner")
    search_fields = ("first_name", "last_name", "email", "company")  # see get_search_results
    search_help_text = (
        "An email (with @), first and last name (either order), or one word: the start of a "
        "first name, last name, email or company."
    )
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per choice over every person
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ("resync_selected", "convert_person", "export_csv")
    readonly_fields = (*CONTACT_SYSTEM_READONLY, "account_data")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("account", "owner")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A smart list opened here states its rules above its people."""
        context = dict(extra_context or {})
        if request.GET.get("smart_list"):
            with suppress(InvalidFilter):  # the filter itself answers it with ?e=1
                context["smart_list"] = smart_list_get(pk=request.GET["smart_list"])
        return super().changelist_view(request, context)

    def searched(self, request: HttpRequest) -> bool:
        return person_search_used(term=request.GET.get(SEARCH_VAR, ""))

    def get_ordering(self, request: HttpRequest) -> Any:
        """Search results in case-insensitive name order, sorted from the matches alone."""
        if self.searched(request):
            return PERSON_SEARCH_ORDER
        return super().get_ordering(request)

    def get_paginator(
        self, request: HttpRequest, queryset: QuerySet, per_page: int, orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> EstimatedCountPaginator:
        """Search results are sorted, not read in an index's order: keys first, then the page."""
        paginator = KeysFirstPaginator if self.searched(request) else self.paginator
        return paginator(queryset, per_page, orphans, allow_empty_first_page)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        try:
            return person_search(people=queryset, term=search_term), False
        except InvalidFilter as exc:
            raise IncorrectLookupParameters(str(exc)) from exc

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        allowed = person_account_lookup_allowed(lookup=lookup)
        if allowed is None:
            return super().lookup_allowed(lookup, value, request)
        return allowed

    @admin.display(description="Company", ordering="account__name")
    def company_name(self, obj: Contact) -> str:
        return obj.account.name if obj.sfdc_type == Contact.SfdcType.CONTACT and obj.account else (
            obj.company
        )

    @admin.display(description="Industry")
    def company_industry(self, obj: Contact) -> str:
        if obj.sfdc_type == Contact.SfdcType.CONTACT:
            return obj.account.industry if obj.account else ""
        return obj.industry

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

    def salesforce_ids(self, obj: Contact) -> dict[str, str]:
        return {"Contact": obj.sfdc_id or "", "Lead": obj.sfdc_lead_id or ""}

    def get_form(
        self, request: HttpRequest, obj: Contact | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        # the account fields are added by the form itself; the model form knows person fields
        kwargs["fields"] = PERSON_COLUMNS
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {
            "edit_account": self.can_edit_account(request, obj),
            "account_picklists": self.picklist_columns(),
        })

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None) -> list:
        fieldsets: list = [
            ("Person (editable locally)", {"fields": PERSON_COLUMNS}),
            ("Salesforce (read-only)", {"fields": CONTACT_SYSTEM_READONLY}),
        ]
        if obj is not None and obj.account is not None:
            shared_by = contact_count_for_account(account_id=obj.account.pk)
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
            (label, getattr(account, column))
            for label, column in zip(
                field_labels(Account, ACCOUNT_COLUMNS), ACCOUNT_COLUMNS, strict=True
            )
        ]
        return values_table(rows, ("Field", "Value"))

    def edited_account(
        self, obj: Contact, form: Any
    ) -> tuple[Account | None, dict[str, Any]]:
        return (obj.account, form.account_changes()) if obj.account_id else (None, {})

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        person = contact_apply_local_edit(
            contact=obj, changes=form.person_changes(), user=staff_user(request)
        )
        account_changes = form.account_changes()
        account = obj.account if obj.account_id else None
        account_fields: list[str] = []
        if account_changes and account is not None:
            account_fields = self.save_account_edit(request, account, account_changes)
            if account_fields:
                # the edit belongs to the account's own History, not only to this person's
                self.log_change(request, account, [{"changed": {"fields": account_fields}}])
        person_columns = {PERSON_API_NAMES[c]: c for c in form.person_changes()}
        setattr(request, SAVE_SUMMARY, local_edit_summary(
            person=obj,
            person_fields=field_labels(Contact, [person_columns[n] for n in person.fields]),
            account=account,
            account_fields=account_fields,
            contacts=contact_count_for_account(account_id=account.pk)
            if account and account_fields else 0,
        ))

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict]:
        """The person's History lists the person's fields; account fields go to the account."""
        fields = field_labels(Contact, form.person_changes())
        return [{"changed": {"fields": fields}}] if fields else []

    def change_form_context(self, request: HttpRequest, obj: Contact) -> dict[str, Any]:
        timeline_filter = TimelineFilterForm(request.GET, form_id="timeline-filter")
        filters = timeline_filter.filters()
        timeline = Paginator(contact_timeline(contact=obj, **filters), PAGE_SIZE)
        return {
            "edit_warning": PERSON_WARNING,
            "timeline_page": timeline.get_page(request.GET.get("timeline_page")),
            "timeline_filter": timeline_filter,
            "timeline_in_activity_log": (
                reverse("admin:activities_activity_changelist") + "?"
                + activity_log_query(contact=obj, **filters)
            ),
            "can_convert": self.has_convert_person_permission(request),
            "conversions": conversion_list_with_records(person=obj),
        }


@admin.register(Opportunity)
class OpportunityAdmin(ChangeFormContextMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
