import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Contact

pytestmark = pytest.mark.django_db

IDS = ["001000000000001AAA", "001000000000002AAA", "001000000000003AAA"]


def make_accounts():
    for number, sfdc_id in enumerate(IDS):
        Account.objects.create(sfdc_id=sfdc_id, name=f"Account {number}")


def test_any_of_binds_the_ids_as_one_array_parameter():
    make_accounts()
    wanted = [IDS[0], IDS[2], "001000000000009AAA"]
    with CaptureQueriesContext(connection) as queries:
        found = set(
            Account.objects.filter(sfdc_id__any_of=wanted).values_list("sfdc_id", flat=True)
        )
    assert found == {IDS[0], IDS[2]}
    (query,) = queries.captured_queries
    assert '"sfdc_id" = ANY(' in query["sql"] and query["sql"].count(IDS[0]) == 1


def test_any_of_takes_any_iterable_and_an_empty_one_matches_nothing():
    make_accounts()
    assert Account.objects.filter(sfdc_id__any_of={IDS[1]}).get().sfdc_id == IDS[1]
    assert Account.objects.filter(sfdc_id__any_of=(i for i in IDS)).count() == 3
    assert not Account.objects.filter(sfdc_id__any_of=[]).exists()


def test_any_of_never_matches_null():
    Contact.objects.create(last_name="Lead only")
    assert not Contact.objects.filter(sfdc_id__any_of=[None, IDS[0]]).exists()


def test_any_of_matches_any_text_exactly():
    names = ["a,b", 'say "hi"', "back\\slash", "{brace}", "NULL", " spaced ", "o'neil", "Ünï"]
    for name in names:
        Contact.objects.create(last_name=name)
    Contact.objects.create(last_name="a")
    found = Contact.objects.filter(last_name__any_of=names).values_list("last_name", flat=True)
    assert sorted(found) == sorted(names)
