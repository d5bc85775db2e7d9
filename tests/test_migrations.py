"""`migrate` from an empty database runs clean, and the Marketers group is created by it."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection


@pytest.mark.django_db(transaction=True)
def test_migrate_from_zero_and_back():
    for app in ("sync", "accounts"):  # every app of the project, then everything again
        call_command("migrate", app, "zero", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('sync_seen_ids'), to_regclass('accounts_account')")
        assert cursor.fetchone() == (None, None)
    call_command("migrate", verbosity=0)
    codenames = set(
        Group.objects.get(name="Marketers").permissions.values_list("codename", flat=True)
    )
    assert {"change_account", "change_contact", "view_account", "view_activity",
            "export_people"} <= codenames
    assert not {"add_account", "delete_account", "convert_person"} & codenames


@pytest.mark.django_db
def test_marketers_group_ensure_matches_the_migration():
    from accounts.services import marketers_group_ensure

    migrated = set(Group.objects.get(name="Marketers").permissions.values_list("pk", flat=True))
    assert set(marketers_group_ensure().permissions.values_list("pk", flat=True)) == migrated
