"""`manage.py sfdc_sandbox`: run the bundled Salesforce sandbox org, or change its data.

    manage.py sfdc_sandbox [--port 8443] [--seed demo] [--data-dir var/sandbox/demo]
                           [--api-limit 15000]
    manage.py sfdc_sandbox update Account 0015g0000000001AAA Industry=Banking
    manage.py sfdc_sandbox delete Contact 0035g0000000001AAA
"""

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketo_sync.sandbox.control import SandboxControl, SandboxControlError
from marketo_sync.sandbox.seed import PLANS
from marketo_sync.sandbox.server import SandboxServer
from marketo_sync.sandbox.usage import DEFAULT_API_LIMIT


def parse_assignments(pairs: list[str]) -> dict:
    """`Field=value` pairs; values that parse as JSON (numbers, true, null) keep their type."""
    fields = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        if not separator:
            raise CommandError(f"expected Field=value, got {pair!r}")
        try:
            fields[name] = json.loads(raw)
        except ValueError:
            fields[name] = raw
    return fields


class Command(BaseCommand):
    help = "Run the bundled HTTPS Salesforce sandbox, or change a record in the running one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", default="serve",
                            choices=["serve", "update", "create", "delete", "undelete"])
        parser.add_argument("object_name", nargs="?")
        parser.add_argument("record", nargs="*", help="record id, then Field=value pairs")
        parser.add_argument("--port", type=int, default=8443)
        parser.add_argument("--seed", default="demo", choices=sorted(PLANS))
        parser.add_argument("--data-dir", type=Path)
        parser.add_argument("--reseed", action="store_true")
        parser.add_argument("--seed-scale", type=float, default=1,
                            help="a proportional part of the seed's org (e.g. 0.01 of xlarge)")
        parser.add_argument("--state-file", type=Path, default=None)
        parser.add_argument(
            "--api-limit", type=int, default=DEFAULT_API_LIMIT,
            help="daily API requests allowed over a rolling 24 hours; the count is kept in the "
                 "data dir, and calls beyond it get 403 REQUEST_LIMIT_EXCEEDED",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state_file = options["state_file"] or Path(settings.SALESFORCE_SANDBOX_STATE)
        if options["action"] == "serve":
            self.serve(options, state_file)
            return
        if not state_file.exists():
            raise CommandError(f"no running sandbox: {state_file} does not exist")
        control = SandboxControl.from_state_file(state_file)
        action, object_name, record = options["action"], options["object_name"], options["record"]
        if not object_name:
            raise CommandError(f"{action} needs an object name, e.g. Account")
        try:
            if action == "create":
                self.stdout.write(control.create(object_name, parse_assignments(record)))
                return
            if not record:
                raise CommandError(f"{action} needs a record id")
            if action == "update":
                control.update(object_name, record[0], parse_assignments(record[1:]))
            else:
                getattr(control, action)(object_name, record[0])
        except SandboxControlError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{action}d {object_name} {record[0]}")

    def serve(self, options: dict, state_file: Path) -> None:
        if options["verbosity"] < 2:
            logging.getLogger("marketo_sync.sandbox.server").setLevel(logging.WARNING)
        server = SandboxServer(
            seed=options["seed"],
            data_dir=options["data_dir"],
            port=options["port"],
            cert_dir=state_file.parent,
            reseed=options["reseed"],
            api_limit=options["api_limit"],
            scale=options["seed_scale"],
        ).bind()
        server.write_state(state_file)
        self.stdout.write(f"Salesforce sandbox serving {server.url}")
        self.stdout.write(f"  CA certificate: {server.ca_path}")
        self.stdout.write(f"  state file:     {state_file}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("sandbox stopped")
        finally:
            server.stop()
