from django.contrib.auth.management import create_permissions
from django.db import migrations

SMART_LIST_PERMISSIONS = (
    "add_smartlist", "change_smartlist", "delete_smartlist", "view_smartlist",
    "add_smartlistrule", "change_smartlistrule", "delete_smartlistrule", "view_smartlistrule",
)


def grant_smart_lists_to_marketers(apps, schema_editor):
    """Smart lists are shared by marketers: the group may view, build, change and remove them."""
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="accounts", codename__in=SMART_LIST_PERMISSIONS
    )
    for group in Group.objects.filter(name="Marketers"):
        group.permissions.add(*permissions)


class Migration(migrations.Migration):

    dependencies = [("accounts", "0008_smart_lists")]

    operations = [migrations.RunPython(grant_smart_lists_to_marketers, migrations.RunPython.noop)]
