"""Reads for the admin: divergences from what Salesforce last sent, contacts, timelines."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Account, Contact, Opportunity, PersonConversion
from accounts.salesforce_fields import ACCOUNT_FIELDS, BadRecord, converter_for
from activities.models import AccountHistory, Activity
from activities.services import salesforce_value_text
from marketo_sync.fields import concrete_field


@dataclass(frozen=True)
class Divergence:
    api_name: str
    label: str
    local_value: str
    salesforce_value: str


def account_divergences(*, account: Account) -> list[Divergence]:
    """Fields whose local value differs from the stored last Salesforce value (no re-fetch).

    Salesforce's value goes through the same conversion the sync applies, so a number sent as
    `120000000.0` and stored as `120000000.00` is not reported as a difference.
    """
    stored = account.sfdc_values or {}
    found = []
    for api_name, column in ACCOUNT_FIELDS.items():
        model_field = concrete_field(Account, column)
        local = getattr(account, column)
        try:
            remote = converter_for(model_field)(stored.get(api_name))
        except BadRecord:
            remote = stored.get(api_name)
        if local != remote:
            found.append(
                Divergence(
                    api_name=api_name,
                    label=str(model_field.verbose_name).capitalize(),
                    local_value=salesforce_value_text(local),
                    salesforce_value=salesforce_value_text(remote),
                )
            )
    return found


def account_list_locally_edited() -> QuerySet[Account]:
    """Accounts carrying local edits that the next Salesforce update will overwrite."""
    return (
        Account.objects.filter(locally_edited_at__isnull=False)
        .select_related("locally_edited_by", "owner")
        .order_by("-locally_edited_at", "pk")
    )


def account_industry_choices() -> list[str]:
    """Industries in use, read from the accounts table (small) rather than joined contacts."""
    return list(
        Account.objects.exclude(industry="")
        .order_by("industry")
        .values_list("industry", flat=True)
        .distinct()
    )


def contact_count_for_account(*, account_id: int) -> int:
    """Live contacts sharing the account (one indexed count, whatever the size)."""
    return Contact.objects.filter(account_id=account_id, is_deleted=False).count()


def contact_list_for_account(*, account: Account) -> QuerySet[Contact]:
    """The account's live contacts, only the columns a list shows, in a stable order."""
    return (
        account.contacts.filter(is_deleted=False)
        .only("pk", "account_id", "first_name", "last_name", "email", "sfdc_type")
        .order_by("last_name", "first_name", "pk")
    )


def contact_timeline(
    *, contact: Contact, activity_type: str = "", attribute: str = "",
    since: date | None = None, until: date | None = None,
) -> QuerySet[Activity]:
    """The person's activities, newest first (served by the timeline index), optionally of one
    type, one field, and between two days (both included)."""
    activities = contact.activities.select_related("user")
    if activity_type:
        activities = activities.filter(activity_type=activity_type)
    if attribute:
        activities = activities.filter(attribute=attribute)
    if since:
        activities = activities.filter(created_at__gte=day_start(since))
    if until:
        activities = activities.filter(created_at__lt=day_start(until + timedelta(days=1)))
    return activities.order_by("-created_at", "-pk")


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def activity_log_query(
    *, contact: Contact, activity_type: str = "", attribute: str = "",
    since: date | None = None, until: date | None = None,
) -> str:
    """The activity log's query string for the same filter as `contact_timeline`."""
    query: dict[str, object] = {"contact__id__exact": contact.pk}
    if activity_type:
        query["activity_type__exact"] = activity_type
    if attribute:
        query["attribute"] = attribute
    if since:
        query["created_at__gte"] = day_start(since).isoformat()
    if until:
        query["created_at__lt"] = day_start(until + timedelta(days=1)).isoformat()
    return urlencode(query)


def account_history(
    *, account: Account, attribute: str = "", source: str = ""
) -> QuerySet[AccountHistory]:
    """The account's field history, newest first, optionally one field or one source."""
    entries = account.history.select_related("user", "sync_run")
    if attribute:
        entries = entries.filter(attribute=attribute)
    if source:
        entries = entries.filter(source=source)
    return entries.order_by("-created_at", "-pk")


def account_history_attributes(*, account: Account) -> list[str]:
    """The fields this account's history mentions, for its field filter."""
    return list(
        account.history.order_by("attribute").values_list("attribute", flat=True).distinct()
    )


def contact_sfdc_ids_by_object(*, contacts: QuerySet[Contact]) -> dict[str, list[str]]:
    """Salesforce ids to re-sync per object: Contact ids, and Lead ids of people still leads."""
    ids: dict[str, list[str]] = {"Contact": [], "Lead": []}
    for sfdc_id, lead_id in contacts.values_list("sfdc_id", "sfdc_lead_id"):
        if sfdc_id:
            ids["Contact"].append(sfdc_id)
        elif lead_id:
            ids["Lead"].append(lead_id)
    return {object_name: found for object_name, found in ids.items() if found}


@dataclass(frozen=True)
class ConversionRecords:
    """A conversion with the local rows of what it created (None until synced)."""

    conversion: PersonConversion
    account: Account | None
    contact: Contact | None
    opportunity: Opportunity | None


def conversion_list_with_records(*, person: Contact, limit: int = 5) -> list[ConversionRecords]:
    """The person's latest conversions and the local account, contact and opportunity each
    created: one query per kind, however many conversions."""
    conversions = list(person.conversions.all()[:limit])

    def by_sfdc_id(model: type[Account] | type[Contact] | type[Opportunity], field: str) -> dict:
        ids = {getattr(c, field) for c in conversions if getattr(c, field)}
        return {row.sfdc_id: row for row in model.objects.filter(sfdc_id__in=ids)} if ids else {}

    accounts = by_sfdc_id(Account, "account_sfdc_id")
    contacts = by_sfdc_id(Contact, "contact_sfdc_id")
    opportunities = by_sfdc_id(Opportunity, "opportunity_sfdc_id")
    return [
        ConversionRecords(
            conversion=c,
            account=accounts.get(c.account_sfdc_id),
            contact=contacts.get(c.contact_sfdc_id),
            opportunity=opportunities.get(c.opportunity_sfdc_id),
        )
        for c in conversions
    ]
