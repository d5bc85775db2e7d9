"""The `xlarge` org through the code path of its full size, at a hundredth of it."""

import time

from marketo_sync.sandbox.schema import OBJECTS
from marketo_sync.sandbox.seed import PLANS, seed_org
from marketo_sync.sandbox.store import Store


def scalar(store: Store, sql: str) -> int:
    return store.db.execute(sql).fetchone()[0]


def test_xlarge_plan_is_a_million_people():
    plan = PLANS["xlarge"]
    assert (plan.accounts, plan.contacts, plan.leads, plan.opportunities) == (
        50_000, 800_000, 200_000, 50_000
    )
    assert plan.contacts + plan.leads == 1_000_000


def test_scaled_xlarge_seeds_its_counts_and_relationships():
    store = Store()
    counts = seed_org(store, "xlarge", scale=0.01)

    # one lead converted by the seed: it adds an account, a contact and an opportunity
    assert counts == {"users": 50, "accounts": 500, "contacts": 8001, "leads": 2000}
    assert store.count(OBJECTS["Account"]) == 501
    assert store.count(OBJECTS["Contact"]) == 8001
    assert store.count(OBJECTS["Lead"]) == 2000
    assert store.count(OBJECTS["Opportunity"]) == 501
    assert scalar(store, 'SELECT COUNT(*) FROM "Lead" WHERE "IsConverted" = 1') == 1
    orphans = """SELECT COUNT(*) FROM "{child}" c LEFT JOIN "Account" a ON a."Id" = c."AccountId"
                 WHERE a."Id" IS NULL"""
    assert scalar(store, orphans.format(child="Contact")) == 0
    assert scalar(store, orphans.format(child="Opportunity")) == 0
    # every seeded account has people: 16 on average, as in the full org
    assert scalar(store, 'SELECT COUNT(DISTINCT "AccountId") FROM "Contact"') == 501
    owners = 'SELECT COUNT(*) FROM "{table}" WHERE "OwnerId" NOT IN (SELECT "Id" FROM "User")'
    assert scalar(store, owners.format(table="Contact")) == 0
    assert scalar(store, owners.format(table="Lead")) == 0
    assert scalar(store, 'SELECT COUNT(DISTINCT "Email") FROM "Contact"') == 8001


def test_seeding_leaves_the_clock_at_real_time():
    store = Store()
    seed_org(store, "xlarge", scale=0.01)

    now = int(time.time() * 1000)
    for name in ("Account", "Contact", "Lead", "Opportunity"):
        assert scalar(store, f'SELECT MAX("SystemModstamp") FROM "{name}"') <= now
    assert store.now_millis() <= int(time.time() * 1000)


def test_same_scale_gives_the_same_org():
    first, second = Store(), Store()
    seed_org(first, "xlarge", scale=0.001)
    seed_org(second, "xlarge", scale=0.001)

    query = 'SELECT "Id", "Email", "AccountId" FROM "Contact" ORDER BY "Id"'
    assert first.db.execute(query).fetchall() == second.db.execute(query).fetchall()
