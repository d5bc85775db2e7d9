"""The sandbox org's schema: one definition drives describe, SOQL validation and writes.

Field types, key prefixes and the describe shape follow Salesforce's. Storage types:
datetimes are integer epoch milliseconds, booleans 0/1, dates ISO text, everything else as is.
"""

from dataclasses import dataclass, field

STRING_TYPES = {
    "id",
    "string",
    "textarea",
    "picklist",
    "reference",
    "email",
    "phone",
    "url",
}
NUMBER_TYPES = {"int", "double", "currency", "percent"}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "address": "urn:address",
}
ADDRESS_PARTS = (
    ("Street", "textarea", "Street", 255),
    ("City", "string", "City", 40),
    ("State", "string", "State/Province", 80),
    ("PostalCode", "string", "Zip/Postal Code", 20),
    ("Country", "string", "Country", 80),
)
SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    label: str = ""
    length: int = 255
    required: bool = False
    writable: bool = True
    calculated: bool = False
    reference_to: str | None = None
    relationship: str | None = None
    picklist: tuple[str, ...] = ()
    default: object = None
    components: tuple[str, ...] = ()

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    @property
    def sql_type(self) -> str:
        if self.type in {"boolean", "int", "datetime"}:
            return "INTEGER"
        if self.type in NUMBER_TYPES:
            return "REAL"
        return "TEXT"

    def describe(self, version: str, compound: str | None = None) -> dict:
        """The per-field describe entry, with the keys real responses always carry."""
        is_text = self.type in STRING_TYPES or self.type in {"textarea"}
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "length": (18 if self.type in {"id", "reference"} else self.length) if is_text else 0,
            "byteLength": (self.length * 3) if is_text else 0,
            "precision": 18 if self.type == "currency" else 0,
            "scale": 2 if self.type == "currency" else 0,
            "digits": 9 if self.type == "int" else 0,
            "custom": self.custom,
            "nillable": not self.required and self.type != "boolean" and self.name != "Id",
            "createable": self.writable and not self.calculated,
            "updateable": self.writable and not self.calculated,
            "calculated": self.calculated,
            "calculatedFormula": "CASE(...)" if self.calculated else None,
            "compoundFieldName": compound,
            "defaultedOnCreate": self.name in {"OwnerId", "Status", "IsConverted", "IsActive"},
            "defaultValue": None,
            "externalId": False,
            "unique": False,
            "idLookup": self.type == "id",
            "filterable": self.type != "address",
            "sortable": self.type not in {"textarea", "address"},
            "groupable": self.type not in NUMBER_TYPES | {"datetime", "textarea", "address"},
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship,
            "restrictedPicklist": False,
            "dependentPicklist": False,
            "controllerName": None,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
        }


@dataclass(frozen=True)
class SObject:
    name: str
    key_prefix: str
    label_plural: str
    fields: tuple[Field, ...]
    owned: bool = True
    compounds: tuple[Field, ...] = ()
    by_lower: dict[str, Field] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> Field | None:
        """A stored field; compound fields are read through `compound`."""
        return self.by_lower.get(name.lower())

    def compound(self, name: str) -> Field | None:
        lowered = name.lower()
        return next((c for c in self.compounds if c.name.lower() == lowered), None)

    def described_fields(self, version: str) -> list[dict]:
        """Every field as describe lists it: components name their compound, and each compound
        follows its last component, as in Salesforce's describe."""
        owner = {part: c.name for c in self.compounds for part in c.components}
        entries = []
        for spec in self.fields:
            entries.append(spec.describe(version, owner.get(spec.name)))
            entries.extend(
                c.describe(version)
                for c in self.compounds
                if c.components and c.components[-1] == spec.name
            )
        return entries

    def relationship(self, name: str) -> Field | None:
        lowered = name.lower()
        for candidate in self.fields:
            if candidate.relationship and candidate.relationship.lower() == lowered:
                return candidate
        return None

    def describe(self, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            **self.summary(version),
            "fields": self.described_fields(version),
            "childRelationships": [],
            "recordTypeInfos": [],
            "urls": {**self.summary(version)["urls"], "describe": f"{base}/describe"},
        }

    def summary(self, version: str) -> dict:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.name,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": False,
            "createable": self.name != "LeadStatus",
            "updateable": self.name != "LeadStatus",
            "deletable": self.name not in {"LeadStatus", "User"},
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "undeletable": self.name not in {"LeadStatus", "User"},
            "mergeable": self.name in {"Account", "Contact", "Lead"},
            "urls": {"sobject": base, "rowTemplate": f"{base}/{{ID}}"},
        }


def _system_fields(owned: bool) -> list[Field]:
    fields = [
        Field("Id", "id", "Record ID", writable=False),
        Field("IsDeleted", "boolean", "Deleted", writable=False),
        Field("CreatedDate", "datetime", "Created Date", writable=False),
        Field("CreatedById", "reference", "Created By ID", writable=False, reference_to="User",
              relationship="CreatedBy"),
        Field("LastModifiedDate", "datetime", "Last Modified Date", writable=False),
        Field("LastModifiedById", "reference", "Last Modified By ID", writable=False,
              reference_to="User", relationship="LastModifiedBy"),
        Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
    ]
    if owned:
        fields.append(
            Field("OwnerId", "reference", "Owner ID", reference_to="User", relationship="Owner")
        )
    return fields


INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Finance", "Government", "Healthcare", "Hospitality", "Insurance",
    "Manufacturing", "Media", "Retail", "Technology", "Telecommunications", "Transportation",
    "Utilities",
)
ACCOUNT_TYPES = ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other")
LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Other")
LEAD_STATUSES = (
    ("Open - Not Contacted", False, True),
    ("Working - Contacted", False, False),
    ("Closed - Converted", True, False),
    ("Closed - Not Converted", False, False),
)
STAGES = (
    ("Prospecting", 10), ("Qualification", 10), ("Needs Analysis", 20),
    ("Value Proposition", 50), ("Id. Decision Makers", 60), ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75), ("Negotiation/Review", 90), ("Closed Won", 100),
    ("Closed Lost", 0),
)
REGIONS = ("AMER", "EMEA", "APAC", "LATAM")


def revenue_band(annual_revenue: float | None) -> str | None:
    """The formula behind Account.AnnualRevenueBand__c."""
    if annual_revenue is None:
        return None
    if annual_revenue >= 1_000_000_000:
        return "Enterprise"
    if annual_revenue >= 50_000_000:
        return "Mid-Market"
    return "SMB"


def _address_fields(prefix: str) -> list[Field]:
    return [
        Field(f"{prefix}{part}", kind, f"{prefix} {label}".strip(), length)
        for part, kind, label, length in ADDRESS_PARTS
    ]


def _address(prefix: str) -> Field:
    """A compound address (`BillingAddress`, Lead's `Address`): read-only, queried whole through
    REST, refused by Bulk queries; its parts are ordinary fields."""
    return Field(
        f"{prefix}Address", "address", f"{prefix} Address".strip(), writable=False,
        components=tuple(f"{prefix}{part}" for part, *_ in ADDRESS_PARTS),
    )


def _name_fields() -> list[Field]:
    return [
        Field("FirstName", label="First Name", length=40),
        Field("LastName", label="Last Name", length=80, required=True),
        Field("Name", label="Full Name", length=121, writable=False),
    ]


OBJECTS: dict[str, SObject] = {
    o.name: o
    for o in (
        SObject("User", "005", "Users", (
            *_system_fields(owned=False),
            *_name_fields(),
            Field("Email", "email", length=128, required=True),
            Field("Username", length=80, required=True),
            Field("IsActive", "boolean", "Active"),
        ), owned=False),
        SObject("Account", "001", "Accounts", (
            *_system_fields(owned=True),
            Field("Name", label="Account Name", required=True),
            Field("Type", "picklist", "Account Type", 255, picklist=ACCOUNT_TYPES),
            Field("Industry", "picklist", picklist=INDUSTRIES),
            Field("AnnualRevenue", "currency", "Annual Revenue"),
            Field("NumberOfEmployees", "int", "Employees"),
            Field("BillingStreet", "textarea", "Billing Street"),
            Field("BillingCity", label="Billing City", length=40),
            Field("BillingState", label="Billing State/Province", length=80),
            Field("BillingPostalCode", label="Billing Zip/Postal Code", length=20),
            Field("BillingCountry", label="Billing Country", length=80),
            *_address_fields("Shipping"),
            Field("Website", "url", length=255),
            Field("Phone", "phone", length=40),
            Field("Description", "textarea", length=32000),
            Field("ParentId", "reference", "Parent Account ID", reference_to="Account",
                  relationship="Parent"),
            Field("MasterRecordId", "reference", "Master Record ID", writable=False,
                  reference_to="Account", relationship="MasterRecord"),
            Field("Region__c", "picklist", "Region", picklist=REGIONS),
            Field("Tier__c", "double", "Tier"),
            Field("AnnualRevenueBand__c", "string", "Annual Revenue Band", calculated=True,
                  writable=False),
        ), compounds=(_address("Billing"), _address("Shipping"))),
        SObject("Contact", "003", "Contacts", (
            *_system_fields(owned=True),
            Field("AccountId", "reference", "Account ID", reference_to="Account",
                  relationship="Account"),
            *_name_fields(),
            Field("Email", "email", length=80),
            Field("Phone", "phone", length=40),
            Field("Title", length=128),
            Field("Department", length=80),
            *_address_fields("Mailing"),
            *_address_fields("Other"),
            Field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
            Field("MasterRecordId", "reference", "Master Record ID", writable=False,
                  reference_to="Contact", relationship="MasterRecord"),
        ), compounds=(_address("Mailing"), _address("Other"))),
        SObject("Lead", "00Q", "Leads", (
            *_system_fields(owned=True),
            *_name_fields(),
            Field("Company", required=True),
            Field("Email", "email", length=80),
            Field("Phone", "phone", length=40),
            Field("Title", length=128),
            Field("Street", "textarea", length=255),
            Field("PostalCode", label="Zip/Postal Code", length=20),
            Field("Industry", "picklist", picklist=INDUSTRIES),
            Field("NumberOfEmployees", "int", "Employees"),
            Field("AnnualRevenue", "currency", "Annual Revenue"),
            Field("City", length=40),
            Field("State", label="State/Province", length=80),
            Field("Country", length=80),
            Field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
            Field("Status", "picklist", "Lead Status",
                  picklist=tuple(s[0] for s in LEAD_STATUSES)),
            Field("IsConverted", "boolean", "Converted", writable=False),
            Field("ConvertedDate", "date", "Converted Date", writable=False),
            Field("ConvertedAccountId", "reference", "Converted Account ID", writable=False,
                  reference_to="Account", relationship="ConvertedAccount"),
            Field("ConvertedContactId", "reference", "Converted Contact ID", writable=False,
                  reference_to="Contact", relationship="ConvertedContact"),
            Field("ConvertedOpportunityId", "reference", "Converted Opportunity ID",
                  writable=False, reference_to="Opportunity",
                  relationship="ConvertedOpportunity"),
            Field("MasterRecordId", "reference", "Master Record ID", writable=False,
                  reference_to="Lead", relationship="MasterRecord"),
        ), compounds=(_address(""),)),
        SObject("Opportunity", "006", "Opportunities", (
            *_system_fields(owned=True),
            Field("AccountId", "reference", "Account ID", reference_to="Account",
                  relationship="Account"),
            Field("ContactId", "reference", "Contact ID", reference_to="Contact",
                  relationship="Contact"),
            Field("Name", label="Opportunity Name", length=120, required=True),
            Field("StageName", "picklist", "Stage", required=True,
                  picklist=tuple(s[0] for s in STAGES)),
            Field("CloseDate", "date", "Close Date", required=True),
            Field("Amount", "currency"),
            Field("Probability", "percent", "Probability (%)"),
            Field("IsClosed", "boolean", "Closed", writable=False),
            Field("IsWon", "boolean", "Won", writable=False),
            Field("LeadSource", "picklist", "Lead Source", picklist=LEAD_SOURCES),
        )),
        SObject("LeadStatus", "01J", "Lead Status Values", (
            Field("Id", "id", "Lead Status ID", writable=False),
            Field("IsDeleted", "boolean", "Deleted", writable=False),
            Field("SystemModstamp", "datetime", "System Modstamp", writable=False),
            Field("ApiName", label="Api Name"),
            Field("MasterLabel", label="Master Label"),
            Field("IsConverted", "boolean", "Is Converted"),
            Field("IsDefault", "boolean", "Is Default"),
            Field("SortOrder", "int", "Sort Order"),
        ), owned=False),
    )
}


def sobject(name: str) -> SObject | None:
    """Object names are case-insensitive in SOQL and URLs."""
    lowered = name.lower()
    return next((o for o in OBJECTS.values() if o.name.lower() == lowered), None)


def object_for_prefix(prefix: str) -> SObject | None:
    return next((o for o in OBJECTS.values() if o.key_prefix == prefix), None)
