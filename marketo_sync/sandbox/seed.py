"""Deterministic sandbox orgs: the same seed name always gives the same records.

Rows are generated in batches straight into storage (no per-record validation), so the `large`
org (10,000 accounts, 200,000 contacts) seeds in seconds and never sits in memory whole: only
users and accounts keep their ids in Python (children pick from them), people stream through.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from marketo_sync.sandbox.schema import (
    ACCOUNT_TYPES,
    INDUSTRIES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    OBJECTS,
    REGIONS,
    STAGES,
)
from marketo_sync.sandbox.store import Store, to_millis

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Carla", "Chen", "Dana", "David", "Elena", "Emeka",
    "Eva", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jane", "Jonas",
    "Kai", "Kenji", "Lara", "Leo", "Lina", "Luis", "Maya", "Mei", "Mia", "Nadia", "Noah",
    "Nora", "Omar", "Oscar", "Paula", "Priya", "Quinn", "Rafael", "Rosa", "Sami", "Sara",
    "Sofia", "Tariq", "Tom", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
)
LAST_NAMES = (
    "Adeyemi", "Alvarez", "Andersen", "Baker", "Bianchi", "Chen", "Costa", "Dubois", "Eriksen",
    "Fischer", "Garcia", "Gupta", "Hansen", "Hoffmann", "Ito", "Jensen", "Kim", "Kowalski",
    "Larsen", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura", "Novak", "Okafor", "Olsen",
    "Patel", "Petrov", "Rivera", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Smith",
    "Tanaka", "Taylor", "Nguyen", "Wagner", "Walker", "Weber", "Wilson", "Yamamoto", "Zhang",
)
COMPANY_WORDS = (
    "Acme", "Apex", "Aurora", "Beacon", "Blue Harbor", "Brightline", "Cascade", "Cedar",
    "Cobalt", "Crescent", "Delta", "Evergreen", "Falcon", "Granite", "Helix", "Horizon",
    "Ironwood", "Juniper", "Keystone", "Lakeside", "Lumen", "Meridian", "Northwind", "Oakridge",
    "Orion", "Pinnacle", "Quantum", "Redwood", "Riverstone", "Sapphire", "Summit", "Tidewater",
    "Trident", "Vanguard", "Vertex", "Willow", "Zenith",
)
COMPANY_NOUNS = (
    "Analytics", "Bank", "Biotech", "Capital", "Foods", "Health", "Holdings", "Industries",
    "Labs", "Logistics", "Media", "Motors", "Networks", "Partners", "Retail", "Robotics",
    "Software", "Systems", "Telecom", "Ventures",
)
SUFFIXES = ("Inc.", "Ltd", "GmbH", "LLC", "S.A.", "plc", "Corp.", "")
CITIES = (
    ("San Francisco", "CA", "94105", "United States"), ("New York", "NY", "10001", "United States"),
    ("Austin", "TX", "73301", "United States"), ("Chicago", "IL", "60601", "United States"),
    ("Toronto", "ON", "M5H 2N2", "Canada"), ("London", "", "EC1A 1BB", "United Kingdom"),
    ("Berlin", "", "10115", "Germany"), ("Paris", "", "75001", "France"),
    ("Madrid", "", "28001", "Spain"), ("Amsterdam", "", "1012", "Netherlands"),
    ("Stockholm", "", "111 20", "Sweden"), ("Tokyo", "", "100-0001", "Japan"),
    ("Singapore", "", "018989", "Singapore"), ("Sydney", "NSW", "2000", "Australia"),
    ("São Paulo", "SP", "01000-000", "Brazil"), ("Mexico City", "CDMX", "06000", "Mexico"),
    ("Lagos", "", "100001", "Nigeria"), ("Bangalore", "KA", "560001", "India"),
)
STREETS = ("Market St", "Main St", "Harbour Rd", "King St", "Park Ave", "Station Rd", "Mill Ln")


@dataclass(frozen=True)
class SeedPlan:
    """How big an org is; `fixed_sizes` are accounts with an exact number of contacts."""

    users: int
    accounts: int
    contacts: int
    leads: int
    opportunities: int
    fixed_sizes: tuple[int, ...] = ()
    number: int = 42


PLANS = {
    "tiny": SeedPlan(users=3, accounts=5, contacts=30, leads=6, opportunities=4, number=7),
    "small": SeedPlan(users=5, accounts=50, contacts=500, leads=60, opportunities=40, number=11),
    "demo": SeedPlan(
        users=10,
        accounts=1000,
        contacts=20000,
        leads=500,
        opportunities=1000,
        fixed_sizes=(6000, 5000),
        number=2026,
    ),
    # A tenth of `large` in people, with every object filling at least three pages of 2,000
    # (the page being written, the one waiting and the one being fetched): the same memory per
    # page as `large`, so comparing the two shows what grows with the size of the org.
    "medium": SeedPlan(
        users=20, accounts=6000, contacts=20000, leads=6000, opportunities=6000, number=3
    ),
    "large": SeedPlan(
        users=20, accounts=10000, contacts=200000, leads=5000, opportunities=10000, number=1
    ),
    # 1,000,000 people: 800,000 contacts (16 per account) and 200,000 leads.
    "xlarge": SeedPlan(
        users=50, accounts=50000, contacts=800000, leads=200000, opportunities=50000, number=5
    ),
}
BATCH = 5000


def scaled_plan(plan: SeedPlan, scale: float) -> SeedPlan:
    """The same org shape with every count multiplied: tests seed a hundredth of `xlarge`
    through the code path the full size takes."""
    if scale == 1:
        return plan

    def part(count: int) -> int:
        return max(1, round(count * scale))

    return replace(
        plan, accounts=part(plan.accounts), contacts=part(plan.contacts),
        leads=part(plan.leads), opportunities=part(plan.opportunities),
        fixed_sizes=tuple(part(size) for size in plan.fixed_sizes),
    )


class Seeder:
    def __init__(self, store: Store, plan: SeedPlan) -> None:
        self.store = store
        self.plan = plan
        self.random = random.Random(plan.number)  # noqa: S311 - reproducible test data
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.counts: dict[str, int] = {}

    def modstamp(self) -> int:
        """Seeded records were last modified some time in the past 30 days."""
        return to_millis(self.now - timedelta(seconds=self.random.randint(3600, 30 * 86400)))

    def created(self) -> int:
        return to_millis(self.now - timedelta(days=self.random.randint(31, 900)))

    def person(self) -> tuple[str, str]:
        return self.random.choice(FIRST_NAMES), self.random.choice(LAST_NAMES)

    def company(self, index: int) -> str:
        word = COMPANY_WORDS[index % len(COMPANY_WORDS)]
        noun = COMPANY_NOUNS[(index // len(COMPANY_WORDS)) % len(COMPANY_NOUNS)]
        suffix = self.random.choice(SUFFIXES)
        serial = index // (len(COMPANY_WORDS) * len(COMPANY_NOUNS))
        name = f"{word} {noun}" + (f" {serial + 1}" if serial else "")
        return f"{name} {suffix}".strip()

    def system(self) -> dict:
        stamp = self.modstamp()
        return {"CreatedDate": min(self.created(), stamp), "SystemModstamp": stamp,
                "LastModifiedDate": stamp}

    def insert(
        self, object_name: str, rows: Iterator[dict], user_id: str | None, keep_ids: bool = True
    ) -> list[str]:
        """Insert in batches; the ids are kept only when asked for (else just the first one):
        800,000 contact ids would be the seeding's biggest object."""
        ids: list[str] = []
        batch: list[dict] = []
        obj = OBJECTS[object_name]

        def flush() -> None:
            inserted = self.store.insert_many(obj, batch, user_id)
            ids.extend(inserted if keep_ids or not ids else ())
            self.counts[object_name] = self.counts.get(object_name, 0) + len(inserted)
            batch.clear()

        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                flush()
        flush()
        return ids

    def run(self) -> dict[str, int]:
        plan, rnd = self.plan, self.random
        self.insert("LeadStatus", (
            {"ApiName": name, "MasterLabel": name, "IsConverted": int(converted),
             "IsDefault": int(default), "SortOrder": order}
            for order, (name, converted, default) in enumerate(LEAD_STATUSES, start=1)
        ), None)
        user_rows = [
            {"FirstName": "Integration", "LastName": "User", "Email": "integration@sandbox.test",
             "Username": "integration@sandbox.test"}
        ]
        for _ in range(plan.users - 1):
            first, last = self.person()
            user_rows.append({"FirstName": first, "LastName": last,
                              "Email": f"{first}.{last}@sandbox.test".lower(),
                              "Username": f"{first}.{last}.{rnd.randint(1, 999)}@sandbox.test"})
        user_ids = self.insert("User", iter(user_rows), None)
        integration_user = user_ids[0]
        owners = user_ids[1:] or user_ids
        self.store.set_meta("integration_user", integration_user)
        self.store.set_meta("editor_user", owners[0])

        def accounts() -> Iterator[dict]:
            for index in range(plan.accounts):
                city, state, postal, country = rnd.choice(CITIES)
                name = self.company(index)
                domain = name.split()[0].lower() + name.split()[1].lower() + ".example.com"
                revenue = float(rnd.choice((2, 8, 40, 120, 900, 2500)) * 1_000_000)
                yield {
                    **self.system(), "Name": name, "Type": rnd.choice(ACCOUNT_TYPES),
                    "Industry": rnd.choice(INDUSTRIES), "AnnualRevenue": revenue,
                    "NumberOfEmployees": rnd.randint(5, 50000),
                    "BillingStreet": f"{rnd.randint(1, 999)} {rnd.choice(STREETS)}",
                    "BillingCity": city, "BillingState": state or None,
                    "BillingPostalCode": postal, "BillingCountry": country,
                    "Website": f"https://www.{domain}",
                    "Phone": f"+1 555 {rnd.randint(1000000, 9999999)}",
                    "Region__c": rnd.choice(REGIONS), "Tier__c": float(rnd.randint(1, 3)),
                    "OwnerId": rnd.choice(owners),
                }

        account_ids = self.insert("Account", accounts(), integration_user)

        def contact_accounts() -> Iterator[str]:
            for account_id, size in zip(account_ids, plan.fixed_sizes, strict=False):
                yield from [account_id] * size
            rest = account_ids[len(plan.fixed_sizes):] or account_ids
            for index in range(plan.contacts - sum(plan.fixed_sizes)):
                yield rest[index % len(rest)] if index < len(rest) else rnd.choice(rest)

        def contacts() -> Iterator[dict]:
            for serial, account_id in enumerate(contact_accounts()):
                first, last = self.person()
                yield {
                    **self.system(), "AccountId": account_id, "FirstName": first,
                    "LastName": last, "Email": f"{first}.{last}.{serial}@example.org".lower(),
                    "Phone": f"+1 555 {rnd.randint(1000000, 9999999)}",
                    "Title": rnd.choice(("CEO", "CTO", "VP Marketing", "Buyer", "Engineer",
                                         "Analyst", "Head of Sales", "Office Manager")),
                    "LeadSource": rnd.choice(LEAD_SOURCES), "OwnerId": rnd.choice(owners),
                }

        self.insert("Contact", contacts(), integration_user, keep_ids=False)

        def opportunities() -> Iterator[dict]:
            for index in range(plan.opportunities):
                stage = rnd.choice(STAGES)[0]
                close = (self.now + timedelta(days=rnd.randint(-180, 180))).date()
                yield {
                    **self.system(), "AccountId": account_ids[index % len(account_ids)],
                    "Name": f"{self.company(index % len(account_ids))} - "
                            f"{rnd.choice(('Renewal', 'Expansion', 'New Business', 'Pilot'))}",
                    "StageName": stage, "CloseDate": close.isoformat(),
                    "Amount": float(rnd.randint(5, 500) * 1000), "OwnerId": rnd.choice(owners),
                }

        self.insert("Opportunity", opportunities(), integration_user)

        # A lead's firmographics come from their own stream, so adding them left the names,
        # emails and statuses of every seeded org as they were.
        firmographics = random.Random(plan.number + 1)  # noqa: S311 - reproducible test data

        def lead_company() -> dict:
            city, state, _postal, country = firmographics.choice(CITIES)
            return {
                "NumberOfEmployees": firmographics.choice((8, 25, 120, 450, 1500, 8000, 30000)),
                "AnnualRevenue": float(firmographics.choice((1, 5, 20, 90, 600, 3000)) * 1_000_000),
                "City": city, "State": state or None, "Country": country,
            }

        def leads() -> Iterator[dict]:
            for index in range(plan.leads):
                first, last = self.person()
                yield {
                    **lead_company(),
                    **self.system(), "FirstName": first, "LastName": last,
                    "Company": self.company(plan.accounts + index),
                    "Email": f"{first}.{last}.lead{index}@example.net".lower(),
                    "Industry": rnd.choice(INDUSTRIES), "LeadSource": rnd.choice(LEAD_SOURCES),
                    "Status": rnd.choice(("Open - Not Contacted", "Working - Contacted")),
                    "IsConverted": 0, "OwnerId": rnd.choice(owners),
                }

        lead_ids = self.insert("Lead", leads(), integration_user, keep_ids=False)
        if lead_ids:
            self.store.convert_lead(lead_ids[0], "Closed - Converted", None, None, True, owners[0])
        return {
            "users": len(user_ids), "accounts": len(account_ids),
            "contacts": self.counts.get("Contact", 0) + int(bool(lead_ids)),
            "leads": self.counts.get("Lead", 0),
        }


def seed_org(store: Store, name: str, scale: float = 1) -> dict[str, int]:
    """Empty the store and fill it with the named org (`scale` < 1: a proportional part)."""
    if name not in PLANS:
        raise ValueError(f"unknown seed {name!r}; choose one of {', '.join(PLANS)}")
    store.clear()
    with store.transaction():
        counts = Seeder(store, scaled_plan(PLANS[name], scale)).run()
    store.set_meta("seed", name)
    return counts
