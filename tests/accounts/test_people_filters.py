"""The People list's filters through the admin: contacts by their account, leads by their own
company fields, shareable URLs, and bad values answered as invalid filters (never a 500)."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Contact, SalesforceUser
from marketo_sync.salesforce.ids import normalize_sfdc_id as sfdc_id

pytestmark = pytest.mark.django_db

PEOPLE = reverse("admin:accounts_contact_changelist")


@pytest.fixture
def people():
    owner = SalesforceUser.objects.create(sfdc_id=sfdc_id("0059000000B98de"), name="Olga Owner")
    bank = Account.objects.create(
        sfdc_id=sfdc_id("0019000000B98de"), name="Mumbai Bank", industry="Banking", type="Customer",
        billing_country="India", billing_state="MH", billing_city="Mumbai",
        number_of_employees=5000, annual_revenue=900_000_000, owner=owner,
    )
    shop = Account.objects.create(
        sfdc_id="0019000000oC4HkAAK", name="Berlin Shop", industry="Retail", type="Prospect",
        billing_country="Germany", billing_city="Berlin", number_of_employees=40,
        annual_revenue=2_000_000,
    )
    rows = {
        "ana": Contact(first_name="Ana", last_name="Adeyemi", email="ana@bank.example",
                       sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d1"), account=bank,
                       sfdc_created_at=datetime(2026, 1, 10, 9, 30, tzinfo=UTC),
                       sfdc_last_modified=datetime(2026, 4, 2, 8, 0, tzinfo=UTC)),
        "ben": Contact(first_name="Ben", last_name="Baker", email="ben@shop.example",
                       sfdc_type="contact", sfdc_id=sfdc_id("0039000000B98d2"), account=shop),
        # a lead of a bank in India: its own company fields
        "lea": Contact(first_name="Lea", last_name="Lopez", sfdc_type="lead",
                       sfdc_lead_id=sfdc_id("00Q9000000B98d3"), company="Delhi Credit",
                       industry="Banking", country="India", state="DL", city="New Delhi",
                       number_of_employees=1500, annual_revenue=50_000_000,
                       lead_status="Working - Contacted",
                       sfdc_created_at=datetime(2026, 3, 5, 23, 0, tzinfo=UTC),
                       sfdc_lead_last_modified=datetime(2026, 4, 20, 12, 0, tzinfo=UTC)),
        # a lead whose own fields say Retail although its name sounds like the bank's
        "leo": Contact(first_name="Leo", last_name="Lind", sfdc_type="lead",
                       sfdc_lead_id=sfdc_id("00Q9000000B98d4"), company="Mumbai Bank Shop",
                       industry="Retail", country="Germany", number_of_employees=10),
        # a contact without an account matches no company filter
        "ned": Contact(first_name="Ned", last_name="Nobody", sfdc_type="contact",
                       sfdc_id=sfdc_id("0039000000B98d5"), industry="Banking", country="India"),
    }
    Contact.objects.bulk_create(rows.values())
    return {key: Contact.objects.get(last_name=row.last_name) for key, row in rows.items()}


def shown(client, query: str) -> set[str]:
    response = client.get(PEOPLE + query)
    assert response.status_code == 200, response
    return {person.first_name for person in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?industry=Banking", {"Ana", "Lea"}),
        ("?country=India", {"Ana", "Lea"}),
        ("?state=DL", {"Lea"}),
        ("?city=Mumbai", {"Ana"}),
        ("?employees_min=1000", {"Ana", "Lea"}),
        ("?employees_max=999", {"Ben", "Leo"}),
        ("?employees_min=1000&employees_max=2000", {"Lea"}),
        ("?revenue_min=100000000", {"Ana"}),
        ("?revenue_max=60000000", {"Ben", "Lea"}),
        ("?industry=Banking&country=India&employees_min=1001", {"Ana", "Lea"}),
        ("?sfdc_type__exact=lead&industry=Banking", {"Lea"}),
    ],
)
def test_company_filters_match_contacts_by_account_and_leads_by_their_own(
    marketer_client, people, query, expected
):
    assert shown(marketer_client, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?account__billing_country=India", {"Ana"}),
        ("?account__annual_revenue__gte=1000000", {"Ana", "Ben"}),
        ("?account__number_of_employees__lte=500", {"Ben"}),
        ("?account__type=Prospect", {"Ben"}),
        ("?account__type__exact=Customer", {"Ana"}),
        ("?account__billing_city__istartswith=ber", {"Ben"}),
        ("?account__industry=Banking", {"Ana"}),
        ("?account__is_deleted__exact=0", {"Ana", "Ben"}),
    ],
)
def test_contact_only_account_lookups_never_match_a_lead(marketer_client, people, query,
                                                         expected):
    assert shown(marketer_client, query) == expected


def test_account_owner_lookup(marketer_client, people):
    owner = SalesforceUser.objects.get()
    assert shown(marketer_client, f"?account__owner__id__exact={owner.pk}") == {"Ana"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?has_email=yes", {"Ana", "Ben"}),
        ("?has_email=no", {"Lea", "Leo", "Ned"}),
        ("?lead_status=Working - Contacted", {"Lea"}),
        ("?sfdc_type__exact=contact", {"Ana", "Ben", "Ned"}),
        ("?sfdc_created_at__gte=2026-03-01&sfdc_created_at__lt=2026-04-01", {"Lea"}),
        ("?sfdc_created_at__gte=2026-01-01", {"Ana", "Lea"}),
        ("?sfdc_created_at__isnull=True", {"Ben", "Leo", "Ned"}),
        # a contact by its own stamp, a lead by the lead's
        ("?sfdc_last_modified__gte=2026-04-01&sfdc_last_modified__lt=2026-05-01", {"Ana", "Lea"}),
        ("?sfdc_last_modified__gte=2026-04-10", {"Lea"}),
        ("?sfdc_last_modified__isnull=True", {"Ben", "Leo", "Ned"}),
    ],
)
def test_person_filters(marketer_client, people, query, expected):
    assert shown(marketer_client, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        "?employees_min=lots",
        "?revenue_max=1e999",
        "?account__number_of_employees__lte=abc",
        "?account__annual_revenue__gte=abc",
        "?sfdc_created_at__gte=yesterday",
        "?sfdc_created_at__lt=2026-13-45",
        "?sfdc_last_modified__gte=yesterday",
    ],
)
def test_bad_values_are_invalid_filters_not_server_errors(marketer_client, people, query):
    response = marketer_client.get(PEOPLE + query)
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    "query", ["?industry=Bank%00ing", "?account__billing_country=Ind%00ia", "?q=ana%00",
              "?smart_list=1%002", "?employees_min=1%00"],
)
def test_a_nul_character_is_refused_by_the_admin_input_guard(marketer_client, people, query):
    assert marketer_client.get(PEOPLE + query).status_code == 400


def test_lookups_outside_the_account_fields_are_refused(marketer_client, people):
    assert marketer_client.get(PEOPLE + "?account__locally_edited_by__password=x").status_code \
        == 400


def test_the_list_shows_company_and_industry_for_contacts_and_leads(marketer_client, people):
    text = marketer_client.get(PEOPLE).content.decode()
    assert "column-company_name" in text and "column-company_industry" in text
    for company in ("Mumbai Bank", "Berlin Shop", "Delhi Credit", "Mumbai Bank Shop"):
        assert f">{company}<" in text


def test_the_created_in_salesforce_filter_offers_its_periods(marketer_client, people):
    response = marketer_client.get(PEOPLE)
    content = response.content.decode()
    assert "By created in Salesforce" in content
    assert "sfdc_created_at__gte=" in content and "sfdc_created_at__isnull=True" in content


def test_a_bookmarked_day_starts_at_midnight_where_the_marketer_is(marketer_client, people):
    late_evening_utc = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # 5 March, 01:30 in India
    Contact.objects.filter(pk=people["ana"].pk).update(
        sfdc_created_at=late_evening_utc, sfdc_last_modified=late_evening_utc
    )
    with timezone.override("Asia/Kolkata"):
        assert "Ana" in shown(marketer_client, "?sfdc_created_at__gte=2026-03-05")
        assert "Ana" in shown(marketer_client, "?sfdc_last_modified__gte=2026-03-05")
    assert "Ana" not in shown(marketer_client, "?sfdc_created_at__gte=2026-03-05")
