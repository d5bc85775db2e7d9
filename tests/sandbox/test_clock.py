"""The sandbox never stamps the future: a client filtering `SystemModstamp < now` sees every row."""

import time

import pytest

from marketo_sync.sandbox.schema import OBJECTS
from marketo_sync.sandbox.seed import seed_org
from marketo_sync.sandbox.store import Store


def latest_stamp(store: Store) -> int:
    return max(
        store.db.execute(f'SELECT MAX("SystemModstamp") FROM "{name}"').fetchone()[0] or 0
        for name in OBJECTS
    )


def latest_of_any_stamp(store: Store) -> int:
    stamps = [latest_stamp(store)]
    for obj in OBJECTS.values():
        for name in ("CreatedDate", "LastModifiedDate"):
            if obj.field(name):
                row = store.db.execute(f'SELECT MAX("{name}") FROM "{obj.name}"').fetchone()
                stamps.append(row[0] or 0)
    return max(stamps)


@pytest.mark.parametrize("seed", ["tiny", "small"])
def test_seeding_stamps_nothing_in_the_future(seed):
    store = Store()
    seed_org(store, seed)
    assert latest_of_any_stamp(store) <= int(time.time() * 1000)


def test_writes_right_after_seeding_are_stamped_now_and_after_every_earlier_stamp():
    store = Store()
    seed_org(store, "small")
    earlier = latest_stamp(store)
    account = OBJECTS["Account"]
    stamps = []
    for number in range(50):
        (record_id,) = store.insert_many(account, [{"Name": f"After seed {number}"}], None)
        stamps.append(store.raw(account, record_id)["SystemModstamp"])
        assert stamps[-1] <= int(time.time() * 1000)
    assert stamps[0] > earlier
    assert stamps == sorted(set(stamps))  # strictly increasing: each write is newer


def test_a_batch_insert_takes_one_stamp_and_does_not_run_ahead():
    store = Store()
    seed_org(store, "tiny")
    contact = OBJECTS["Contact"]
    ids = store.insert_many(contact, [{"LastName": f"P{i}"} for i in range(5000)], None)
    stamps = {store.raw(contact, i)["SystemModstamp"] for i in (ids[0], ids[-1])}
    assert len(stamps) == 1
    assert latest_stamp(store) <= int(time.time() * 1000)
