"""`manage.py demo`: sandbox org + worker + schedule + first sync + change listener + demo users,
then the admin."""

import signal
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketo_sync.devtools.demo import (
    DEMO_DATA_DIR,
    ChildProcesses,
    child_environment,
    demo_users_ensure,
    earlier_sandbox_stop,
    sandbox_wait_ready,
)


def stop_on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM stops the demo like Ctrl-C, so its child processes are stopped too."""
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run the demo: the bundled Salesforce sandbox with the demo org (kept in var/), an RQ "
        "worker, the sync schedule, a first sync, and the admin at http://127.0.0.1:8000/admin/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--sandbox-port", type=int, default=8443)
        parser.add_argument("--seed", default="demo", choices=["tiny", "small", "demo", "large"])
        parser.add_argument("--data-dir", type=Path, default=DEMO_DATA_DIR)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "the demo runs only with DEBUG=1: it creates the superuser 'admin' with the "
                "password printed in the README. Nothing was changed."
            )
        signal.signal(signal.SIGTERM, stop_on_sigterm)
        started = time.monotonic()
        state_file = Path(settings.SALESFORCE_SANDBOX_STATE)
        state_file.parent.mkdir(parents=True, exist_ok=True)
        options["data_dir"].mkdir(parents=True, exist_ok=True)
        env = child_environment(state_file)
        children = ChildProcesses()
        try:
            if earlier := earlier_sandbox_stop(state_file):
                self.stdout.write(f"Stopped the sandbox of an earlier demo (pid {earlier}).")
            written_after = time.time() - 1
            children.start(
                "Salesforce sandbox",
                [
                    "sfdc_sandbox",
                    f"--port={options['sandbox_port']}",
                    f"--seed={options['seed']}",
                    f"--data-dir={options['data_dir']}",
                    f"--state-file={state_file}",
                ],
                env,
            )
            state = sandbox_wait_ready(state_file, written_after, children)
            self.stdout.write(f"Salesforce sandbox: {state['url']} (CA {state['ca_path']})")
            children.start("RQ worker", ["rqworker", "sync", "default"], env)
            children.start("sync schedule", ["rqcron", "marketo_sync/sync/cron.py"], env)

            self.stdout.write("First sync from the sandbox org:")
            call_command("sync_sfdc", stdout=self.stdout, stderr=self.stderr)
            children.start("change listener", ["sfdc_listen"], env)
            logins = demo_users_ensure()
            self.stdout.write(self.style.SUCCESS(f"Ready in {time.monotonic() - started:.0f} s."))
            for login in logins:
                self.stdout.write(
                    f"  {login.role:<9} user {login.username!r} password {login.password!r}"
                )
            self.stdout.write(f"Admin: http://{options['addrport']}/admin/  (Ctrl-C stops all)")
            call_command("runserver", options["addrport"], use_reloader=False)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            self.stdout.write("Stopping...")
        finally:
            children.stop()
