"""Forms for local edits (they report only what the marketer changed) and smart-list rules.

Every editable field posts its initial value too (`show_hidden_initial`), so `changed_data`
compares against what the marketer saw, not against the database now: a form opened before a sync
changed the account reports only the marketer's own changes, and the sync's values survive.
"""

from collections.abc import Iterable
from typing import Any

from django import forms

from accounts.models import Account, Contact, SmartListRule
from accounts.selectors import InvalidFilter, smart_list_rule_check
from accounts.services import ACCOUNT_API_NAMES, PERSON_API_NAMES
from activities.models import Activity

ACCOUNT_COLUMNS = list(ACCOUNT_API_NAMES)
PERSON_COLUMNS = list(PERSON_API_NAMES)
ACCOUNT_PREFIX = "account_"


def account_field_name(column: str) -> str:
    """The contact form's name for one of the shared account's fields."""
    return f"{ACCOUNT_PREFIX}{column}"


def picklist_field(field: forms.Field, values: list[str], current: Any) -> forms.ChoiceField:
    """A dropdown of the values Salesforce lists; any other value is refused by the form.

    A current value Salesforce no longer lists stays selectable, marked, so saving the form
    unchanged never fails on it.
    """
    choices = [("", "---------"), *((value, value) for value in values)]
    if current and current not in values:
        choices.append((current, f"{current} (no longer listed in Salesforce)"))
    return forms.ChoiceField(
        choices=choices, required=field.required, label=field.label, help_text=field.help_text,
    )


class LocalEditForm(forms.ModelForm):
    """A model form whose `changes()` are the fields changed since the page was rendered.

    `picklists` (column → values Salesforce lists) turns those columns into dropdowns.
    """

    picklists: dict[str, list[str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for column, values in self.picklists.items():
            if column in self.fields:
                self.fields[column] = picklist_field(
                    self.fields[column], values, getattr(self.instance, column, None)
                )
        for field in self.fields.values():
            field.show_hidden_initial = True

    def changes(self, columns: Iterable[str], prefix: str = "") -> dict[str, Any]:
        """Changed values by model field name, among `columns` (form names carry `prefix`)."""
        changed = set(self.changed_data)
        return {
            column: self.cleaned_data[prefix + column]
            for column in columns
            if prefix + column in changed
        }


class AccountLocalEditForm(LocalEditForm):
    class Meta:
        model = Account
        fields = ACCOUNT_COLUMNS


class ContactLocalEditForm(LocalEditForm):
    """The person's fields, plus the shared account's fields (prefixed) when `edit_account`.

    The admin builds a subclass with `edit_account = True` only for users who may change
    accounts; everyone else sees the account read-only.
    """

    edit_account = False
    account_picklists: dict[str, list[str]] = {}

    class Meta:
        model = Contact
        fields = PERSON_COLUMNS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.instance.account if self.instance.account_id else None
        if not self.edit_account or account is None:
            return
        account_fields = forms.fields_for_model(Account, fields=ACCOUNT_COLUMNS)
        for column, field in account_fields.items():
            if column in self.account_picklists:
                field = picklist_field(
                    field, self.account_picklists[column], getattr(account, column)
                )
            field.show_hidden_initial = True
            name = account_field_name(column)
            self.fields[name] = field
            self.initial[name] = getattr(account, column)

    def person_changes(self) -> dict[str, Any]:
        return self.changes(PERSON_COLUMNS)

    def account_changes(self) -> dict[str, Any]:
        return self.changes(ACCOUNT_COLUMNS, prefix=ACCOUNT_PREFIX)


class TimelineFilterForm(forms.Form):
    """The person's timeline filters, read from the page's query string (all optional; an
    invalid one is reported and ignored)."""

    timeline_type = forms.ChoiceField(
        label="Activity", required=False, choices=[("", "All activities"), *Activity.Type.choices]
    )
    timeline_field = forms.CharField(label="Field", required=False, max_length=255)
    timeline_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    timeline_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, form_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["form"] = form_id  # the inputs sit inside the change form

    def filters(self) -> dict[str, Any]:
        """The valid filters, by the timeline selector's argument names."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "activity_type": cleaned.get("timeline_type") or "",
            "attribute": cleaned.get("timeline_field") or "",
            "since": cleaned.get("timeline_from"),
            "until": cleaned.get("timeline_to"),
        }


class SmartListRuleForm(forms.ModelForm):
    """A rule is saved only if it applies: a known field, an operator of its kind, values of
    its type (a number for employees, a date for dates), a second value for "between"."""

    class Meta:
        model = SmartListRule
        fields = ("field", "operator", "value", "value_to", "position")
        help_texts = {
            "operator": "Text fields: is, is not, contains, starts with, is empty. Numbers and "
            "dates: is, greater/less than, at least/most, between, is empty.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        rule = SmartListRule(**{name: cleaned.get(name, "") for name in (
            "field", "operator", "value", "value_to")})
        try:
            smart_list_rule_check(rule=rule)
        except InvalidFilter as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned
