"""`manage.py sfdc_listen`: the long-running Change Data Capture listener (Procfile `listener`)."""

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketo_sync.sync.listener import Listener
from marketo_sync.sync.mapping import OBJECT_ORDER


class Command(BaseCommand):
    help = "Listen to Salesforce change events and re-sync the changed records within seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--object", choices=OBJECT_ORDER, action="append", dest="objects",
                            help="subscribe to this object's change events (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        listener = Listener(objects=tuple(options["objects"] or OBJECT_ORDER))
        self.stdout.write(f"listening on {', '.join(listener.channels)}")
        asyncio.run(self.serve(listener))
        self.stdout.write("listener stopped")

    async def serve(self, listener: Listener) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, listener.stop)
        await listener.run()
