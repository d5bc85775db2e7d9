"""Change Data Capture as the Streaming API delivers it: Bayeux (CometD) long polling.

The store reports every committed write of a change-event entity; `ChangeLog` turns a
transaction's writes into change events (one per record set with the same values), numbers them
with replay ids and keeps them for the retention window. `CometdServer` answers the Bayeux
messages of `/cometd/<version>` as Salesforce does (see docs/cdc-protocol.md), so an unchanged
CometD client (aiosfstream) subscribes, replays and recovers against it.
"""

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

ALL_CHANGES = "/data/ChangeEvents"
RETENTION_SECONDS = 72 * 3600
LONG_POLL_SECONDS = 110.0
GAP_KINDS = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW")
OVERFLOW_RECORD_ID = "000000000000000AAA"
SCHEMA_ID = "sandboxCdcSchema0000001"
CHANGE_ORIGIN = "com/salesforce/api/rest/59.0"


@dataclass(frozen=True)
class Change:
    """One committed write of one record, as the store reports it."""

    entity: str
    change_type: str
    record_id: str
    values: dict
    user_id: str | None


@dataclass
class Event:
    replay_id: int
    entity: str
    created: float
    data: dict

    def on(self, channel: str) -> bool:
        return channel in (ALL_CHANGES, entity_channel(self.entity))


def entity_channel(entity: str) -> str:
    return f"/data/{entity}ChangeEvent"


class ChangeLog:
    """Retained change events; replay ids increase across the log, so within each channel too."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.condition = threading.Condition()
        self.clock = clock
        self.events: list[Event] = []
        self.next_replay_id = 1
        self.floor = 0
        self.commit_number = 10650024937745

    def publish(self, changes: list[Change]) -> None:
        """One event per entity, change type and identical values within a transaction."""
        groups: dict[tuple, list[Change]] = {}
        for change in changes:
            key = (change.entity, change.change_type, repr(sorted(change.values.items())))
            groups.setdefault(key, []).append(change)
        transaction_key = str(uuid.uuid4())
        with self.condition:
            self.commit_number += 1
            for sequence, group in enumerate(groups.values(), start=1):
                first = group[0]
                header = self._header(
                    first.entity, first.change_type, [c.record_id for c in group], first.user_id
                )
                header.update(
                    transactionKey=transaction_key,
                    sequenceNumber=sequence,
                    changedFields=sorted(first.values) if first.change_type == "UPDATE" else [],
                )
                self._append(first.entity, {"ChangeEventHeader": header, **first.values})
            self.condition.notify_all()

    def publish_gap(self, entity: str, change_type: str, record_ids: list[str]) -> None:
        """A GAP_* event (header only) or GAP_OVERFLOW (no record ids), as Salesforce sends
        when it could not build the events of a transaction."""
        if change_type not in GAP_KINDS:
            raise ValueError(f"unknown gap kind {change_type!r}; one of {list(GAP_KINDS)}")
        ids = [OVERFLOW_RECORD_ID] if change_type == "GAP_OVERFLOW" else list(record_ids)
        with self.condition:
            self.commit_number += 1
            header = self._header(entity, change_type, ids, None)
            header.update(transactionKey=str(uuid.uuid4()), sequenceNumber=1, changedFields=[])
            self._append(entity, {"ChangeEventHeader": header})
            self.condition.notify_all()

    def _header(self, entity: str, change_type: str, ids: list[str], user: str | None) -> dict:
        return {
            "entityName": entity,
            "recordIds": ids,
            "changeType": change_type,
            "changeOrigin": CHANGE_ORIGIN,
            "commitTimestamp": int(self.clock() * 1000),
            "commitNumber": self.commit_number,
            "commitUser": user,
            "diffFields": [],
            "nulledFields": [],
        }

    def _append(self, entity: str, payload: dict) -> None:
        replay_id = self.next_replay_id
        self.next_replay_id += 1
        data = {"schema": SCHEMA_ID, "payload": payload, "event": {"replayId": replay_id}}
        self.events.append(Event(replay_id, entity, self.clock(), data))
        self._trim()

    def _trim(self) -> None:
        horizon = self.clock() - RETENTION_SECONDS
        kept = [e for e in self.events if e.created >= horizon]
        if len(kept) != len(self.events):
            self.floor = max(self.floor, self.events[len(self.events) - len(kept) - 1].replay_id)
            self.events = kept

    @property
    def last_replay_id(self) -> int:
        return self.next_replay_id - 1

    def replayable(self, replay_id: int) -> bool:
        """-1 / -2, or an id whose successors are all still retained."""
        return replay_id in (-1, -2) or self.floor <= replay_id <= self.last_replay_id

    def start_cursor(self, replay_id: int) -> int:
        if replay_id == -1:
            return self.last_replay_id
        if replay_id == -2:
            return self.floor
        return replay_id

    def after(self, channel: str, cursor: int) -> list[Event]:
        return [e for e in self.events if e.replay_id > cursor and e.on(channel)]

    def expire_replay_ids(self) -> None:
        """Every id handed out so far falls outside the retention window."""
        with self.condition:
            self.events.clear()
            self.floor = self.next_replay_id
            self.next_replay_id += 1
            self.condition.notify_all()

    def clear(self) -> None:
        self.expire_replay_ids()


@dataclass
class BayeuxClient:
    client_id: str
    cursors: dict[str, int] = field(default_factory=dict)
    connects: int = 0


class CometdServer:
    """The Bayeux endpoint: handshake, subscribe with replay, long-polled connect."""

    def __init__(self, log: ChangeLog, entities: tuple[str, ...]) -> None:
        self.log = log
        self.channels = {ALL_CHANGES} | {entity_channel(e) for e in entities}
        self.clients: dict[str, BayeuxClient] = {}
        self.poll_seconds = LONG_POLL_SECONDS
        self.drops_pending = 0

    def advice(self) -> dict:
        return {"reconnect": "retry", "interval": 0, "timeout": int(self.poll_seconds * 1000)}

    def forget_clients(self) -> None:
        """Sessions expired or the stream dropped: every client id becomes unknown."""
        with self.log.condition:
            self.clients.clear()
            self.log.condition.notify_all()

    def drop_streams(self, count: int) -> None:
        """The next `count` answers (held long polls first) break mid-response."""
        with self.log.condition:
            self.drops_pending += int(count)
            self.clients.clear()
            self.log.condition.notify_all()

    def take_drop(self) -> bool:
        with self.log.condition:
            if self.drops_pending > 0:
                self.drops_pending -= 1
                return True
            return False

    def handle(self, messages: list[dict]) -> list[dict]:
        replies: list[dict] = []
        connect: dict | None = None
        for message in messages:
            channel = message.get("channel", "")
            if channel == "/meta/connect":
                connect = message
                continue
            replies.append(self._meta(message, channel))
        if connect is not None:
            replies.extend(self._connect(connect))
        return replies

    def _meta(self, message: dict, channel: str) -> dict:
        reply = {"channel": channel, "id": message.get("id")}
        if channel == "/meta/handshake":
            client = BayeuxClient(secrets.token_urlsafe(24))
            with self.log.condition:
                self.clients[client.client_id] = client
            return {
                **reply,
                "clientId": client.client_id,
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "successful": True,
                "advice": self.advice(),
                "ext": {"replay": True, "payload.format": True},
            }
        known = self.clients.get(message.get("clientId") or "")
        if known is None:
            return unknown_client(reply)
        client = known
        reply["clientId"] = client.client_id
        if channel == "/meta/subscribe":
            return self._subscribe(client, message, reply)
        if channel == "/meta/unsubscribe":
            with self.log.condition:
                client.cursors.pop(str(message.get("subscription")), None)
            return {**reply, "subscription": message.get("subscription"), "successful": True}
        if channel == "/meta/disconnect":
            with self.log.condition:
                self.clients.pop(client.client_id, None)
                self.log.condition.notify_all()
            return {**reply, "successful": True}
        return {**reply, "successful": False, "error": "403::Publish not supported"}

    def _subscribe(self, client: BayeuxClient, message: dict, reply: dict) -> dict:
        channel = message.get("subscription")
        reply["subscription"] = channel
        if channel not in self.channels:
            return {
                **reply,
                "successful": False,
                "error": "400::The channel you requested to subscribe to does not exist "
                f"{{{channel}}}",
            }
        replay = ((message.get("ext") or {}).get("replay") or {}).get(channel, -1)
        with self.log.condition:
            if not isinstance(replay, int) or not self.log.replayable(replay):
                return {
                    **reply,
                    "successful": False,
                    "error": f"400::The replayId {{{channel}={replay}}} you provided was invalid.  "
                    "Please provide a valid ID, -2 to replay all events, or -1 to replay only "
                    "new events.",
                }
            client.cursors[channel] = self.log.start_cursor(replay)
            self.log.condition.notify_all()
        return {**reply, "successful": True}

    def _connect(self, message: dict) -> list[dict]:
        reply = {"channel": "/meta/connect", "id": message.get("id")}
        condition = self.log.condition
        with condition:
            client = self.clients.get(message.get("clientId") or "")
            if client is None:
                return [unknown_client(reply)]
            client.connects += 1
            first = client.connects == 1
            deadline = time.monotonic() + (0 if first else self.poll_seconds)
            while True:
                if self.clients.get(client.client_id) is not client:
                    return [unknown_client(reply)]
                events = self._pending(client)
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    break
                condition.wait(remaining)
            for channel, event in events:
                client.cursors[channel] = max(client.cursors[channel], event["data"]["event"][
                    "replayId"])
        return [
            *(event for _, event in events),
            {**reply, "clientId": client.client_id, "successful": True, "advice": self.advice()},
        ]

    def _pending(self, client: BayeuxClient) -> list[tuple[str, dict]]:
        found = []
        for channel, cursor in client.cursors.items():
            for event in self.log.after(channel, cursor):
                found.append((event.replay_id, channel, {"channel": channel, "data": event.data}))
        return [(channel, message) for _, channel, message in sorted(found, key=lambda f: f[0])]


def unknown_client(reply: dict) -> dict:
    return {
        **reply,
        "successful": False,
        "error": "403::Unknown client",
        "advice": {"reconnect": "handshake", "interval": 0},
    }
