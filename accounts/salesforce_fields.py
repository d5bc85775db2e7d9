"""What Salesforce fields the local models keep, and how Salesforce's values become column values.

The account's synced field list is also the list a marketer may edit locally, and the cleaning
of a value is the same whether the sync stores it or the admin compares it with what Salesforce
last sent, so both live with the models rather than in the sync engine. A value that cannot be
stored (wrong type, NUL character, lone surrogate, too long) raises `BadRecord`.
"""

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from marketo_sync.salesforce.ids import InvalidSalesforceId, normalize_sfdc_id, sfdc_id_18

# The account's synced fields, by Salesforce API name: a marketer sees and may edit each locally.
ACCOUNT_FIELDS = {
    "Name": "name",
    "Type": "type",
    "Industry": "industry",
    "AnnualRevenue": "annual_revenue",
    "NumberOfEmployees": "number_of_employees",
    "BillingStreet": "billing_street",
    "BillingCity": "billing_city",
    "BillingState": "billing_state",
    "BillingPostalCode": "billing_postal_code",
    "BillingCountry": "billing_country",
    "Website": "website",
    "Phone": "phone",
}

# A person's own fields, the same on a Contact and a Lead.
PERSON_FIELDS = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Title": "title",
}

# Dates Salesforce sets on a Lead and a Contact alike: read-only here, never edited locally.
PERSON_SALESFORCE_DATES = {
    "CreatedDate": "sfdc_created_at",
}

# A lead's company, as Salesforce's Lead holds it (a contact's company is its account).
LEAD_COMPANY_FIELDS = {
    "Company": "company",
    "Industry": "industry",
    "NumberOfEmployees": "number_of_employees",
    "AnnualRevenue": "annual_revenue",
    "City": "city",
    "State": "state",
    "Country": "country",
}


class BadRecord(ValueError):
    """This record cannot be stored as it is; the message says which field and why."""


# Salesforce's datetime form only (`2026-11-24T21:19:53.000+0000`, or `Z`): checked by pattern,
# parsed by fromisoformat, which is an order of magnitude faster than strptime on a hot path.
SALESFORCE_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d{4}|Z)")


def parse_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if not SALESFORCE_DATETIME.fullmatch(text):
            raise ValueError(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadRecord(f"not a Salesforce datetime: {value!r}") from None


def clean_text(max_length: int | None) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise BadRecord(f"expected text, got {type(value).__name__}")
        if "\x00" in value:
            raise BadRecord("contains a NUL character, which PostgreSQL cannot store")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadRecord("contains an unpaired surrogate (invalid Unicode)") from None
        if max_length is not None and len(value) > max_length:
            raise BadRecord(f"is {len(value)} characters long; the limit is {max_length}")
        return value

    return convert


any_text = clean_text(None)


def clean_decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BadRecord(f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadRecord(f"expected a number, got {value!r}") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
        raise BadRecord(f"number out of range: {value!r}")
    return number.quantize(Decimal("0.01"))


def clean_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise BadRecord(f"expected an integer, got {value!r}")
    try:
        number = int(float(value)) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise BadRecord(f"expected an integer, got {value!r}") from None
    if abs(number) > 2**31 - 1:
        raise BadRecord(f"integer out of range: {value!r}")
    return number


def clean_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value in (None, ""):
        return False
    raise BadRecord(f"expected true/false, got {value!r}")


def clean_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise BadRecord(f"not a date: {value!r}") from None


def clean_id(value: Any, normalize: Callable[[str], str] = normalize_sfdc_id) -> str:
    if value in (None, ""):
        return ""
    try:
        return normalize(value)
    except InvalidSalesforceId as exc:
        raise BadRecord(str(exc)) from None


def clean_record_id(value: Any) -> str:
    """`clean_id` of a record's own id, which a read meets once: past the cache of ids met
    again (see `normalize_sfdc_id`)."""
    return clean_id(value, sfdc_id_18)


def converter_for(model_field: models.Field) -> Callable[[Any], Any]:
    if isinstance(model_field, models.DecimalField):
        return clean_decimal
    if isinstance(model_field, models.IntegerField):
        return clean_int
    if isinstance(model_field, models.BooleanField):
        return clean_bool
    if isinstance(model_field, models.DateTimeField):
        return parse_datetime
    if isinstance(model_field, models.DateField):
        return clean_date
    if isinstance(model_field, models.TextField):
        return any_text
    return clean_text(model_field.max_length)
