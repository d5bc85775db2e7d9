"""Local edits by marketers. Never sent to Salesforce; the next Salesforce update overwrites.

Only the fields the marketer actually changed are written (a form opened before a sync must not
revert what the sync brought in), under a row lock so a concurrent sync page is either wholly
before or wholly after the edit.
"""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Contact
from activities.models import Activity
from activities.services import change_data_value_log
from marketo_sync.sync.mapping import ACCOUNT_FIELDS, PERSON_COLUMNS

ACCOUNT_API_NAMES = {column: api_name for api_name, column in ACCOUNT_FIELDS.items()}
PERSON_API_NAMES = {column: api_name for api_name, column in PERSON_COLUMNS.items()}


def account_apply_local_edit(
    *, account_id: int, changes: Mapping[str, Any], user: AbstractBaseUser
) -> int:
    """Write the changed account fields, mark the account locally edited, log activities.

    Returns the number of activities logged (one per changed field per live contact, unless the
    account has more contacts than ACTIVITY_CONTACT_LIMIT).
    """
    unknown = set(changes) - set(ACCOUNT_API_NAMES)
    if unknown:
        raise ValueError(f"not editable account fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        field_changes = [
            (ACCOUNT_API_NAMES[name], getattr(account, name), value)
            for name, value in changes.items()
            if getattr(account, name) != value
        ]
        if not field_changes:
            return 0
        for name, value in changes.items():
            setattr(account, name, value)
        account.locally_edited_at = timezone.now()
        account.locally_edited_by = user
        account.save(update_fields=[*changes, "locally_edited_at", "locally_edited_by"])
        result = change_data_value_log(
            changes_by_account={account.pk: field_changes},
            source=Activity.Source.LOCAL_EDIT,
            reason="Edited in marketo-sync (local only)",
            user_id=user.pk,
        )
    return result.activities_logged


def contact_apply_local_edit(
    *, contact_id: int, changes: Mapping[str, Any], user: AbstractBaseUser
) -> int:
    """Write the changed person fields and log them on the person's timeline."""
    unknown = set(changes) - set(PERSON_API_NAMES)
    if unknown:
        raise ValueError(f"not editable person fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact_id)
        now = timezone.now()
        activities = [
            Activity(
                contact=contact,
                activity_type=Activity.Type.CHANGE_DATA_VALUE,
                attribute=PERSON_API_NAMES[name],
                old_value=getattr(contact, name),
                new_value=value,
                reason="Edited in marketo-sync (local only)",
                source=Activity.Source.LOCAL_EDIT,
                created_at=now,
                user=user,
            )
            for name, value in changes.items()
            if getattr(contact, name) != value
        ]
        if not activities:
            return 0
        for name, value in changes.items():
            setattr(contact, name, value)
        contact.locally_edited_at, contact.locally_edited_by = now, user
        contact.save(update_fields=[*changes, "locally_edited_at", "locally_edited_by"])
        Activity.objects.bulk_create(activities)
    return len(activities)


MARKETER_APPS = ("accounts", "activities", "sync")
MARKETER_CHANGE_PERMISSIONS = ("change_account", "change_contact")


def marketers_group_ensure() -> Group:
    """The Marketers group with exactly: view everything, change accounts and people.

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
