"""The Change Data Capture listener behind `manage.py sfdc_listen`.

One CometD session subscribes to `/data/<Object>ChangeEvent` for every synced object, resuming
each channel from the replay id stored with the last committed batch. Events that arrive within
a short window form one batch, committed with its replay ids in one transaction (see
`marketo_sync.sync.changes`); only then does the in-memory replay marker move, so a re-handshake
inside the session and a restart both resume from what is committed. A stream that drops or
cannot be opened is reopened with capped exponential backoff, and a cycle is enqueued meanwhile.
"""

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosfstream_ng import Client, ReplayMarker
from aiosfstream_ng.exceptions import AiosfstreamException, ServerError
from django.db import connections

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceError
from marketo_sync.salesforce.streaming import StreamingClient, change_event_channel
from marketo_sync.sync.changes import (
    stream_commit_batch,
    stream_fallback_cycle,
    stream_heartbeat,
    stream_replay_ids,
    stream_set_connected,
)
from marketo_sync.sync.mapping import OBJECT_ORDER

logger = logging.getLogger(__name__)

BATCH_WINDOW_SECONDS = 0.05
BATCH_MAX_EVENTS = 500
HEARTBEAT_SECONDS = 30.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
STREAM_ERRORS = (AiosfstreamException, SalesforceError, OSError, asyncio.TimeoutError)


class Listener:
    def __init__(
        self,
        objects: tuple[str, ...] = OBJECT_ORDER,
        client_factory: Callable[[], SalesforceClient] = SalesforceClient.from_settings,
    ) -> None:
        self.channels = [change_event_channel(o) for o in objects]
        self.client_factory = client_factory
        self.stopping = asyncio.Event()
        self.failures = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="listener-db")

    async def db(self, function: Callable, **kwargs: object) -> Any:
        """Database work runs on one thread (Django's ORM is synchronous): one connection."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(function, **kwargs)
        )

    def backoff(self) -> float:
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**self.failures)
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter

    async def run(self) -> None:
        """Until `stop()`: open the stream, consume it, reopen it with backoff when it breaks."""
        try:
            while not self.stopping.is_set():
                try:
                    await self.session()
                except STREAM_ERRORS as exc:
                    await self.stream_lost(exc)
        finally:
            await self.db(stream_set_connected, channels=self.channels, connected=False)
            await self.db(connections.close_all)
            self.executor.shutdown()

    def stop(self) -> None:
        self.stopping.set()

    async def stream_lost(self, exc: BaseException) -> None:
        reason = f"change stream lost ({type(exc).__name__}: {exc}); reconnecting"
        logger.warning(reason)
        await self.db(stream_set_connected, channels=self.channels, connected=False)
        await self.db(stream_fallback_cycle, reason=reason, channels=self.channels)
        delay = self.backoff()
        self.failures += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)

    async def session(self) -> None:
        stored = await self.db(stream_replay_ids, channels=self.channels)
        replay = {c: ReplayMarker(date="0", replay_id=i) for c, i in stored.items()}
        client = await asyncio.to_thread(self.client_factory)
        async with StreamingClient(client, replay) as stream:
            for channel in self.channels:
                await self.subscribe(stream, channel, replay)
            missing = [c for c in self.channels if c not in stored]
            if missing:
                await self.db(
                    stream_fallback_cycle,
                    reason="no stored replay id (first start): a cycle catches up",
                    channels=missing,
                )
            await self.db(stream_set_connected, channels=self.channels, connected=True)
            self.failures = 0
            await self.consume(stream, replay)

    async def subscribe(self, stream: Client, channel: str, replay: dict) -> None:
        try:
            await stream.subscribe(channel)
        except ServerError as exc:
            if exc.error_code != 400 or channel not in replay:
                raise
            replay.pop(channel)
            await self.db(
                stream_fallback_cycle,
                reason=f"replay id refused as too old on {channel}: {exc.error_message}",
                channels=[channel],
            )
            await stream.subscribe(channel)

    async def consume(self, stream: Client, replay: dict) -> None:
        """Receive, batch, commit. A pending receive is never cancelled (a message it already
        took would be lost), only awaited again after a heartbeat."""
        stop = asyncio.ensure_future(self.stopping.wait())
        receive = asyncio.ensure_future(stream.receive())
        try:
            while not self.stopping.is_set():
                done, _ = await asyncio.wait(
                    {receive, stop}, timeout=HEARTBEAT_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if receive not in done:
                    if not self.stopping.is_set():
                        await self.db(stream_heartbeat, channels=self.channels)
                    continue
                batch = [receive.result()]
                await asyncio.sleep(BATCH_WINDOW_SECONDS)
                while stream.has_pending_messages and len(batch) < BATCH_MAX_EVENTS:
                    batch.append(await stream.receive())
                receive = asyncio.ensure_future(stream.receive())
                committed = await self.db(stream_commit_batch, messages=batch)
                for channel, replay_id in committed.replay_ids.items():
                    replay[channel] = ReplayMarker(date="0", replay_id=replay_id)
        finally:
            stop.cancel()
            receive.cancel()
