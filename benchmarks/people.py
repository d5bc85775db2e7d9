"""The `people_1m` section: the marketers' lists at 1,000,000 people.

The people are generated straight into the database by PostgreSQL (`generate_series`), with the
sandbox's names, industries and cities, until the `xlarge` sandbox org exists to sync them from.
Measured through the admin, as a marketer uses it, in the deploy configuration:

- `smart_list_ms`: "Banking in India, more than 1,000 employees" opened in the People list
  (the page's count and rows), server time;
- `search_ms`: the slowest of a full-name, an email and a one-word search in the People list;
- `changelist_ms`, `created_filter_ms`: the People list unfiltered, and filtered to the people
  created in Salesforce in one month (about 27,000);
- `export_rows_per_s`, `export_rss_growth_mb`: "Export as CSV" of all people, streamed and read
  to the end in a process of its own, whose peak RSS is compared with its RSS before.
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
LEAD_SHARE = 10  # one person in ten is a lead with their own company fields
PEOPLE_PER_ACCOUNT = 45
SEARCHES = ("Ana Adeyemi", "ana.adeyemi.12", "Tanaka")
# People were created in Salesforce over the three years before this; the filter takes a month.
CREATED_UNTIL = "2026-12-01T00:00:00+00:00"
CREATED_IN_A_MONTH = {"sfdc_created_at__gte": "2026-11-01 00:00:00+00:00",
                      "sfdc_created_at__lt": "2026-12-01 00:00:00+00:00"}
RUNS = 3


def people_generate(people: int) -> None:
    """Empty the local copy and write `people` people (a tenth leads) and their accounts."""
    from django.db import connection

    from marketo_sync.sandbox.schema import ACCOUNT_TYPES, INDUSTRIES
    from marketo_sync.sandbox.seed import (
        CITIES,
        COMPANY_NOUNS,
        COMPANY_WORDS,
        FIRST_NAMES,
        LAST_NAMES,
    )

    accounts = max(1, people // PEOPLE_PER_ACCOUNT)
    arrays: dict[str, Any] = {
        "industries": list(INDUSTRIES), "types": list(ACCOUNT_TYPES),
        "cities": [c[0] for c in CITIES], "states": [c[1] for c in CITIES],
        "countries": [c[3] for c in CITIES], "words": list(COMPANY_WORDS),
        "nouns": list(COMPANY_NOUNS), "firsts": list(FIRST_NAMES), "lasts": list(LAST_NAMES),
        "accounts": accounts, "people": people, "lead_share": LEAD_SHARE,
        "created_until": CREATED_UNTIL,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE activities_activity, accounts_opportunity, accounts_contact, "
            "accounts_account RESTART IDENTITY CASCADE"
        )
        cursor.execute("SELECT setseed(0.42)")  # the same org on every run
        cursor.execute(
            """
            INSERT INTO accounts_account
                (sfdc_id, name, type, industry, annual_revenue, number_of_employees,
                 billing_street, billing_city, billing_state, billing_postal_code,
                 billing_country, website, phone, master_record_sfdc_id, sfdc_values,
                 custom_fields, is_deleted)
            SELECT '001B' || lpad(i::text, 14, '0'),
                   (%(words)s::text[])[1 + i %% cardinality(%(words)s::text[])] || ' '
                   || (%(nouns)s::text[])[1 + i %% cardinality(%(nouns)s::text[])] || ' ' || i,
                   (%(types)s::text[])[t], (%(industries)s::text[])[n], revenue, employees,
                   '', (%(cities)s::text[])[k], (%(states)s::text[])[k], '',
                   (%(countries)s::text[])[k], '', '', '', '{}', '{}', false
            FROM (SELECT i,
                         1 + floor(random() * cardinality(%(types)s::text[]))::int AS t,
                         1 + floor(random() * cardinality(%(industries)s::text[]))::int AS n,
                         1 + floor(random() * cardinality(%(cities)s::text[]))::int AS k,
                         (1 + floor(random() * 3000)) * 1000000.0 AS revenue,
                         5 + floor(random() * 50000)::int AS employees
                  FROM generate_series(1, %(accounts)s) AS i) AS g
            """,
            arrays,
        )
        cursor.execute(
            """
            INSERT INTO accounts_contact
                (sfdc_id, sfdc_lead_id, sfdc_type, first_name, last_name, email, phone, title,
                 company, industry, number_of_employees, annual_revenue, city, state, country,
                 lead_status, master_record_sfdc_id, account_sfdc_id, custom_fields, is_deleted,
                 account_id, sfdc_created_at)
            SELECT CASE WHEN lead THEN NULL ELSE '003B' || lpad(i::text, 14, '0') END,
                   CASE WHEN lead THEN '00QB' || lpad(i::text, 14, '0') END,
                   CASE WHEN lead THEN 'lead' ELSE 'contact' END,
                   first, last, lower(first || '.' || last || '.' || i || '@example.org'),
                   '', '',
                   CASE WHEN lead THEN 'Lead Company ' || i ELSE '' END,
                   CASE WHEN lead THEN (%(industries)s::text[])[n] ELSE '' END,
                   CASE WHEN lead THEN employees END,
                   CASE WHEN lead THEN revenue END,
                   CASE WHEN lead THEN (%(cities)s::text[])[k] ELSE '' END,
                   CASE WHEN lead THEN (%(states)s::text[])[k] ELSE '' END,
                   CASE WHEN lead THEN (%(countries)s::text[])[k] ELSE '' END,
                   CASE WHEN lead THEN 'Open - Not Contacted' ELSE '' END,
                   '', '', '{}', false,
                   CASE WHEN lead THEN NULL ELSE 1 + floor(random() * %(accounts)s)::int END,
                   %(created_until)s::timestamptz - random() * interval '1095 days'
            FROM (SELECT i,
                         i %% %(lead_share)s = 0 AS lead,
                         (%(firsts)s::text[])[1 + floor(random() * cardinality(
                             %(firsts)s::text[]))::int] AS first,
                         (%(lasts)s::text[])[1 + floor(random() * cardinality(
                             %(lasts)s::text[]))::int] AS last,
                         1 + floor(random() * cardinality(%(industries)s::text[]))::int AS n,
                         1 + floor(random() * cardinality(%(cities)s::text[]))::int AS k,
                         (1 + floor(random() * 900)) * 1000000.0 AS revenue,
                         1 + floor(random() * 20000)::int AS employees
                  FROM generate_series(1, %(people)s) AS i) AS g
            """,
            arrays,
        )
        cursor.execute("VACUUM ANALYZE accounts_contact")
        cursor.execute("VACUUM ANALYZE accounts_account")


def server_ms(client, url: str) -> float:
    """Median server time of a People list page (after one warming request)."""
    assert client.get(url).status_code == 200, url
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, url
    return round(statistics.median(times) * 1000, 1)


def admin_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def export_child() -> None:
    """Run in its own process: export every person through the admin action, report JSON."""
    import django

    django.setup()
    from accounts.models import Contact

    client = admin_client()
    first = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    response = client.post("/admin/accounts/contact/", {
        "action": "export_csv", "select_across": "1", "_selected_action": [first]})
    assert response.streaming, response.status_code
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": lines - 1, "seconds": seconds,
                      "rss_growth_mb": rss_mb("VmHWM") - before}))


def rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def bench_people(people: int) -> dict:
    from accounts.models import Contact, SmartList, SmartListRule
    from accounts.selectors import smart_list_people

    started = time.perf_counter()
    people_generate(people)
    result: dict = {"people": Contact.objects.count(),
                    "generate_seconds": round(time.perf_counter() - started, 1)}
    smart_list = SmartList.objects.create(name="Banking in India, more than 1,000 employees")
    SmartListRule.objects.bulk_create([
        SmartListRule(smart_list=smart_list, field="industry", operator="is", value="Banking"),
        SmartListRule(smart_list=smart_list, field="country", operator="is", value="India"),
        SmartListRule(smart_list=smart_list, field="employees", operator="gt", value="1000"),
    ])
    client = admin_client()
    people_list = "/admin/accounts/contact/"
    result["smart_list_ms"] = server_ms(client, f"{people_list}?smart_list={smart_list.pk}")
    result["smart_list_members"] = smart_list_people(smart_list=smart_list).count()
    result["changelist_ms"] = server_ms(client, people_list)
    result["created_filter_ms"] = server_ms(
        client, f"{people_list}?{urlencode(CREATED_IN_A_MONTH)}"
    )
    searches = {
        term: server_ms(client, f"{people_list}?{urlencode({'q': term})}") for term in SEARCHES
    }
    result["search_ms_each"] = searches
    result["search_ms"] = max(searches.values())
    child = subprocess.run(  # noqa: S603 - this module, in a process of its own
        [sys.executable, "-m", "benchmarks.people", "--export-child"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=3600,
    )
    export = json.loads(child.stdout.strip().splitlines()[-1])
    assert export["rows"] == result["people"], export
    result["export_rows_per_s"] = round(export["rows"] / export["seconds"])
    result["export_rss_growth_mb"] = round(export["rss_growth_mb"], 1)
    return result


if __name__ == "__main__" and sys.argv[1:] == ["--export-child"]:
    export_child()
