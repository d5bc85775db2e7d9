from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_export_to_marketers(apps, schema_editor):
    """Marketers export their lists: the group gains `export_people` (created here first)."""
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    export = Permission.objects.get(content_type__app_label="accounts", codename="export_people")
    for group in Group.objects.filter(name="Marketers"):
        group.permissions.add(export)


def revoke_export(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="accounts", codename="export_people").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_people_search_indexes"),
        ("accounts", "0002_marketers_group"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["last_name", "first_name"],
                "permissions": [
                    ("convert_person", "Can run Convert Person (creates records in Salesforce)"),
                    ("export_people", "Can export people and accounts as CSV"),
                ],
                "verbose_name": "person",
                "verbose_name_plural": "people",
            },
        ),
        migrations.RunPython(grant_export_to_marketers, revoke_export),
    ]
