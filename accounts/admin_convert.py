"""Convert Person in the admin: an action and a button, both behind the caution page.

Like `delete_selected`: the first request renders the confirmation page; the second POST
(`post=yes`, CSRF, the "I understand" box ticked) records the conversions and queues them.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from accounts.conversion import (
    MAX_PEOPLE_PER_CONVERSION,
    ConversionRefused,
    conversion_refusal,
    conversion_request,
    conversion_retry,
    conversion_retryable_ids,
    new_idempotency_key,
    people_with_open_conversion,
    similar_accounts,
)
from accounts.jobs import enqueue_person_conversion
from accounts.models import Contact, PersonConversion, SalesforceUser
from marketo_sync.admin_mixins import staff_user
from marketo_sync.forbidden import MissingPermission
from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.convert import ConvertOptions, converted_statuses
from marketo_sync.salesforce.errors import SalesforceError

CONFIRMATION_TEMPLATE = "admin/accounts/contact/convert_person_confirmation.html"


class ConvertPersonForm(forms.Form):
    assign_to = forms.ModelChoiceField(
        queryset=SalesforceUser.objects.filter(is_active=True, is_deleted=False),
        required=False,
        empty_label="Keep the person's owner",
        help_text="Owner of the new contact, account and opportunity.",
    )
    send_notification = forms.BooleanField(required=False, label="Send notification to owner")
    converted_status = forms.ChoiceField(label="Converted status")
    understand = forms.BooleanField(
        required=True,
        label="I understand: this creates a new account in Salesforce, and may duplicate one.",
        error_messages={"required": "Tick the box to confirm you understand the caution above."},
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, statuses: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        converted_status = self.fields["converted_status"]
        assert isinstance(converted_status, forms.ChoiceField)
        converted_status.choices = [(s, s) for s in statuses]

    def options(self) -> ConvertOptions:
        owner = self.cleaned_data["assign_to"]
        return ConvertOptions(
            converted_status=self.cleaned_data["converted_status"],
            owner_id=owner.sfdc_id if owner else "",
            send_notification_email=self.cleaned_data["send_notification"],
        )


class ConvertPersonAdminMixin(admin.ModelAdmin):
    """Adds the Convert Person action, button, confirmation page and retry to ContactAdmin."""

    def has_convert_person_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.convert_person")

    @admin.action(description="Convert Person… (creates records in Salesforce)",
                  permissions=["convert_person"])
    def convert_person(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        people = list(queryset.select_related("account")[: MAX_PEOPLE_PER_CONVERSION + 1])
        if len(people) > MAX_PEOPLE_PER_CONVERSION:
            self.message_user(
                request,
                f"Convert at most {MAX_PEOPLE_PER_CONVERSION} people at a time.",
                messages.ERROR,
            )
            return None
        return self.convert_person_confirmation(request, people)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/convert/",
                view(self.convert_person_view),
                name="accounts_contact_convert",
            ),
            path(
                "conversions/<int:pk>/retry/",
                view(require_POST(self.convert_person_retry_view)),
                name="accounts_conversion_retry",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if str(object_id).isdigit():
            extra_context = {
                **(extra_context or {}),
                "retryable_conversion_ids": conversion_retryable_ids(person_id=int(object_id)),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def convert_person_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_convert_person_permission(request):
            raise MissingPermission("accounts.convert_person")
        person = get_object_or_404(Contact, pk=pk)
        return self.convert_person_confirmation(request, [person])

    def convert_person_retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_convert_person_permission(request):
            raise MissingPermission("accounts.convert_person")
        conversion = get_object_or_404(PersonConversion, pk=pk)
        try:
            conversion_retry(conversion=conversion)
        except ConversionRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            enqueue_person_conversion(conversion.pk)
            self.message_user(request, "The conversion was queued again.")
        return HttpResponseRedirect(
            reverse("admin:accounts_contact_change", args=[conversion.person_id])
        )

    def convert_person_confirmation(
        self, request: HttpRequest, people: list[Contact]
    ) -> HttpResponse:
        if not self.has_convert_person_permission(request):
            raise MissingPermission("accounts.convert_person")
        try:
            statuses = converted_statuses(SalesforceClient.from_settings())
        except SalesforceError as exc:
            self.message_user(request, f"Salesforce cannot be reached: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_contact_changelist"))
        confirmed = request.POST.get("post") == "yes"
        form = ConvertPersonForm(
            request.POST if confirmed else None,
            statuses=statuses,
            initial={"idempotency_key": new_idempotency_key()},
        )
        if confirmed and form.is_valid():
            return self.convert_person_submit(request, people, form)
        in_progress = people_with_open_conversion(person_ids=[p.pk for p in people])
        rows = [
            {
                "person": person,
                "refusal": conversion_refusal(person),
                "in_progress": person.pk in in_progress,
                "similar": similar_accounts(company=person.company),
            }
            for person in people
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Convert Person — caution",
            "rows": rows,
            "form": form,
            "ids": [p.pk for p in people],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "from_action": "action" in request.POST,
        }
        return TemplateResponse(request, CONFIRMATION_TEMPLATE, context)

    def convert_person_submit(
        self, request: HttpRequest, people: list[Contact], form: ConvertPersonForm
    ) -> HttpResponse:
        queued, refused, already = 0, [], []
        for person in people:
            key = f"{form.cleaned_data['idempotency_key']}-{person.pk}"
            try:
                conversion, created = conversion_request(
                    person=person,
                    options=form.options(),
                    user=staff_user(request),
                    idempotency_key=key,
                )
            except ConversionRefused as exc:
                refused.append(str(exc))
                continue
            if created:
                enqueue_person_conversion(conversion.pk)
                queued += 1
            else:
                already.append(
                    f"{person} already has a conversion in progress "
                    f"({conversion.get_status_display()}); it was not queued again."
                )
        if queued:
            self.message_user(request, f"{queued} conversion(s) queued.")
        for message in already:
            self.message_user(request, message, messages.WARNING)
        for message in refused:
            self.message_user(request, message, messages.ERROR)
        if len(people) == 1:
            return HttpResponseRedirect(
                reverse("admin:accounts_contact_change", args=[people[0].pk])
            )
        return HttpResponseRedirect(reverse("admin:accounts_contact_changelist"))
