"""How a Salesforce record becomes a row: which fields have columns, and how values convert.

Fields without a column go to `custom_fields` as Salesforce sent them, so a custom field added in
Salesforce is kept. The field lists and the value cleaning belong to the models' app
(`accounts.salesforce_fields`); a value that cannot be stored raises `BadRecord`, which
quarantines that record only.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from accounts.models import Account, Contact, Opportunity, SalesforceUser
from accounts.salesforce_fields import (
    ACCOUNT_FIELDS,
    LEAD_COMPANY_FIELDS,
    PERSON_FIELDS,
    PERSON_SALESFORCE_DATES,
    BadRecord,
    any_text,
    converter_for,
)
from marketo_sync.fields import concrete_field
from marketo_sync.models import SalesforceRecord

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


@dataclass(frozen=True)
class ObjectMapping:
    """One Salesforce object synced into one model."""

    object_name: str
    kind: str  # which writer applies its pages: user, account, contact, lead, opportunity
    model: type[SalesforceRecord]
    key: str  # model field holding this object's Id
    modstamp_field: str  # model field holding this object's SystemModstamp
    columns: dict[str, str]  # Salesforce field → model field (plain values)
    required: tuple[str, ...] = ()
    owner: bool = True
    tracks_changes: bool = False
    merges: bool = False  # Salesforce merges this object (MasterRecordId on the losers)
    derived: frozenset[str] = frozenset()  # computed by Salesforce from mapped columns

    @cached_property
    def converters(self) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
        """(Salesforce field, column, its converter) of every mapped field, chosen once."""
        return tuple(
            (sf_name, column, converter_for(concrete_field(self.model, column)))
            for sf_name, column in self.columns.items()
        )

    @cached_property
    def column_values(self) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
        """The converted values of the mapped columns, in mapping order, in one C call."""
        assert len(self.columns) > 1, "itemgetter returns a tuple only for two or more keys"
        return operator.itemgetter(*self.columns.values())

    @cached_property
    def not_custom(self) -> frozenset[str]:
        """Fields that never go to `custom_fields`: mapped, system, relations, derived."""
        return frozenset(
            {*self.columns, *SYSTEM_FIELDS, *RELATION_FIELDS, *self.derived, "attributes"}
        )

    def convert(self, record: dict) -> dict[str, Any]:
        """Plain column values, `custom_fields`, and the ids of related records."""
        values: dict[str, Any] = {}
        for sf_name, column, converter in self.converters:
            try:
                values[column] = converter(record.get(sf_name))
            except BadRecord as exc:
                raise BadRecord(f"{sf_name} {exc}") from None
        for sf_name in self.required:
            if not values.get(self.columns[sf_name]):
                raise BadRecord(f"required field {sf_name} is missing")
        not_custom = self.not_custom
        custom = values["custom_fields"] = {
            name: value
            for name, value in record.items()
            if name not in not_custom and not isinstance(value, dict)
        }
        for name, value in custom.items():
            if isinstance(value, str):
                try:
                    any_text(value)
                except BadRecord as exc:
                    raise BadRecord(f"{name} {exc}") from None
        return values

    def unfilled_columns(self, filled_fields: list[str]) -> dict[str, str]:
        """Mapped fields (→ columns) that rows stored by the last complete full read lack.

        Empty when no full read has recorded what it filled yet (nothing was stored then, or the
        first full read is still under way and writes every record it reads).
        """
        if not filled_fields:
            return {}
        return {
            sf_name: column for sf_name, column in self.columns.items()
            if sf_name not in filled_fields
        }

    def synced_values(self, record: dict) -> dict[str, Any]:
        """What Salesforce sent for every non-system field (Account.sfdc_values)."""
        return {
            name: value
            for name, value in record.items()
            if name not in SYSTEM_FIELDS and name != "attributes" and not isinstance(value, dict)
        }


MAPPINGS: dict[str, ObjectMapping] = {
    "User": ObjectMapping(
        "User",
        "user",
        SalesforceUser,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns={"Name": "name", "Email": "email", "IsActive": "is_active"},
        owner=False,
    ),
    "Account": ObjectMapping(
        "Account",
        "account",
        Account,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns=dict(ACCOUNT_FIELDS),
        required=("Name",),
        tracks_changes=True,
        merges=True,
    ),
    "Lead": ObjectMapping(
        "Lead",
        "lead",
        Contact,
        key="sfdc_lead_id",
        modstamp_field="sfdc_lead_last_modified",
        columns={
            **PERSON_FIELDS, **PERSON_SALESFORCE_DATES, **LEAD_COMPANY_FIELDS,
            "Status": "lead_status",
        },
        required=("LastName",),
        merges=True,
        derived=frozenset({"Name"}),
    ),
    "Contact": ObjectMapping(
        "Contact",
        "contact",
        Contact,
        key="sfdc_id",
        modstamp_field="sfdc_last_modified",
        columns={**PERSON_FIELDS, **PERSON_SALESFORCE_DATES},
        required=("LastName",),
        merges=True,
        derived=frozenset({"Name"}),
    ),
    "Opportunity": ObjectMapping(
        "Opportunity",
        "opportunity",
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
    ),
}

# Dependency order: owners first, then accounts, leads before contacts (a converted lead's
# person row gains its contact id before the contact arrives), opportunities last.
OBJECT_ORDER = ("User", "Account", "Lead", "Contact", "Opportunity")

# Objects whose formula fields are re-read on their own schedule (their changes do not move
# SystemModstamp); an account's formula change logs Change Data Value like any account change.
FORMULA_OBJECTS = OBJECT_ORDER
