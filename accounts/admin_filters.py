"""The People list's filters: every one a query-string parameter, so a filtered list is a URL.

Company-level filters match a contact by its account and a lead by its own company fields
(`accounts.selectors.person_rule_q`); a value that cannot be applied raises
`IncorrectLookupParameters`, which the admin answers with its invalid-filter redirect (`?e=1`).
"""

from collections.abc import Iterator, Mapping
from datetime import datetime, time
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import build_q_object_from_lookup_parameters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.models import Contact
from accounts.person_fields import PERSON_FILTER_FIELDS, Operator
from accounts.selectors import (
    InvalidFilter,
    account_field_values,
    person_company_values,
    person_rule_q,
    smart_list_choices,
    smart_list_get,
    smart_list_q,
)
from marketo_sync.sync.selectors import picklist_values


def apply_rule(queryset: QuerySet, field: str, operator: str, values: list[Any]) -> QuerySet:
    try:
        return queryset.filter(person_rule_q(field=field, operator=operator, values=values))
    except InvalidFilter as exc:
        raise IncorrectLookupParameters(str(exc)) from exc


class AlwaysAppliedFilter(admin.SimpleListFilter):
    """Applied from the URL even when it offers no choices (no describe yet, no accounts)."""

    def has_output(self) -> bool:
        return True


class CompanyValueFilter(AlwaysAppliedFilter):
    """`?industry=Banking`: a contact's account or a lead's own value (choices from accounts)."""

    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in person_company_values(field=self.field)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():  # an empty box in a shared URL filters nothing
            return queryset
        return apply_rule(queryset, self.field, Operator.IS, [self.value()])


def company_value_filter(field: str) -> type[CompanyValueFilter]:
    spec = PERSON_FILTER_FIELDS[field]
    return type(
        f"{field.title()}Filter",
        (CompanyValueFilter,),
        {"field": field, "parameter_name": field, "title": f"company {spec.label.lower()}"},
    )


class CompanyRangeFilter(admin.ListFilter):
    """`?employees_min=1000&employees_max=5000` (either end optional), offered as bands."""

    field = ""
    bands: tuple[tuple[str, str, str], ...] = ()  # (label, min, max)

    def __init__(self, request: HttpRequest, params: dict, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.minimum_name, self.maximum_name = f"{self.field}_min", f"{self.field}_max"
        self.used: dict[str, str] = {}
        for name in (self.minimum_name, self.maximum_name):
            if name in params:
                value = params.pop(name)
                self.used[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.minimum_name, self.maximum_name]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        for name, operator in ((self.minimum_name, Operator.AT_LEAST),
                               (self.maximum_name, Operator.AT_MOST)):
            if self.used.get(name):
                queryset = apply_rule(queryset, self.field, operator, [self.used[name]])
        return queryset

    def choices(self, changelist: Any) -> Iterator[Mapping[str, object]]:
        choices = [{
            "selected": not self.used,
            "query_string": changelist.get_query_string(remove=self.expected_parameters()),
            "display": "All",
        }]
        for label, minimum, maximum in self.bands:
            wanted = {name: value for name, value in (
                (self.minimum_name, minimum), (self.maximum_name, maximum)) if value}
            choices.append({
                "selected": self.used == wanted,
                "query_string": changelist.get_query_string(
                    wanted, [name for name in self.expected_parameters() if name not in wanted]
                ),
                "display": label,
            })
        yield from choices


class EmployeesFilter(CompanyRangeFilter):
    title = "company number of employees"
    field = "employees"
    bands = (("Under 50", "", "49"), ("50 to 999", "50", "999"),
             ("1,000 to 9,999", "1000", "9999"), ("10,000 or more", "10000", ""))


class RevenueFilter(CompanyRangeFilter):
    title = "company annual revenue"
    field = "revenue"
    bands = (("Under 10M", "", "9999999.99"), ("10M to 100M", "10000000", "99999999.99"),
             ("100M to 1B", "100000000", "999999999.99"), ("1B or more", "1000000000", ""))


class HasEmailFilter(admin.SimpleListFilter):
    title = "email"
    parameter_name = "has_email"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has an email"), ("no", "No email")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(email="")
        if self.value() == "no":
            return queryset.filter(email="")
        return queryset


class AccountLocallyEditedFilter(admin.SimpleListFilter):
    title = "account local edits"
    parameter_name = "account__locally_edited"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Account edited locally"), ("no", "Account as in Salesforce")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(account__locally_edited_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(account__isnull=False, account__locally_edited_at__isnull=True)
        return queryset


class LeadStatusFilter(AlwaysAppliedFilter):
    """Lead statuses as Salesforce's describe lists them (no DISTINCT over every person)."""

    title = "lead status"
    parameter_name = "lead_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        statuses = picklist_values(object_name="Lead").get("Status", [])
        return [(status, status) for status in statuses]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        return apply_rule(queryset, "lead_status", Operator.IS, [self.value()])


class SmartListFilter(AlwaysAppliedFilter):
    """`?smart_list=<pk>`: the saved list's people; further filters narrow it."""

    title = "smart list"
    parameter_name = "smart_list"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in smart_list_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        pk = self.value()
        if pk is None:
            return queryset
        try:
            return queryset.filter(smart_list_q(smart_list=smart_list_get(pk=pk)))
        except InvalidFilter as exc:
            raise IncorrectLookupParameters(str(exc)) from exc


class AccountValueFilter(AlwaysAppliedFilter):
    """An account text field by the values in use, read from the field's index (never a
    DISTINCT over every account on each page of the list); `path` leads to it from the list's
    model, and is the URL parameter."""

    field = ""
    path = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in account_field_values(field=self.field)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.path: self.value()}) if self.value() else queryset


def account_value_filter(path: str, title: str) -> type[AccountValueFilter]:
    field = path.removeprefix("account__")
    return type(
        f"Account{field.title()}Filter",
        (AccountValueFilter,),
        {"field": field, "path": path, "parameter_name": path, "title": title},
    )


def titled(filter_class: type[admin.FieldListFilter], title: str) -> type:
    """A field filter under a title that says whose field it is (the person's or the account's)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        filter_class.__init__(self, *args, **kwargs)
        self.title = title

    return type(filter_class.__name__, (filter_class,), {"__init__": __init__})


def local_midnight(value: Any) -> Any:
    """A bookmarked day (`2026-04-01`) as midnight in the marketer's time zone, as the date
    filter's own links are; anything else is left for the field to validate."""
    day = parse_date(value) if isinstance(value, str) and len(value) == 10 else None
    return timezone.make_aware(datetime.combine(day, time.min)) if day else value


class SalesforceDateFilter(admin.DateFieldListFilter):
    """A date filter over one of Salesforce's stamps of the person. With `lead_column`, a
    contact is filtered by the field's column and a lead by its own (a converted person keeps
    both stamps)."""

    label = ""
    lead_column: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = self.label

    def lookups(self, column: str) -> Q:
        return build_q_object_from_lookup_parameters({
            column + key.removeprefix(self.field_path):
                [local_midnight(value) for value in cast("list", values)]
            for key, values in self.used_parameters.items()
        })

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.used_parameters:
            return queryset
        try:
            condition = self.lookups(self.field_path)
            if self.lead_column:
                condition = (Q(sfdc_type=Contact.SfdcType.CONTACT) & condition) | (
                    Q(sfdc_type=Contact.SfdcType.LEAD) & self.lookups(self.lead_column)
                )
            return queryset.filter(condition)
        except (ValueError, ValidationError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class CreatedInSalesforceFilter(SalesforceDateFilter):
    label = "created in Salesforce"


class ModifiedInSalesforceFilter(SalesforceDateFilter):
    label = "modified in Salesforce"
    lead_column = "sfdc_lead_last_modified"


PEOPLE_LIST_FILTERS = (
    SmartListFilter,
    ("sfdc_type", titled(admin.ChoicesFieldListFilter, "type (lead or contact)")),
    company_value_filter("industry"),
    company_value_filter("country"),
    company_value_filter("state"),
    company_value_filter("city"),
    EmployeesFilter,
    RevenueFilter,
    account_value_filter("account__type", "account type"),
    ("account__owner", titled(admin.RelatedFieldListFilter, "account owner")),
    AccountLocallyEditedFilter,
    ("account__is_deleted", titled(admin.BooleanFieldListFilter, "account deleted in Salesforce")),
    LeadStatusFilter,
    ("owner", titled(admin.RelatedFieldListFilter, "person owner")),
    ("sfdc_created_at", CreatedInSalesforceFilter),
    ("sfdc_last_modified", ModifiedInSalesforceFilter),
    HasEmailFilter,
    ("is_deleted", titled(admin.BooleanFieldListFilter, "person deleted in Salesforce")),
)
