"""Local edits by marketers. Never sent to Salesforce; the next Salesforce update overwrites.

Only the fields the marketer actually changed are written (a form opened before a sync must not
revert what the sync brought in), under a row lock so a concurrent sync page is either wholly
before or wholly after the edit.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Account, Contact
from accounts.salesforce_fields import ACCOUNT_FIELDS, PERSON_FIELDS
from accounts.selectors import (
    ACCOUNT_EXPORT_COLUMNS,
    PERSON_EXPORT_COLUMNS,
    account_export_rows,
    person_export_rows,
)
from activities.models import Activity
from activities.services import FieldChange, account_changes_log
from marketo_sync.db import quoted_table, reassign_related

# Locally editable columns → Salesforce field API names (the activities' `attribute`).
ACCOUNT_API_NAMES = {column: api_name for api_name, column in ACCOUNT_FIELDS.items()}
PERSON_API_NAMES = {column: api_name for api_name, column in PERSON_FIELDS.items()}
LOCAL_EDIT_REASON = "Edited in marketo-sync (local only)"


@dataclass(frozen=True)
class LocalEditResult:
    """What a local edit wrote: the Salesforce API names changed and the activities logged."""

    fields: list[str]
    activities_logged: int


def _local_edit_save(
    *, row: Account | Contact, changes: Mapping[str, Any], api_names: Mapping[str, str], user: User
) -> list[FieldChange]:
    """Lock the row, write the values that really differ, mark it locally edited.

    Compared under the lock with the row as it is now, so a value a sync already set to the same
    thing is neither written nor logged. Returns (API name, old, new) per written field; the
    caller's instance gets the new values too.
    """
    unknown = set(changes) - set(api_names)
    if unknown:
        raise ValueError(f"not locally editable: {', '.join(sorted(unknown))}")
    locked = type(row).objects.select_for_update().get(pk=row.pk)
    differing = {
        column: (getattr(locked, column), value)
        for column, value in changes.items()
        if getattr(locked, column) != value
    }
    if not differing:
        return []
    now = timezone.now()
    for target in (locked, row):
        for column, (_old, new) in differing.items():
            setattr(target, column, new)
        target.locally_edited_at, target.locally_edited_by = now, user
    locked.save(update_fields=[*differing, "locally_edited_at", "locally_edited_by"])
    return [(api_names[column], old, new) for column, (old, new) in differing.items()]


@transaction.atomic
def account_apply_local_edit(
    *, account: Account, changes: Mapping[str, Any], user: User
) -> LocalEditResult:
    """Apply a marketer's edit to the one shared account row; it is never sent to Salesforce.

    `changes` holds only the fields the marketer changed (column → value). Logs Change Data Value
    (source `local_edit`) on every live contact, under the 5,000 rule.
    """
    field_changes = _local_edit_save(
        row=account, changes=changes, api_names=ACCOUNT_API_NAMES, user=user
    )
    if not field_changes:
        return LocalEditResult(fields=[], activities_logged=0)
    logged = account_changes_log(
        changes_by_account={account.pk: field_changes},
        source=Activity.Source.LOCAL_EDIT,
        reason=LOCAL_EDIT_REASON,
        user_id=user.pk,
    )
    return LocalEditResult(
        fields=[attribute for attribute, _old, _new in field_changes],
        activities_logged=logged.activities_logged,
    )


@transaction.atomic
def contact_apply_local_edit(
    *, contact: Contact, changes: Mapping[str, Any], user: User
) -> LocalEditResult:
    """Apply a marketer's edit to a person's own fields and log it on the person's timeline."""
    field_changes = _local_edit_save(
        row=contact, changes=changes, api_names=PERSON_API_NAMES, user=user
    )
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            contact=contact,
            activity_type=Activity.Type.CHANGE_DATA_VALUE,
            attribute=attribute,
            old_value=old,
            new_value=new,
            reason=LOCAL_EDIT_REASON,
            source=Activity.Source.LOCAL_EDIT,
            created_at=now,
            user=user,
        )
        for attribute, old, new in field_changes
    )
    return LocalEditResult(
        fields=[attribute for attribute, _old, _new in field_changes],
        activities_logged=len(field_changes),
    )


MARKETER_APPS = ("accounts", "activities", "sync")
MARKETER_CHANGE_PERMISSIONS = (
    "change_account", "change_contact", "export_people",
    # smart lists are shared: every marketer builds, changes and removes them
    "add_smartlist", "change_smartlist", "delete_smartlist",
    "add_smartlistrule", "change_smartlistrule", "delete_smartlistrule",
)


def marketers_group_ensure() -> Group:
    """The Marketers group with exactly: view everything, change accounts and people, export,
    and build smart lists.

    The data migration creates it; this restores it where a database was flushed (tests) or
    permissions drifted.
    """
    group, _ = Group.objects.get_or_create(name="Marketers")
    permissions = Permission.objects.filter(content_type__app_label__in=MARKETER_APPS).filter(
        Q(codename__startswith="view_")
        | Q(content_type__app_label="accounts", codename__in=MARKETER_CHANGE_PERMISSIONS)
    )
    group.permissions.set(permissions)
    return group


MARKETING_OPERATIONS_PERMISSIONS = (("accounts", "convert_person"), ("sync", "dismiss_syncerror"))


def marketing_operations_group_ensure() -> Group:
    """The "Marketing operations" group: who may run Convert Person and dismiss sync errors.

    Both change Salesforce or stop retrying a record, so they are granted apart from Marketers.
    """
    group, _ = Group.objects.get_or_create(name="Marketing operations")
    query = Q()
    for app_label, codename in MARKETING_OPERATIONS_PERMISSIONS:
        query |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.set(Permission.objects.filter(query))
    return group


# The columns a Contact record writes; a converted lead's row takes them over from a contact row
# that the Contact sync created before the conversion reached the Lead sync.
CONTACT_DATA_COLUMNS = (
    "first_name", "last_name", "email", "phone", "title", "account_id", "account_sfdc_id",
    "owner_id", "sfdc_last_modified", "custom_fields", "master_record_sfdc_id", "is_deleted",
    "synced_at",
)


def person_absorb(pairs: list[tuple[int, int]]) -> None:
    """(contact row, lead row): one person came to have two rows; the lead's row takes over the
    contact row's data and history, and the contact row goes (its contact id moves too).

    The person stays one row whoever saw the conversion first: the Lead sync, a Convert Person
    job, or a Contact sync that stored the new contact before either.
    """
    if not pairs:
        return
    table = quoted_table(Contact)
    assignments = ", ".join(f"{c} = k.{c}" for c in CONTACT_DATA_COLUMNS)
    contact_rows, lead_rows = (list(column) for column in zip(*pairs, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} AS l SET {assignments}
            FROM {table} k, unnest(%s::bigint[], %s::bigint[]) AS v(k, l)
            WHERE k.id = v.k AND l.id = v.l
            """,  # noqa: S608 - identifiers from model metadata
            [contact_rows, lead_rows],
        )
    reassign_related(Contact, pairs)
    Contact.objects.filter(pk__in=contact_rows).delete()


def export_start(
    *, user: User, queryset: QuerySet, filter_query: str
) -> tuple[list[str], Iterator[tuple]]:
    """A CSV export of people or accounts: recorded in the admin log (who, when, which filter,
    how many rows) before the rows stream; returns the header and the rows."""
    model = queryset.model
    rows = queryset.count()
    LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model),
        object_repr=f"CSV export of {rows} {model._meta.verbose_name_plural}"[:200],
        action_flag=CHANGE,
        change_message=f"Exported {rows} rows as CSV; filter: ?{filter_query}"
        if filter_query else f"Exported {rows} rows as CSV; no filter",
    )
    if model is Account:
        return list(ACCOUNT_EXPORT_COLUMNS), account_export_rows(accounts=queryset)
    return list(PERSON_EXPORT_COLUMNS), person_export_rows(people=queryset)
