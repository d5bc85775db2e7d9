"""Concurrent clients: each query keeps its own cursor, and request counts add up."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from marketo_sync.sandbox.store import Store
from tests.fixtures.sandbox import sandbox_login

THREADS = 8


@pytest.fixture
def slow_meta(monkeypatch):
    """Slow meta reads widen any read-then-write window, so a missing lock shows every time."""
    original = Store.meta

    def slow(self: Store, key: str, default: object = None) -> object:
        value = original(self, key, default)
        time.sleep(0.003)
        return value

    monkeypatch.setattr(Store, "meta", slow)


@pytest.mark.sandbox_seed("small")
def test_concurrent_query_all_iter_each_get_exactly_their_records(sandbox, slow_meta):
    sf = sandbox_login(sandbox)
    accounts = [
        r["Id"]
        for r in sf.query_all(
            "SELECT Id FROM Account WHERE Name != null ORDER BY Id LIMIT 20"
        )["records"]
    ]
    expected = {}
    for account_id in accounts:
        soql = f"SELECT Id, AccountId FROM Contact WHERE AccountId = '{account_id}' ORDER BY Id"
        ids = [r["Id"] for r in sf.query_all(soql)["records"]]
        if len(ids) >= 9:
            expected[account_id] = ids
        if len(expected) == THREADS:
            break
    assert len(expected) == THREADS
    sandbox.control.set_page_size(3)
    sandbox.control.reset_counts()

    def run(account_id: str) -> list[str]:
        client = sandbox_login(sandbox)
        soql = f"SELECT Id, AccountId FROM Contact WHERE AccountId = '{account_id}' ORDER BY Id"
        return [r["Id"] for r in client.query_all_iter(soql)]

    with ThreadPoolExecutor(THREADS) as pool:
        results = dict(zip(expected, pool.map(run, expected), strict=True))

    assert results == expected
    counts = sandbox.control.request_counts()
    assert counts["query"] == THREADS
    pages = sum((len(ids) + 2) // 3 for ids in expected.values())
    assert counts["query_more"] == pages - THREADS
