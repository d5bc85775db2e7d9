"""Change Data Capture in the sandbox, received with the unchanged aiosfstream-ng client."""

import asyncio

import pytest
from aiosfstream_ng import Client, ReplayMarker, ReplayOption
from aiosfstream_ng.exceptions import AiosfstreamException, ServerError

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.streaming import ALL_CHANGES, StreamingClient

ACCOUNTS = "/data/AccountChangeEvent"


@pytest.fixture
def stream(sandbox):
    sandbox.control.set_stream_poll_seconds(2)
    return sandbox


def first_account(sf) -> str:
    return sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]


async def receive(client: Client, count: int, timeout: float = 10) -> list[dict]:
    return [await asyncio.wait_for(client.receive(), timeout) for _ in range(count)]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_update_arrives_with_salesforce_event_shape(stream, sf):
    account_id = first_account(sf)

    async def scenario():
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe(ACCOUNTS)
            await asyncio.to_thread(sf.Account.update, account_id, {"Industry": "Energy"})
            return await receive(c, 1)

    (message,) = run(scenario())
    assert message["channel"] == ACCOUNTS
    assert isinstance(message["data"]["event"]["replayId"], int)
    payload = message["data"]["payload"]
    header = payload["ChangeEventHeader"]
    assert header["entityName"] == "Account"
    assert header["recordIds"] == [account_id]
    assert header["changeType"] == "UPDATE"
    assert set(header["changedFields"]) >= {"Industry", "LastModifiedDate"}
    assert isinstance(header["commitTimestamp"], int) and header["commitNumber"] > 0
    assert header["transactionKey"] and header["sequenceNumber"] == 1
    assert header["commitUser"].startswith("005")
    assert payload["Industry"] == "Energy"
    assert "Name" not in payload


def test_create_delete_undelete_on_the_all_changes_channel(stream, sf):
    async def scenario():
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe(ALL_CHANGES)
            created = await asyncio.to_thread(sf.Lead.create, {"LastName": "Ng", "Company": "X"})
            await asyncio.to_thread(sf.Lead.delete, created["id"])
            await asyncio.to_thread(stream.control.undelete, "Lead", created["id"])
            return created["id"], await receive(c, 3)

    lead_id, messages = run(scenario())
    headers = [m["data"]["payload"]["ChangeEventHeader"] for m in messages]
    assert [h["changeType"] for h in headers] == ["CREATE", "DELETE", "UNDELETE"]
    assert all(h["entityName"] == "Lead" and h["recordIds"] == [lead_id] for h in headers)
    create, delete, undelete = (m["data"]["payload"] for m in messages)
    assert create["LastName"] == "Ng" and create["Company"] == "X"
    assert set(delete) == {"ChangeEventHeader"}
    assert undelete["LastName"] == "Ng"
    replay_ids = [m["data"]["event"]["replayId"] for m in messages]
    assert replay_ids == sorted(replay_ids) and len(set(replay_ids)) == 3


def test_one_event_per_transaction_and_record_set(stream):
    """Rows written together with the same values are one record set (one event naming them
    all); rows with different values are events of one transaction, numbered in order."""

    async def scenario(rows: list[dict], events: int) -> tuple[list[str], list[dict]]:
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe("/data/ContactChangeEvent")
            ids = await asyncio.to_thread(stream.control.bulk_create, "Contact", rows)
            return ids, await receive(c, events)

    titles = ["CTO", "CFO", "CEO"]
    ids, messages = run(scenario([{"LastName": "Apart", "Title": t} for t in titles], 3))
    headers = [m["data"]["payload"]["ChangeEventHeader"] for m in messages]
    assert sorted(i for h in headers for i in h["recordIds"]) == sorted(ids)
    assert len({h["transactionKey"] for h in headers}) == 1
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 3]

    ids, messages = run(scenario([{"LastName": "Same", "Title": "CTO"}] * 3, 1))
    (header,) = [m["data"]["payload"]["ChangeEventHeader"] for m in messages]
    assert sorted(header["recordIds"]) == sorted(ids)


def test_replay_from_stored_id_from_oldest_and_refused_when_too_old(stream, sf):
    account_id = first_account(sf)
    for industry in ("Energy", "Banking", "Retail"):
        stream.control.update("Account", account_id, {"Industry": industry})
    last = stream.control.last_replay_id()

    async def replay(replay) -> list[dict]:
        async with StreamingClient(SalesforceClient.from_settings(), replay) as c:
            await c.subscribe(ACCOUNTS)
            return await receive(c, 2 if isinstance(replay, dict) else 3)

    stored = {ACCOUNTS: ReplayMarker(date="0", replay_id=last - 2)}
    after_stored = run(replay(stored))
    assert [m["data"]["payload"]["Industry"] for m in after_stored] == ["Banking", "Retail"]
    oldest = run(replay(ReplayOption.ALL_EVENTS))
    assert [m["data"]["payload"]["Industry"] for m in oldest] == ["Energy", "Banking", "Retail"]

    stream.control.expire_replay_ids()
    with pytest.raises(ServerError) as refused:
        run(replay(stored))
    assert refused.value.error_code == 400
    assert "you provided was invalid" in refused.value.error_message


def test_expired_session_recovers_like_salesforce(stream, sf):
    account_id = first_account(sf)

    async def scenario():
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe(ACCOUNTS)
            await asyncio.to_thread(stream.control.expire_sessions)
            await asyncio.sleep(3)
            await asyncio.to_thread(
                stream.control.update, "Account", account_id, {"Industry": "Energy"}
            )
            return await receive(c, 1)

    (message,) = run(scenario())
    assert message["data"]["payload"]["Industry"] == "Energy"
    assert stream.control.request_counts()["cometd"] >= 4


def test_expired_session_is_answered_401_then_unknown_client(stream):
    client = SalesforceClient.from_settings()
    session = client.session
    url = f"{client.instance_url}/cometd/59.0"
    handshake = session.post(
        url, json=[{"channel": "/meta/handshake", "version": "1.0", "id": "1",
                    "supportedConnectionTypes": ["long-polling"]}],
        headers={"Authorization": f"Bearer {client.access_token}"},
    ).json()[0]
    assert handshake["successful"] and handshake["ext"]["replay"] is True
    stream.control.expire_sessions()
    connect = [{"channel": "/meta/connect", "clientId": handshake["clientId"], "id": "2",
                "connectionType": "long-polling"}]
    expired = session.post(url, json=connect, headers={"Authorization": "Bearer gone"})
    assert expired.status_code == 401
    assert expired.json()[0]["error"] == "401::Authentication invalid"
    client.relogin()
    unknown = session.post(
        url, json=connect, headers={"Authorization": f"Bearer {client.access_token}"}
    ).json()[0]
    assert unknown["error"] == "403::Unknown client"
    assert unknown["advice"]["reconnect"] == "handshake"


def test_gap_and_overflow_events(stream, sf):
    account_id = first_account(sf)

    async def scenario():
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe(ACCOUNTS)
            await asyncio.to_thread(stream.control.emit_gap, "Account", "GAP_UPDATE", [account_id])
            await asyncio.to_thread(stream.control.emit_gap, "Account", "GAP_OVERFLOW")
            return await receive(c, 2)

    gap, overflow = (m["data"]["payload"] for m in run(scenario()))
    assert set(gap) == {"ChangeEventHeader"}
    assert gap["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
    assert gap["ChangeEventHeader"]["recordIds"] == [account_id]
    assert overflow["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"


def test_dropped_stream_breaks_the_client_and_replay_recovers_the_missed_event(stream, sf):
    account_id = first_account(sf)

    async def dropped():
        async with StreamingClient(SalesforceClient.from_settings(), ReplayOption.NEW_EVENTS) as c:
            await c.subscribe(ACCOUNTS)
            await asyncio.to_thread(stream.control.drop_stream)
            await asyncio.wait_for(c.receive(), 10)

    before = stream.control.last_replay_id()
    with pytest.raises(AiosfstreamException):
        run(dropped())
    stream.control.update("Account", account_id, {"Industry": "Energy"})

    async def resumed():
        replay = {ACCOUNTS: ReplayMarker(date="0", replay_id=before)}
        async with StreamingClient(SalesforceClient.from_settings(), replay) as c:
            await c.subscribe(ACCOUNTS)
            return await receive(c, 1)

    (message,) = run(resumed())
    assert message["data"]["payload"]["Industry"] == "Energy"
