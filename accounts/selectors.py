"""Reads for the admin: divergences from what Salesforce last sent, contacts, timelines, and the
People list's filters and search."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import and_, or_
from typing import Any
from urllib.parse import urlencode

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import BooleanField, Case, Count, F, Func, Q, QuerySet, When
from django.db.models.functions import Upper
from django.utils import timezone

from accounts.models import (
    Account,
    Contact,
    Opportunity,
    PersonConversion,
    SmartList,
    SmartListRule,
)
from accounts.person_fields import OPERATORS_BY_KIND, PERSON_FILTER_FIELDS, Operator, PersonField
from accounts.salesforce_fields import ACCOUNT_FIELDS, BadRecord, converter_for
from activities.models import AccountHistory, Activity
from activities.services import salesforce_value_text
from marketo_sync.db import distinct_values
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


def account_field_values(*, field: str) -> list[str]:
    """Values in use of an indexed account text field, one index probe per value: a filter's
    choices, read on every page of its list, never a DISTINCT over every account."""
    return distinct_values(Account, field)


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


# -- the People list: filterable fields, company-level filters, search -------------------------


class InvalidFilter(ValueError):
    """A filter value that cannot be applied (text in a number, a NUL character, an unknown
    field or operator); the admin answers it as an invalid filter, never a server error."""


def person_filter_value(*, kind: str, value: Any) -> Any:
    """One filter value as its column compares it; `InvalidFilter` when it is not one."""
    text = str(value).strip()
    if "\x00" in text:
        raise InvalidFilter("contains a NUL character")
    if kind == "number":
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise InvalidFilter(f"not a number: {text!r}") from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
            raise InvalidFilter(f"number out of range: {text!r}")
        return number
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidFilter(f"not a date (YYYY-MM-DD): {text!r}") from None
    return text


def _path_q(path: str, kind: str, operator: str, values: list[Any]) -> Q:
    if operator == Operator.IS_EMPTY:
        empty = Q(**{f"{path}__isnull": True})
        return empty | Q(**{path: ""}) if kind == "text" else empty
    compared = f"{path}__date" if kind == "date" else path
    match operator:
        case Operator.IS:
            return Q(**{compared: values[0]})
        case Operator.IS_NOT:
            return ~Q(**{compared: values[0]}) | Q(**{f"{path}__isnull": True})
        case Operator.CONTAINS:
            return Q(**{f"{path}__icontains": values[0]})
        case Operator.STARTS_WITH:
            return Q(**{f"{path}__istartswith": values[0]})
        case Operator.GREATER:
            return Q(**{f"{compared}__gt": values[0]})
        case Operator.LESS:
            return Q(**{f"{compared}__lt": values[0]})
        case Operator.AT_LEAST:
            return Q(**{f"{compared}__gte": values[0]})
        case Operator.AT_MOST:
            return Q(**{f"{compared}__lte": values[0]})
        case Operator.BETWEEN:
            return Q(**{f"{compared}__range": (min(values), max(values))})
    raise InvalidFilter(f"unknown operator {operator!r}")


@dataclass(frozen=True)
class CheckedRule:
    spec: PersonField
    operator: str
    values: list[Any]

    def q(self, path: str) -> Q:
        return _path_q(path, self.spec.kind, self.operator, self.values)


def person_rule_check(*, field: str, operator: str, values: list[Any]) -> CheckedRule:
    """A rule whose field, operator and values apply; `InvalidFilter` says why not.

    `values` are as entered (one, or two for between); they are converted here.
    """
    spec = PERSON_FILTER_FIELDS.get(field)
    if spec is None:
        raise InvalidFilter(f"unknown field {field!r}")
    if operator not in OPERATORS_BY_KIND[spec.kind]:
        raise InvalidFilter(f"{spec.label} cannot be filtered with {operator!r}")
    needed = 0 if operator == Operator.IS_EMPTY else 2 if operator == Operator.BETWEEN else 1
    if len(values) < needed or any(str(v).strip() == "" for v in values[:needed]):
        raise InvalidFilter(f"{spec.label} {Operator(operator).label} needs {needed} value(s)")
    converted = [person_filter_value(kind=spec.kind, value=v) for v in values[:needed]]
    return CheckedRule(spec, operator, converted)


# Operators that never match a contact without an account: their account side may be read as
# "the account is one of these", which an index serves.
POSITIVE_OPERATORS = frozenset(
    {Operator.IS, Operator.CONTAINS, Operator.STARTS_WITH, Operator.GREATER, Operator.LESS,
     Operator.AT_LEAST, Operator.AT_MOST, Operator.BETWEEN}
)
ACCOUNT_PREFIX = "account__"


class EqualsAny(Func):
    """`column = ANY(ARRAY(subquery))`: unlike `IN (subquery)`, an index condition even inside
    an OR, so a list's contact side and lead side are both read through indexes."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def _branch(rules: list[CheckedRule], path_of: Any, join: Any) -> Q | None:
    """One side's condition (contacts or leads); None when that side can never match."""
    parts = []
    for rule in rules:
        path = path_of(rule.spec)
        if path is None:  # an account-only field: no lead matches it
            if join is and_:
                return None
            continue
        parts.append(rule.q(path))
    if not parts:
        return None
    return reduce(join, parts)


def person_rules_q(*, rules: list[tuple[str, str, list[Any]]], match_any: bool = False) -> Q:
    """Rules over person and company fields, joined by AND (or OR with `match_any`).

    Built as (contact AND its account's values) OR (lead AND its own values), never a join
    per rule: a contact side that reads only the account is `account_id = ANY(accounts …)`,
    so each side is served by an index (the account's contacts, the leads' company columns).
    """
    checked = [person_rule_check(field=f, operator=o, values=v) for f, o, v in rules]
    if not checked:
        return Q()
    join = or_ if match_any else and_
    if not any(rule.spec.company_level for rule in checked):
        return reduce(join, (rule.q(rule.spec.contact_path) for rule in checked))
    if all(rule.spec.contact_path.startswith(ACCOUNT_PREFIX)
           and rule.operator in POSITIVE_OPERATORS for rule in checked):
        accounts = Account.objects.filter(reduce(join, (
            rule.q(rule.spec.contact_path.removeprefix(ACCOUNT_PREFIX)) for rule in checked
        ))).order_by().values("pk")
        contacts: Q | None = Q(EqualsAny(F("account_id"), ArraySubquery(accounts)))
    else:
        contacts = _branch(checked, lambda spec: spec.contact_path, join)
    leads = _branch(checked, lambda spec: spec.lead_path, join)
    sides = [Q(sfdc_type=sfdc_type) & condition for sfdc_type, condition in (
        (Contact.SfdcType.CONTACT, contacts), (Contact.SfdcType.LEAD, leads)) if condition]
    return reduce(or_, sides) if sides else Q(pk__in=[])


def person_rule_q(*, field: str, operator: str, values: list[Any]) -> Q:
    """One rule over a person field: a contact through its account, a lead through its own."""
    return person_rules_q(rules=[(field, operator, values)])


# Contact-only account lookups a People list URL may carry (`?account__billing_country=India`).
ACCOUNT_LOOKUP_FIELDS = frozenset(
    {*ACCOUNT_FIELDS.values(), "owner", "owner__id", "locally_edited_at", "is_deleted", "sfdc_id"}
)
ACCOUNT_LOOKUP_OPERATORS = frozenset(
    {"exact", "iexact", "gt", "gte", "lt", "lte", "isnull", "in", "contains", "icontains",
     "startswith", "istartswith", "range"}
)


def person_account_lookup_allowed(*, lookup: str) -> bool | None:
    """Whether `account__…` is an account lookup marketers may use (None: not an account one)."""
    head, _, rest = lookup.partition("__")
    if head != "account" or not rest:
        return None
    path, _, last = rest.rpartition("__")
    field = path if last in ACCOUNT_LOOKUP_OPERATORS else rest
    return field in ACCOUNT_LOOKUP_FIELDS


def person_company_values(*, field: str) -> list[str]:
    """Values in use for a company-level text field, read from the accounts' index."""
    return account_field_values(
        field=PERSON_FILTER_FIELDS[field].contact_path.removeprefix(ACCOUNT_PREFIX)
    )


# A searched People list's order: by name, case-insensitive. No index serves this order, which is
# the point: PostgreSQL then finds the matches through the search indexes and sorts only them.
# In the name index's order it walks that index from "A" expecting the matches to be spread
# evenly, but a name search matches names, so they sit together: a common surname late in the
# alphabet meant reading most of the table for the first page.
PERSON_SEARCH_ORDER = (Upper("last_name"), Upper("first_name"))


def person_search_used(*, term: str) -> bool:
    """Whether `person_search` filters anything for this term (blank terms do not)."""
    return bool(term.split())


def person_search(*, people: QuerySet[Contact], term: str) -> QuerySet[Contact]:
    """The People list's search, by prefix so that the name indexes serve it.

    With `@`: email. Two or more words: first and last name, in either order. One word: first
    name, last name, email or company (a contact's account name, a lead's company). Accounts
    are matched first in their own small table, so a company never costs a join per person.
    """
    words = term.split()
    if not words:
        return people
    if "\x00" in term:
        raise InvalidFilter("contains a NUL character")
    if "@" in term:
        return people.filter(email__istartswith=term.strip())
    if len(words) >= 2:
        head, tail = words[0], " ".join(words[1:])
        names = Q(first_name__istartswith=head, last_name__istartswith=tail) | Q(
            last_name__istartswith=head, first_name__istartswith=tail
        )
        if len(words) > 2:  # "Ana Maria Adeyemi": a two-word first name
            names |= Q(first_name__istartswith=" ".join(words[:-1]),
                       last_name__istartswith=words[-1])
        return people.filter(names)
    word = words[0]
    account_ids = list(
        Account.objects.filter(name__istartswith=word).values_list("pk", flat=True)
    )
    return people.filter(
        Q(first_name__istartswith=word)
        | Q(last_name__istartswith=word)
        | Q(email__istartswith=word)
        | Q(company__istartswith=word, sfdc_type=Contact.SfdcType.LEAD)
        | Q(account_id__in=account_ids, sfdc_type=Contact.SfdcType.CONTACT)
    )


# -- CSV exports: rows straight from a server-side cursor ---------------------------------------

EXPORT_CHUNK = 2000


def _company(contact_path: str, lead_path: str) -> Case:
    """A person's company value: the account's for a contact, the lead's own for a lead."""
    return Case(
        When(sfdc_type=Contact.SfdcType.CONTACT, then=F(contact_path)), default=F(lead_path)
    )


PERSON_EXPORT_COLUMNS: dict[str, Any] = {
    "First name": "first_name",
    "Last name": "last_name",
    "Email": "email",
    "Type": "sfdc_type",
    "Title": "title",
    "Phone": "phone",
    "Company": _company("account__name", "company"),
    "Industry": _company("account__industry", "industry"),
    "Number of employees": _company("account__number_of_employees", "number_of_employees"),
    "Annual revenue": _company("account__annual_revenue", "annual_revenue"),
    "City": _company("account__billing_city", "city"),
    "State/province": _company("account__billing_state", "state"),
    "Country": _company("account__billing_country", "country"),
    "Lead status": "lead_status",
    "Owner": "owner__name",
    "Deleted in Salesforce": "is_deleted",
    "Salesforce contact ID": "sfdc_id",
    "Salesforce lead ID": "sfdc_lead_id",
    "Salesforce account ID": "account__sfdc_id",
}

ACCOUNT_EXPORT_COLUMNS = {
    "Name": "name", "Type": "type", "Industry": "industry", "Annual revenue": "annual_revenue",
    "Number of employees": "number_of_employees", "Billing street": "billing_street",
    "Billing city": "billing_city", "Billing state/province": "billing_state",
    "Billing postal code": "billing_postal_code", "Billing country": "billing_country",
    "Website": "website", "Phone": "phone", "Owner": "owner__name",
    "Locally edited at": "locally_edited_at", "Deleted in Salesforce": "is_deleted",
    "Salesforce account ID": "sfdc_id",
}


def person_export_rows(*, people: QuerySet[Contact]) -> Iterator[tuple]:
    """The people as CSV rows (columns `PERSON_EXPORT_COLUMNS`), read in chunks."""
    return (
        people.order_by("pk")
        .values_list(*PERSON_EXPORT_COLUMNS.values())
        .iterator(chunk_size=EXPORT_CHUNK)
    )


def account_export_rows(*, accounts: QuerySet[Account]) -> Iterator[tuple]:
    """The accounts as CSV rows (columns `ACCOUNT_EXPORT_COLUMNS`), read in chunks."""
    return (
        accounts.order_by("pk")
        .values_list(*ACCOUNT_EXPORT_COLUMNS.values())
        .iterator(chunk_size=EXPORT_CHUNK)
    )


# -- smart lists ---------------------------------------------------------------------------------


def smart_list_rule_values(*, rule: SmartListRule) -> list[str]:
    return [rule.value, rule.value_to] if rule.operator == Operator.BETWEEN else [rule.value]


def smart_list_rule_check(*, rule: SmartListRule) -> CheckedRule:
    return person_rule_check(
        field=rule.field, operator=rule.operator, values=smart_list_rule_values(rule=rule)
    )


def smart_list_q(*, smart_list: SmartList, rules: list[SmartListRule] | None = None) -> Q:
    """The list's people as one condition: its rules joined by AND or OR, living people only.

    A list without rules holds every living person. `InvalidFilter` if a stored rule no longer
    applies (a field retired since it was saved).
    """
    rules = list(smart_list.rules.all()) if rules is None else rules
    combined = person_rules_q(
        rules=[(rule.field, rule.operator, smart_list_rule_values(rule=rule)) for rule in rules],
        match_any=smart_list.match == SmartList.Match.ANY,
    )
    return combined & Q(is_deleted=False)


def smart_list_people(*, smart_list: SmartList) -> QuerySet[Contact]:
    return Contact.objects.filter(smart_list_q(smart_list=smart_list))


def smart_list_member_counts(*, smart_lists: list[SmartList]) -> dict[int, int | None]:
    """Members of each list in one statement (a filtered COUNT per list), whatever their number.

    Lists whose rules no longer apply count as None. The lists' rules should be prefetched.
    """
    conditions = {}
    counts: dict[int, int | None] = {}
    for smart_list in smart_lists:
        try:
            conditions[f"list_{smart_list.pk}"] = Count(
                "pk", filter=smart_list_q(smart_list=smart_list)
            )
        except InvalidFilter:
            counts[smart_list.pk] = None
    if conditions:
        totals = Contact.objects.aggregate(**conditions)
        counts.update({int(key.removeprefix("list_")): value for key, value in totals.items()})
    return counts


def smart_list_choices() -> list[tuple[int, str]]:
    return list(SmartList.objects.order_by("name", "pk").values_list("pk", "name"))


def smart_list_get(*, pk: str) -> SmartList:
    """The list named by `?smart_list=`, rules loaded; `InvalidFilter` for no such list."""
    try:
        return SmartList.objects.prefetch_related("rules").get(pk=int(pk))
    except (ValueError, SmartList.DoesNotExist):
        raise InvalidFilter(f"no smart list {pk!r}") from None
