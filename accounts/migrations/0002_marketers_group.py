"""Create the Marketers group with exactly: view everything, change accounts and people."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("accounts", "activities", "sync")
CHANGE = (("accounts", "change_account"), ("accounts", "change_contact"))


def create_marketers_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        if app_config.label in APPS:
            app_config.models_module = True
            create_permissions(app_config, verbosity=0)
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Marketers")
    view = Permission.objects.filter(content_type__app_label__in=APPS, codename__startswith="view_")
    change = [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in CHANGE
    ]
    group.permissions.set([*view, *change])


def delete_marketers_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Marketers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("activities", "0001_initial"),
        ("sync", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_marketers_group, delete_marketers_group)]
