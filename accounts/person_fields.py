"""The fields a marketer filters people by, and the operators each kind of field takes.

Shared by the People list's filters, the smart lists' rules (their model's choices) and the
rules' validation; the queries themselves are built in `accounts.selectors`.
"""

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class PersonField:
    """A field a marketer filters people by.

    `contact_path` is the ORM path for a contact, `lead_path` for a lead: the company fields
    read a contact's account and a lead's own columns; a person's own fields have one path;
    an account-only field (`lead_path` None) never matches a lead.
    """

    name: str
    label: str
    kind: str  # text | number | date
    contact_path: str
    lead_path: str | None

    @property
    def company_level(self) -> bool:
        return self.contact_path != self.lead_path


def _own(name: str, label: str, kind: str = "text", path: str | None = None) -> PersonField:
    return PersonField(name, label, kind, path or name, path or name)


PERSON_FILTER_FIELDS: dict[str, PersonField] = {
    field.name: field
    for field in (
        PersonField("company", "Company", "text", "account__name", "company"),
        PersonField("industry", "Industry", "text", "account__industry", "industry"),
        PersonField("country", "Country", "text", "account__billing_country", "country"),
        PersonField("state", "State/province", "text", "account__billing_state", "state"),
        PersonField("city", "City", "text", "account__billing_city", "city"),
        PersonField(
            "employees", "Number of employees", "number", "account__number_of_employees",
            "number_of_employees",
        ),
        PersonField("revenue", "Annual revenue", "number", "account__annual_revenue",
                    "annual_revenue"),
        PersonField("account_type", "Account type", "text", "account__type", None),
        PersonField("account_owner", "Account owner", "text", "account__owner__name", None),
        _own("first_name", "First name"),
        _own("last_name", "Last name"),
        _own("email", "Email"),
        _own("title", "Title"),
        _own("type", "Type (lead or contact)", path="sfdc_type"),
        _own("lead_status", "Lead status"),
        _own("owner", "Person owner", path="owner__name"),
        _own("created", "Created in Salesforce", "date", "sfdc_created_at"),
        # A contact's stamp and a lead's are separate columns (a converted person keeps both).
        PersonField("modified", "Modified in Salesforce", "date", "sfdc_last_modified",
                    "sfdc_lead_last_modified"),
    )
}


class Operator(models.TextChoices):
    IS = "is", "is"
    IS_NOT = "is_not", "is not"
    CONTAINS = "contains", "contains"
    STARTS_WITH = "starts_with", "starts with"
    GREATER = "gt", "greater than"
    LESS = "lt", "less than"
    AT_LEAST = "gte", "at least"
    AT_MOST = "lte", "at most"
    BETWEEN = "between", "between"
    IS_EMPTY = "is_empty", "is empty"


OPERATORS_BY_KIND = {
    "text": (Operator.IS, Operator.IS_NOT, Operator.CONTAINS, Operator.STARTS_WITH,
             Operator.IS_EMPTY),
    "number": (Operator.IS, Operator.IS_NOT, Operator.GREATER, Operator.LESS, Operator.AT_LEAST,
               Operator.AT_MOST, Operator.BETWEEN, Operator.IS_EMPTY),
    "date": (Operator.IS, Operator.GREATER, Operator.LESS, Operator.AT_LEAST, Operator.AT_MOST,
             Operator.BETWEEN, Operator.IS_EMPTY),
}
