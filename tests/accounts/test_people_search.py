"""The People list's search finds the person: email by prefix, first and last name in either
order, one word over names, email and company; account-name substrings no longer flood."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Contact
from marketo_sync.salesforce.ids import normalize_sfdc_id as sfdc_id

pytestmark = pytest.mark.django_db

PEOPLE = reverse("admin:accounts_contact_changelist")


@pytest.fixture
def people():
    # "Ana Adeyemi" is a substring of this account's name: its 30 contacts must not match her
    crowd = Account.objects.create(sfdc_id=sfdc_id("0019000000B98de"), name="Banana Adeyemi Ltd")
    anchor = Account.objects.create(sfdc_id=sfdc_id("0019000000oC4Hk"), name="Anchor Bank")
    Contact.objects.bulk_create(
        [Contact(first_name="Zed", last_name=f"Crowd {i}", email=f"z{i}@crowd.example",
                 sfdc_type="contact", sfdc_id=sfdc_id(f"0039000000C{i:04d}"), account=crowd)
         for i in range(30)]
        + [
            Contact(first_name="Ana", last_name="Adeyemi", email="Ana.Adeyemi@Mail.example",
                    sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d1"), account=anchor),
            Contact(first_name="Adeyemi", last_name="Anand", email="aa@other.example",
                    sfdc_type="lead", sfdc_lead_id=sfdc_id("00Q9000000B98d2"),
                    company="Other Co"),
            Contact(first_name="Ana Maria", last_name="Adeyemi", sfdc_type="lead",
                    sfdc_lead_id=sfdc_id("00Q9000000B98d5"), company="Other Co"),
            Contact(first_name="Bo", last_name="Ng", email="bo@anchorage.example",
                    sfdc_type="lead", sfdc_lead_id=sfdc_id("00Q9000000B98d3"),
                    company="Anchorage Labs"),
            Contact(first_name="Cy", last_name="Ortiz", email="cy@x.example",
                    sfdc_type="lead", sfdc_lead_id=sfdc_id("00Q9000000B98d4"),
                    company="Anchor Bank"),  # a lead's own company, not the account
        ]
    )


def found(client, term: str) -> set[str]:
    response = client.get(PEOPLE, {"q": term})
    assert response.status_code == 200
    return {f"{p.first_name} {p.last_name}" for p in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Ana Adeyemi", {"Ana Adeyemi", "Adeyemi Anand", "Ana Maria Adeyemi"}),
        ("adeyemi ana", {"Ana Adeyemi", "Adeyemi Anand", "Ana Maria Adeyemi"}),
        ("ana ade", {"Ana Adeyemi", "Adeyemi Anand", "Ana Maria Adeyemi"}),
        ("  ANA   ADEYEMI ", {"Ana Adeyemi", "Adeyemi Anand", "Ana Maria Adeyemi"}),
        ("ana.adeyemi@mail", {"Ana Adeyemi"}),
        ("@crowd", set()),  # email by prefix only
        ("z1@CROWD.example", {"Zed Crowd 1"}),
        ("ng", {"Bo Ng"}),
        ("bo@", {"Bo Ng"}),
        ("anchor", {"Ana Adeyemi", "Bo Ng", "Cy Ortiz"}),  # company: account or lead's own
        ("banana", {f"Zed Crowd {i}" for i in range(30)}),
        ("nana", set()),  # no substring of an account name
        ("adeyemi", {"Ana Adeyemi", "Adeyemi Anand", "Ana Maria Adeyemi"}),
        ("Ana Maria Ade", {"Ana Maria Adeyemi"}),
        ("Ana Maria Adeyemi Anand", set()),
    ],
)
def test_search_finds_the_person(marketer_client, people, term, expected):
    assert found(marketer_client, term) == expected


def test_the_search_query_is_one_statement_plus_the_accounts_lookup(marketer_client, people):
    marketer_client.get(PEOPLE, {"q": "anchor"})
    with CaptureQueriesContext(connection) as one_word:
        marketer_client.get(PEOPLE, {"q": "anchor"})
    with CaptureQueriesContext(connection) as no_search:
        marketer_client.get(PEOPLE)
    assert len(one_word) == len(no_search) + 1
    assert not any("%anchor" in q["sql"].lower() for q in one_word.captured_queries)


def test_the_accounts_list_keeps_its_substring_search(marketer_client, people):
    response = marketer_client.get(reverse("admin:accounts_account_changelist"), {"q": "nana"})
    assert [a.name for a in response.context["cl"].result_list] == ["Banana Adeyemi Ltd"]


def test_search_results_are_in_case_insensitive_name_order_page_after_page(marketer_client):
    surnames = ["de Vries", "Dawson", "Evans", "van Dijk", "Adams", "zhang", "Young"]
    Contact.objects.bulk_create(
        Contact(first_name=("ana" if i % 2 else "Bo") + f" {i % 3}",
                last_name=surnames[i % len(surnames)], sfdc_type="lead",
                sfdc_lead_id=sfdc_id(f"00Q9000000A{i:04d}"), company="Acme Corp")
        for i in range(120)
    )
    expected = sorted(
        Contact.objects.all(),
        key=lambda p: (p.last_name.upper(), p.first_name.upper(), -p.pk),
    )
    shown = []
    for page in (1, 2, 3):
        response = marketer_client.get(PEOPLE, {"q": "acme", "p": page})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 120
        shown += [person.pk for person in response.context["cl"].result_list]
    assert shown == [person.pk for person in expected]
