"""Demo set-up: the users a newcomer logs in with (printed by `manage.py demo`)."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str


DEMO_ADMIN = DemoLogin("admin", "admin", "admin-demo-password")
DEMO_MARKETER = DemoLogin("marketer", "marketer", "marketer-demo-password")


def demo_users_ensure() -> list[DemoLogin]:
    """Create (or reset the passwords of) the demo admin and the demo marketer."""
    user_model = get_user_model()
    admin, _ = user_model.objects.get_or_create(username=DEMO_ADMIN.username)
    admin.is_staff = admin.is_superuser = True
    admin.set_password(DEMO_ADMIN.password)
    admin.save()

    marketer, _ = user_model.objects.get_or_create(username=DEMO_MARKETER.username)
    marketer.is_staff = True
    marketer.is_superuser = False
    marketer.set_password(DEMO_MARKETER.password)
    marketer.save()
    marketer.groups.add(Group.objects.get(name="Marketers"))
    return [DEMO_ADMIN, DEMO_MARKETER]
