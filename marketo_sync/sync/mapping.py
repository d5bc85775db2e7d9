"""How a Salesforce record becomes a row: which fields have columns, and how values convert.

Fields without a column go to `custom_fields` as Salesforce sent them, so a custom field added in
Salesforce is kept. A value that cannot be stored (wrong type, NUL character, lone surrogate,
too long) raises `BadRecord`, which quarantines that record only.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from marketo_sync.salesforce.ids import InvalidSalesforceId, normalize_sfdc_id

SYSTEM_FIELDS = frozenset(
    {
        "Id",
        "IsDeleted",
        "SystemModstamp",
        "LastModifiedDate",
        "LastModifiedById",
        "CreatedDate",
        "CreatedById",
        "MasterRecordId",
        "LastActivityDate",
        "LastViewedDate",
        "LastReferencedDate",
    }
)
UNQUERYABLE_TYPES = {"address", "location", "base64"}
# Stored as foreign keys (or derived), not repeated in custom_fields.
RELATION_FIELDS = frozenset({"OwnerId", "AccountId", "ContactId"})


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
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRecord("contains an unpaired surrogate (invalid Unicode)") from None
        if max_length is not None and len(value) > max_length:
            raise BadRecord(f"is {len(value)} characters long; the limit is {max_length}")
        return value

    return convert


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


def clean_id(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        return normalize_sfdc_id(value)
    except InvalidSalesforceId as exc:
        raise BadRecord(str(exc)) from None


def converter_for(model_field: models.Field) -> Callable[[Any], Any]:
    if isinstance(model_field, models.DecimalField):
        return clean_decimal
    if isinstance(model_field, models.IntegerField):
        return clean_int
    if isinstance(model_field, models.BooleanField):
        return clean_bool
    if isinstance(model_field, models.DateField):
        return clean_date
    if isinstance(model_field, models.TextField):
        return clean_text(None)
    return clean_text(model_field.max_length)


@dataclass(frozen=True)
class ObjectMapping:
    """One Salesforce object synced into one model."""

    object_name: str
    model: type[models.Model]
    key: str  # model field holding this object's Id
    modstamp_field: str  # model field holding this object's SystemModstamp
    columns: dict[str, str]  # Salesforce field → model field (plain values)
    required: tuple[str, ...] = ()
    owner: bool = True
    account_lookup: bool = False
    tracks_changes: bool = False
    merges: bool = False  # Salesforce merges this object (MasterRecordId on the losers)
    derived: frozenset[str] = frozenset()  # computed by Salesforce from mapped columns

    def convert(self, record: dict, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Plain column values, `custom_fields`, and the ids of related records."""
        values: dict[str, Any] = {}
        for sf_name, column in self.columns.items():
            if sf_name in skip:
                continue
            model_field = self.model._meta.get_field(column)
            try:
                values[column] = converter_for(model_field)(record.get(sf_name))
            except BadRecord as exc:
                raise BadRecord(f"{sf_name} {exc}") from None
        for sf_name in self.required:
            if not values.get(self.columns[sf_name]):
                raise BadRecord(f"required field {sf_name} is missing")
        values["custom_fields"] = {
            name: value
            for name, value in record.items()
            if name not in self.columns
            and name not in SYSTEM_FIELDS
            and name not in RELATION_FIELDS
            and name not in self.derived
            and name != "attributes"
            and not isinstance(value, dict)
        }
        for name, value in values["custom_fields"].items():
            if isinstance(value, str):
                try:
                    clean_text(None)(value)
                except BadRecord as exc:
                    raise BadRecord(f"{name} {exc}") from None
        return values

    def synced_values(self, record: dict) -> dict[str, Any]:
        """What Salesforce sent for every non-system field (Account.sfdc_values)."""
        return {
            name: value
            for name, value in record.items()
            if name not in SYSTEM_FIELDS and name != "attributes" and not isinstance(value, dict)
        }


PERSON_COLUMNS = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Title": "title",
}

MAPPINGS: dict[str, ObjectMapping] = {
    "User": ObjectMapping(
        "User",
        SalesforceUser,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns={"Name": "name", "Email": "email", "IsActive": "is_active"},
        owner=False,
    ),
    "Account": ObjectMapping(
        "Account",
        Account,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns={
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
        },
        required=("Name",),
        tracks_changes=True,
        merges=True,
    ),
    "Lead": ObjectMapping(
        "Lead",
        Contact,
        key="sfdc_lead_id",
        modstamp_field="sfdc_lead_last_modified",
        columns={**PERSON_COLUMNS, "Company": "company", "Status": "lead_status"},
        required=("LastName",),
        merges=True,
        derived=frozenset({"Name"}),
    ),
    "Contact": ObjectMapping(
        "Contact",
        Contact,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns=dict(PERSON_COLUMNS),
        required=("LastName",),
        account_lookup=True,
        merges=True,
        derived=frozenset({"Name"}),
    ),
    "Opportunity": ObjectMapping(
        "Opportunity",
        Opportunity,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns={
            "Name": "name",
            "StageName": "stage",
            "CloseDate": "close_date",
            "Amount": "amount",
            "Probability": "probability",
            "IsClosed": "is_closed",
            "IsWon": "is_won",
        },
        required=("Name",),
        account_lookup=True,
    ),
}

# Dependency order: owners first, then accounts, leads before contacts (a converted lead's
# person row gains its contact id before the contact arrives), opportunities last.
OBJECT_ORDER = ("User", "Account", "Lead", "Contact", "Opportunity")

# The account fields a marketer sees and may edit locally, by Salesforce API name.
ACCOUNT_FIELDS = MAPPINGS["Account"].columns
# Objects whose formula fields are re-read on their own schedule (their changes do not move
# SystemModstamp); an account's formula change logs Change Data Value like any account change.
FORMULA_OBJECTS = OBJECT_ORDER
