"""`migrate` from an empty database runs clean, and the Marketers group is created by it."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


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


@pytest.mark.django_db(transaction=True)
def test_objects_synced_before_the_filled_fields_are_read_in_full_once_to_fill_the_new_ones():
    """An upgraded installation: the migration records what its rows hold, so the next cycle
    reads in full exactly the objects whose mapping grew since (people: CreatedDate)."""
    from marketo_sync.sync.cycle import choose_mode, unfilled_note
    from marketo_sync.sync.models import SyncState

    before = [("sync", "0007_change_data_capture_streams")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_state = executor.loader.project_state(before).apps.get_model("sync", "SyncState")
    for object_name in ("User", "Account", "Lead", "Contact", "Opportunity"):
        old_state.objects.create(object_name=object_name, last_full_at=timezone.now())
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    modes = {name: choose_mode(name, full=False) for name in
             SyncState.objects.values_list("object_name", flat=True)}
    assert modes == {"User": "incremental", "Account": "incremental", "Lead": "full",
                     "Contact": "full", "Opportunity": "incremental"}
    assert "CreatedDate" in unfilled_note(SyncState.objects.get(object_name="Contact"))
    assert "Industry" in unfilled_note(SyncState.objects.get(object_name="Lead"))
