"""Local mirror of Salesforce accounts, people (leads and contacts), opportunities and users.

Account data flows one way, Salesforce → local. A marketer may edit an account locally; that edit
is never sent back, and the next Salesforce update of the account overwrites it (see
`accounts.services` and `marketo_sync.sync`).
"""

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower, Upper

from accounts.person_fields import PERSON_FILTER_FIELDS, Operator
from marketo_sync.models import (
    SalesforceIdField,
    SalesforceRecord,
    deleted_rows_index,
    edited_rows_index,
    sfdc_id_shape_constraint,
)


class SalesforceUser(SalesforceRecord):
    """A Salesforce user (005): record owner and "assign to" choice in Convert Person."""

    sfdc_id = SalesforceIdField(unique=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Salesforce user"
        constraints = [sfdc_id_shape_constraint("salesforceuser")]
        indexes = [deleted_rows_index("salesforceuser")]

    def __str__(self) -> str:
        return self.name or self.sfdc_id


class Account(SalesforceRecord):
    """A Salesforce account (001), shared by all of its contacts."""

    sfdc_id = SalesforceIdField(unique=True)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=255, blank=True)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    number_of_employees = models.IntegerField(null=True, blank=True)
    billing_street = models.TextField(blank=True)
    billing_city = models.CharField(max_length=255, blank=True)
    billing_state = models.CharField(max_length=255, blank=True)
    billing_postal_code = models.CharField(max_length=40, blank=True)
    billing_country = models.CharField(max_length=255, blank=True)
    website = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    owner = models.ForeignKey(
        SalesforceUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    master_record_sfdc_id = models.CharField(
        "merged into (Salesforce ID)", max_length=18, blank=True
    )
    locally_edited_at = models.DateTimeField(null=True, blank=True, db_index=True)
    locally_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # see `edited_rows_index`
    )
    sfdc_values = models.JSONField(
        "last values from Salesforce",
        default=dict,
        blank=True,
        help_text="What Salesforce last sent, by field API name; the divergence view compares "
        "local values against this.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [sfdc_id_shape_constraint("account")]
        indexes = [
            models.Index(Lower("name"), name="account_name_lower_idx"),
            models.Index(OpClass(Upper("name"), name="text_pattern_ops"),
                         name="account_name_prefix_idx"),
            # The filters' choices, read one index probe per value (`distinct_values`).
            models.Index(fields=["industry"], name="account_industry_idx"),
            models.Index(fields=["type"], name="account_type_idx"),
            models.Index(fields=["billing_country"], name="account_country_idx"),
            models.Index(fields=["billing_state"], name="account_state_idx"),
            models.Index(fields=["billing_city"], name="account_city_idx"),
            deleted_rows_index("account"),
            edited_rows_index("account"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(SalesforceRecord):
    """A person, as in Marketo: a Salesforce lead (00Q), a contact (003), or both.

    A lead converted in Salesforce (or by Convert Person) stays the same row: it gains `sfdc_id`,
    keeps `sfdc_lead_id`, and `sfdc_type` becomes `contact`.
    """

    class SfdcType(models.TextChoices):
        LEAD = "lead", "Lead"
        CONTACT = "contact", "Contact"

    # Unique through Meta.constraints, not unique=True: the field option also adds a
    # varchar_pattern_ops index for LIKE queries, which nothing runs on this busiest table.
    sfdc_id = SalesforceIdField("Salesforce contact ID", null=True, blank=True)
    sfdc_lead_id = SalesforceIdField("Salesforce lead ID", null=True, blank=True)
    sfdc_type = models.CharField(max_length=10, choices=SfdcType.choices, default=SfdcType.LEAD)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255)
    email = models.EmailField(max_length=255, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=255, blank=True)
    # A lead's company (Salesforce's Lead fields); a contact's company is its account.
    company = models.CharField(max_length=255, blank=True, help_text="Leads only.")
    # Empty by default in the database too, so bulk SQL inserts need not name them.
    industry = models.CharField(
        max_length=255, blank=True, default="", db_default="", help_text="Leads only."
    )
    number_of_employees = models.IntegerField(null=True, blank=True, help_text="Leads only.")
    annual_revenue = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True, help_text="Leads only."
    )
    city = models.CharField(
        max_length=255, blank=True, default="", db_default="", help_text="Leads only."
    )
    state = models.CharField(
        "state/province", max_length=255, blank=True, default="", db_default="",
        help_text="Leads only.",
    )
    country = models.CharField(
        max_length=255, blank=True, default="", db_default="", help_text="Leads only."
    )
    lead_status = models.CharField(max_length=255, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    account_sfdc_id = models.CharField(
        "account (Salesforce ID)",
        max_length=18,
        blank=True,
        help_text="The AccountId Salesforce sent; links the contact when the account arrives.",
    )
    owner = models.ForeignKey(
        SalesforceUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    sfdc_lead_last_modified = models.DateTimeField(
        "Salesforce lead SystemModstamp", null=True, blank=True
    )
    # CreatedDate of the record whose side rules: the contact's once the person is a contact.
    sfdc_created_at = models.DateTimeField(
        "created in Salesforce", null=True, blank=True,
        help_text="Empty until the sync has read the person since this column was added.",
    )
    master_record_sfdc_id = models.CharField(
        "merged into (Salesforce ID)", max_length=18, blank=True
    )
    locally_edited_at = models.DateTimeField(null=True, blank=True)
    locally_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # see `edited_rows_index`
    )

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = "person"
        verbose_name_plural = "people"
        permissions = [
            ("convert_person", "Can run Convert Person (creates records in Salesforce)"),
            ("export_people", "Can export people and accounts as CSV"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["sfdc_id"], name="contact_sfdc_id_unique"),
            models.UniqueConstraint(fields=["sfdc_lead_id"], name="contact_sfdc_lead_id_unique"),
            sfdc_id_shape_constraint("contact"),
            sfdc_id_shape_constraint("contact", "sfdc_lead_id"),
            models.CheckConstraint(
                condition=models.Q(sfdc_type="lead") | models.Q(sfdc_id__isnull=False),
                name="contact_type_contact_has_sfdc_id",
            ),
        ]
        # Every index slows every write of a sync page; these are the ones queries use.
        indexes = [
            models.Index(fields=["email"], name="contact_email_idx"),
            # The People list's prefix search (`UPPER(col) LIKE 'ANA%'`, whatever the collation).
            *(
                models.Index(OpClass(Upper(column), name="text_pattern_ops"),
                             name=f"contact_{column}_prefix_idx")
                for column in ("first_name", "last_name", "email", "company")
            ),
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            # The "created in Salesforce" filter and smart-list rule.
            models.Index(fields=["sfdc_created_at"], name="contact_sfdc_created_idx"),
            # A lead's own company fields, for the company-level filters and smart lists (only
            # the leads' rows: contacts are found through their account).
            *(
                models.Index(fields=[column], name=f"lead_{short}_idx",
                             condition=models.Q(sfdc_type="lead"))
                for column, short in (
                    ("industry", "industry"), ("country", "country"), ("state", "state"),
                    ("city", "city"), ("number_of_employees", "employees"),
                    ("annual_revenue", "revenue"),
                )
            ),
            # Only contacts waiting for their account (linked when it arrives): a tiny index.
            models.Index(
                fields=["account_sfdc_id"],
                name="contact_waiting_account_idx",
                condition=models.Q(account__isnull=True) & ~models.Q(account_sfdc_id=""),
            ),
            deleted_rows_index("contact"),
            edited_rows_index("contact"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Opportunity(SalesforceRecord):
    """A Salesforce opportunity (006)."""

    sfdc_id = SalesforceIdField(unique=True)
    name = models.CharField(max_length=255)
    stage = models.CharField(max_length=255, blank=True)
    close_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    probability = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    is_closed = models.BooleanField(default=False)
    is_won = models.BooleanField(default=False)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    account_sfdc_id = models.CharField(
        "account (Salesforce ID)", max_length=18, blank=True, db_index=True
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    owner = models.ForeignKey(
        SalesforceUser,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )

    class Meta:
        ordering = ["-close_date", "name"]
        verbose_name_plural = "opportunities"
        constraints = [sfdc_id_shape_constraint("opportunity")]
        indexes = [deleted_rows_index("opportunity")]

    def __str__(self) -> str:
        return self.name


class PersonConversion(models.Model):
    """One Convert Person request and how far it got, so a retry completes instead of redoing.

    The record is written before every remote step (see `accounts.services`), which is what makes
    a double submit, a retried job or a killed worker unable to create a second account.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        LEAD_CREATED = "lead_created", "Lead created in Salesforce"
        CONVERTED = "converted", "Converted in Salesforce"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    person = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="conversions")
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    options = models.JSONField(default=dict, blank=True)
    lead_sfdc_id = models.CharField(max_length=18, blank=True)
    account_sfdc_id = models.CharField(max_length=18, blank=True)
    contact_sfdc_id = models.CharField(max_length=18, blank=True)
    opportunity_sfdc_id = models.CharField(max_length=18, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=~models.Q(status="failed"),
                name="one_open_conversion_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"Convert {self.person} ({self.get_status_display()})"


class SmartList(models.Model):
    """A saved selection of people, as Marketo's smart lists: rules over person and company
    fields, combined with ALL or ANY. Shared by every marketer; the owner is who created it."""

    class Match(models.TextChoices):
        ALL = "all", "All rules (and)"
        ANY = "any", "Any rule (or)"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="smart_lists",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SmartListRule(models.Model):
    """One rule: field, operator, value (and a second value for "between")."""

    smart_list = models.ForeignKey(SmartList, on_delete=models.CASCADE, related_name="rules")
    field = models.CharField(
        max_length=40, choices=[(f.name, f.label) for f in PERSON_FILTER_FIELDS.values()]
    )
    operator = models.CharField(max_length=20, choices=Operator.choices)
    value = models.CharField(max_length=255, blank=True)
    value_to = models.CharField("and (for between)", max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        parts = [self.get_field_display(), self.get_operator_display()]
        if self.operator != Operator.IS_EMPTY:
            parts.append(repr(self.value))
        if self.operator == Operator.BETWEEN:
            parts.append(f"and {self.value_to!r}")
        return " ".join(parts)
