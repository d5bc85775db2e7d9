"""`manage.py demo`: the newcomer's path — demo users, then serve the admin."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from marketo_sync.demo import demo_users_ensure


class Command(BaseCommand):
    help = "Create the demo users and serve the admin at http://127.0.0.1:8000/admin/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        for login in demo_users_ensure():
            self.stdout.write(
                f"  {login.role:<9} user {login.username!r} password {login.password!r}"
            )
        self.stdout.write(f"Admin: http://{options['addrport']}/admin/")
        call_command("runserver", options["addrport"], use_reloader=False)
