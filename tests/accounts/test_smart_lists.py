"""Smart lists: every operator, ALL/ANY, validated rules, opened in the People list with their
rules stated, counted in the smart-list changelist with a constant number of queries."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact, SmartList, SmartListRule
from accounts.selectors import smart_list_member_counts, smart_list_people
from marketo_sync.salesforce.ids import normalize_sfdc_id as sfdc_id

pytestmark = pytest.mark.django_db

PEOPLE = reverse("admin:accounts_contact_changelist")
SMART_LISTS = reverse("admin:accounts_smartlist_changelist")


@pytest.fixture
def people():
    bank = Account.objects.create(
        sfdc_id=sfdc_id("0019000000B98de"), name="Mumbai Bank", industry="Banking",
        billing_country="India", billing_city="Mumbai", number_of_employees=5000,
        annual_revenue=900_000_000, type="Customer",
    )
    shop = Account.objects.create(
        sfdc_id=sfdc_id("0019000000oC4Hk"), name="Berlin Shop", industry="Retail",
        billing_country="Germany", number_of_employees=40,
    )
    Contact.objects.bulk_create([
        Contact(first_name="Ana", last_name="Adeyemi", email="ana@bank.example",
                sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d1"), account=bank,
                sfdc_created_at=datetime(2026, 1, 10, 9, 30, tzinfo=UTC),
                sfdc_last_modified=datetime(2026, 4, 2, 8, 0, tzinfo=UTC)),
        Contact(first_name="Ben", last_name="Baker", email="ben@shop.example",
                sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d2"), account=shop),
        Contact(first_name="Lea", last_name="Lopez", sfdc_type="lead", company="Delhi Credit",
                sfdc_lead_id=sfdc_id("00Q9000000B98d3"), industry="Banking", country="India",
                number_of_employees=1500, lead_status="Working - Contacted",
                sfdc_created_at=datetime(2026, 3, 5, 23, 0, tzinfo=UTC),
                sfdc_lead_last_modified=datetime(2026, 4, 20, 12, 0, tzinfo=UTC)),
        Contact(first_name="Leo", last_name="Lind", sfdc_type="lead", company="Small Bank",
                sfdc_lead_id=sfdc_id("00Q9000000B98d4"), industry="Banking", country="India",
                number_of_employees=200),
        Contact(first_name="Dee", last_name="Deleted", sfdc_type="contact", is_deleted=True,
                sfdc_id=sfdc_id("0039000000B98d5"), account=bank),
    ])


def smart_list(match: str = "all", *rules: tuple[str, str, str, str]) -> SmartList:
    created = SmartList.objects.create(name=f"list {SmartList.objects.count()}", match=match)
    SmartListRule.objects.bulk_create(
        SmartListRule(smart_list=created, field=field, operator=operator, value=value,
                      value_to=value_to, position=position)
        for position, (field, operator, value, value_to) in enumerate(rules)
    )
    return created


def members(target: SmartList) -> set[str]:
    return set(smart_list_people(smart_list=target).values_list("first_name", flat=True))


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (("industry", "is", "Banking", ""), {"Ana", "Lea", "Leo"}),
        (("industry", "is_not", "Banking", ""), {"Ben"}),
        (("company", "contains", "bank", ""), {"Ana", "Leo"}),
        (("company", "starts_with", "ber", ""), {"Ben"}),
        (("employees", "gt", "1500", ""), {"Ana"}),
        (("employees", "lt", "1500", ""), {"Ben", "Leo"}),
        (("employees", "gte", "1500", ""), {"Ana", "Lea"}),
        (("employees", "lte", "200", ""), {"Ben", "Leo"}),
        (("employees", "between", "2,000", "200"), {"Leo", "Lea"}),
        (("revenue", "is_empty", "", ""), {"Ben", "Lea", "Leo"}),
        (("email", "is_empty", "", ""), {"Lea", "Leo"}),
        (("city", "is", "Mumbai", ""), {"Ana"}),
        (("account_type", "is", "Customer", ""), {"Ana"}),
        (("lead_status", "is", "Working - Contacted", ""), {"Lea"}),
        (("type", "is", "lead", ""), {"Lea", "Leo"}),
        (("created", "between", "2026-03-04", "2026-01-10"), {"Ana"}),
        (("created", "gte", "2026-03-05", ""), {"Lea"}),
        (("created", "is_empty", "", ""), {"Ben", "Leo"}),
        (("modified", "gte", "2026-04-01", ""), {"Ana", "Lea"}),
        (("modified", "gte", "2026-04-10", ""), {"Lea"}),
        (("modified", "is_empty", "", ""), {"Ben", "Leo"}),
    ],
)
def test_every_operator(people, rule, expected):
    assert members(smart_list("all", rule)) == expected


def test_all_and_any(people):
    rules = [("industry", "is", "Banking", ""), ("country", "is", "India", ""),
             ("employees", "gt", "1000", "")]
    assert members(smart_list("all", *rules)) == {"Ana", "Lea"}
    assert members(smart_list("any", ("country", "is", "Germany", ""),
                              ("employees", "between", "1000", "2000"))) == {"Ben", "Lea"}
    assert members(smart_list("all")) == {"Ana", "Ben", "Lea", "Leo"}  # everyone living


def rule_form(prefix: str, rules: list[tuple[str, str, str, str]]) -> dict[str, str]:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rules)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for i, (field, operator, value, value_to) in enumerate(rules):
        data.update({f"{prefix}-{i}-field": field, f"{prefix}-{i}-operator": operator,
                     f"{prefix}-{i}-value": value, f"{prefix}-{i}-value_to": value_to,
                     f"{prefix}-{i}-position": str(i)})
    return data


def post_list(client, rules):
    return client.post(reverse("admin:accounts_smartlist_add"), {
        "name": "Banking in India", "description": "", "match": "all",
        **rule_form("rules", rules),
    })


def test_a_marketer_builds_a_list_and_owns_it(marketer_client, marketer, people):
    response = post_list(marketer_client, [("industry", "is", "Banking", ""),
                                           ("country", "is", "India", "")])
    assert response.status_code == 302, response.context["errors"]
    created = SmartList.objects.get()
    assert created.owner == marketer and created.rules.count() == 2


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (("password", "is", "x", ""), "Select a valid choice"),
        (("industry", "gt", "x", ""), "cannot be filtered with"),
        (("employees", "is", "lots", ""), "not a number"),
        (("employees", "between", "10", ""), "needs 2 value"),
        (("industry", "is", "", ""), "needs 1 value"),
        (("industry", "sql", "1=1", ""), "Select a valid choice"),
        (("modified", "is", "yesterday", ""), "not a date"),
    ],
)
def test_rules_are_validated_on_save(marketer_client, people, rule, message):
    response = post_list(marketer_client, [rule])
    assert response.status_code == 200 and not SmartList.objects.exists()
    assert message in response.content.decode()


def test_opening_a_list_states_its_rules_and_shows_its_people(marketer_client, people):
    target = smart_list("all", ("industry", "is", "Banking", ""), ("country", "is", "India", ""),
                        ("employees", "gt", "1000", ""))
    response = marketer_client.get(PEOPLE, {"smart_list": target.pk})
    text = response.content.decode()
    assert 'id="smart-list-rules"' in text
    assert "Industry is &#x27;Banking&#x27;" in text and "Number of employees greater than" in text
    shown = {p.first_name for p in response.context["cl"].result_list}
    assert shown == members(target) == {"Ana", "Lea"}
    assert response.context["cl"].result_count == 2
    assert 'value="export_csv"' in text  # every action of the People list
    narrowed = marketer_client.get(PEOPLE, {"smart_list": target.pk, "sfdc_type__exact": "lead"})
    assert {p.first_name for p in narrowed.context["cl"].result_list} == {"Lea"}


@pytest.mark.parametrize("value", ["abc", "999999", "-1"])
def test_an_unknown_list_is_an_invalid_filter(marketer_client, people, value):
    response = marketer_client.get(PEOPLE + f"?smart_list={value}")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_member_counts_equal_the_lists_rows(people):
    lists = [smart_list("all", ("industry", "is", "Banking", "")),
             smart_list("any", ("country", "is", "Germany", ""), ("type", "is", "lead", "")),
             smart_list("all")]
    counts = smart_list_member_counts(smart_lists=lists)
    assert counts == {lst.pk: smart_list_people(smart_list=lst).count() for lst in lists}
    assert list(counts.values()) == [3, 3, 4]


def test_the_smart_list_changelist_costs_the_same_queries_for_1_and_50_lists(
    marketer_client, people
):
    smart_list("all", ("industry", "is", "Banking", ""))
    marketer_client.get(SMART_LISTS)
    with CaptureQueriesContext(connection) as one:
        response = marketer_client.get(SMART_LISTS)
    assert ">3<" in response.content.decode()
    for n in range(49):
        smart_list("any", ("employees", "gt", str(n), ""), ("city", "is", "Mumbai", ""))
    with CaptureQueriesContext(connection) as fifty:
        response = marketer_client.get(SMART_LISTS)
    assert response.context["cl"].result_count == 50
    assert len(one) == len(fifty)


def test_marketers_share_lists(client, people):
    from tests.fixtures.users import create_marketer

    owner = create_marketer("owner", "owner-password-1")
    other = create_marketer("other", "other-password-1")
    target = smart_list("all", ("industry", "is", "Banking", ""))
    target.owner = owner
    target.save()
    client.force_login(other)
    assert client.get(reverse("admin:accounts_smartlist_change", args=[target.pk])).status_code \
        == 200
    assert target.name in client.get(SMART_LISTS).content.decode()
