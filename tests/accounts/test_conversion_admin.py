"""Convert Person through the admin, as a browser posts it: the changelist action with several
people, the confirmation round trip, double submits, the retry button's form, permissions."""

from html.parser import HTMLParser

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.conversion import MAX_PEOPLE_PER_CONVERSION, conversion_request, conversion_run
from accounts.models import Account, Contact, Opportunity, PersonConversion, SalesforceUser
from marketo_sync.salesforce.convert import ConvertOptions, envelope
from marketo_sync.salesforce.errors import SalesforceError
from tests.fixtures.users import create_marketer, grant
from tests.fixtures.workers import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
OPTIONS = ConvertOptions(converted_status="Closed - Converted")
CHANGELIST = "admin:accounts_contact_changelist"




@pytest.fixture
def converter(db):
    user = create_marketer("converter", "converter-password-1")
    grant(user, "accounts.convert_person")
    return user


@pytest.fixture
def converter_client(converter) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(converter)
    return client


class Forms(HTMLParser):
    """Every form of a page: its id, how deeply it sits inside other forms, its inputs."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "form":
            form = {"id": values.get("id"), "action": values.get("action"),
                    "depth": len(self.open), "inputs": []}
            self.forms.append(form)
            self.open.append(form)
        elif tag == "input" and self.open and values.get("type") == "hidden":
            self.open[-1]["inputs"].append((values["name"], values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.open:
            self.open.pop()

    def by_id(self, form_id: str) -> dict:
        return next(form for form in self.forms if form["id"] == form_id)

    def with_input(self, name: str) -> dict:
        return next(form for form in self.forms if name in dict(form["inputs"]))


def leads(count: int) -> list[Contact]:
    return list(Contact.objects.filter(sfdc_type="lead", is_deleted=False).order_by("pk")[:count])


def failed_conversion(sandbox, person: Contact, user) -> PersonConversion:
    conversion, _ = conversion_request(
        person=person, options=OPTIONS, user=user, idempotency_key=f"failed-{person.pk}"
    )
    sandbox.control.inject_fault("request_limit", count=1, path="/Soap/")
    with pytest.raises(SalesforceError):
        conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "failed"
    return conversion


def queued_conversion_ids() -> list[int]:
    return [job.args[0] for job in django_rq.get_queue("default").get_jobs()]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_retry_form_sits_outside_the_change_form_and_posts_with_csrf(
    synced, converter, converter_client
):
    lead = leads(1)[0]
    conversion = failed_conversion(synced, lead, converter)
    page = converter_client.get(reverse("admin:accounts_contact_change", args=[lead.pk]))
    forms = Forms(page.content.decode())
    retry = forms.by_id(f"retry-{conversion.pk}")
    assert retry["depth"] == 0, "a form nested in the change form is dropped by browsers"
    assert f'form="retry-{conversion.pk}"' in page.content.decode()
    url = reverse("admin:accounts_conversion_retry", args=[conversion.pk])
    assert retry["action"] == url

    assert converter_client.get(url).status_code == 405
    assert converter_client.post(url).status_code == 403  # no CSRF token
    conversion.refresh_from_db()
    assert conversion.status == "failed" and not queued_conversion_ids()

    done = converter_client.post(url, dict(retry["inputs"]), follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:accounts_contact_change", args=[lead.pk])
    assert "The conversion was queued again." in messages_of(done)
    conversion.refresh_from_db()
    assert conversion.status == "lead_created" and conversion.error == ""
    assert queued_conversion_ids() == [conversion.pk]
    again = converter_client.post(url, dict(retry["inputs"]), follow=True)
    assert any("can be retried" in m for m in messages_of(again))
    assert queued_conversion_ids() == [conversion.pk]


def test_a_plain_marketer_gets_403_on_the_retry_and_the_convert_post(
    synced, converter, marketer_client
):
    lead, other = leads(2)
    conversion = failed_conversion(synced, lead, converter)
    retry = reverse("admin:accounts_conversion_retry", args=[conversion.pk])
    assert marketer_client.post(retry).status_code == 403
    page = marketer_client.get(reverse("admin:accounts_contact_change", args=[lead.pk]))
    assert page.status_code == 200 and f"retry-{conversion.pk}" not in page.content.decode()
    convert = reverse("admin:accounts_contact_convert", args=[other.pk])
    posted = marketer_client.post(convert, {
        "post": "yes", "understand": "on", "converted_status": "Closed - Converted",
        "idempotency_key": "marketer",
    })
    assert posted.status_code == 403
    action = marketer_client.post(reverse(CHANGELIST), {
        "action": "convert_person", "index": "0", "_selected_action": [other.pk], "post": "yes",
        "understand": "on", "converted_status": "Closed - Converted", "idempotency_key": "m2",
    })
    # not offered to a marketer (who has other actions): Django's "no action selected" redirect
    assert action.status_code == 302 and action["Location"] == reverse(CHANGELIST)
    assert "CAUTION" not in action.content.decode()
    conversion.refresh_from_db()
    assert conversion.status == "failed"
    assert PersonConversion.objects.count() == 1 and not queued_conversion_ids()


def test_the_changelist_action_round_trip_with_several_people(synced, converter_client):
    chosen = leads(3)
    changelist = reverse(CHANGELIST)
    page = converter_client.get(changelist)
    token = Forms(page.content.decode()).with_input("csrfmiddlewaretoken")["inputs"]
    csrf = dict(token)["csrfmiddlewaretoken"]
    confirm = converter_client.post(changelist, {
        "csrfmiddlewaretoken": csrf, "action": "convert_person", "index": "0",
        "_selected_action": [p.pk for p in chosen],
    })
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "CAUTION" in text
    for person in chosen:
        assert person.email in text
    form = Forms(text).with_input("post")
    fields = form["inputs"]
    assert sorted(int(v) for k, v in fields if k == "_selected_action") == sorted(
        p.pk for p in chosen
    )
    assert ("action", "convert_person") in fields

    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    done = converter_client.post(
        changelist,
        {**data, "understand": "on", "converted_status": "Closed - Converted"},
        follow=True,
    )
    assert done.redirect_chain[-1][0] == changelist
    assert "3 conversion(s) queued." in messages_of(done)
    conversions = PersonConversion.objects.all()
    assert sorted(c.person_id for c in conversions) == sorted(p.pk for p in chosen)
    assert sorted(queued_conversion_ids()) == sorted(c.pk for c in conversions)


def test_the_action_refuses_more_people_than_the_cap(synced, admin_client):
    many = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    assert len(many) > MAX_PEOPLE_PER_CONVERSION
    response = admin_client.post(reverse(CHANGELIST), {
        "action": "convert_person", "index": "0",
        "_selected_action": many[: MAX_PEOPLE_PER_CONVERSION + 1],
    }, follow=True)
    assert f"Convert at most {MAX_PEOPLE_PER_CONVERSION} people at a time." in messages_of(
        response
    )
    assert "CAUTION" not in response.content.decode()
    capped = admin_client.post(reverse(CHANGELIST), {
        "action": "convert_person", "index": "0",
        "_selected_action": many[:MAX_PEOPLE_PER_CONVERSION],
    })
    assert capped.status_code == 200 and "CAUTION" in capped.content.decode()
    assert not PersonConversion.objects.exists()


def test_double_submit_of_the_confirmation_makes_one_account(synced, admin_client):
    lead = leads(1)[0]
    url = reverse("admin:accounts_contact_convert", args=[lead.pk])
    key = Forms(admin_client.get(url).content.decode()).with_input("post")["inputs"]
    form = {**dict(key), "understand": "on", "converted_status": "Closed - Converted"}
    accounts_before = synced.control.count("Account")
    local_before = Account.objects.count()
    first = admin_client.post(url, form, follow=True)
    second = admin_client.post(url, form, follow=True)
    assert "1 conversion(s) queued." in messages_of(first)
    assert any("already has a conversion in progress" in m for m in messages_of(second))
    assert not any("0 conversion(s)" in m for m in messages_of(second))
    assert PersonConversion.objects.count() == 1
    assert len(queued_conversion_ids()) == 1
    worker = run_worker("default")
    assert worker.returncode == 0, worker.stderr
    assert PersonConversion.objects.get().status == "completed"
    assert synced.control.count("Account") == accounts_before + 1
    assert Account.objects.count() == local_before + 1


def test_a_person_with_an_open_conversion_is_said_so(synced, admin_client, admin_user):
    lead = leads(1)[0]
    open_one, _ = conversion_request(
        person=lead, options=OPTIONS, user=admin_user, idempotency_key="open"
    )
    url = reverse("admin:accounts_contact_convert", args=[lead.pk])
    page = admin_client.get(url)
    assert "A conversion of this person is already in progress" in page.content.decode()
    done = admin_client.post(url, {
        "post": "yes", "understand": "on", "converted_status": "Closed - Converted",
        "idempotency_key": "a-new-key",
    }, follow=True)
    shown = messages_of(done)
    assert any(
        "already has a conversion in progress (Pending); it was not queued again" in m
        for m in shown
    ), shown
    assert not any("conversion(s) queued" in m for m in shown)
    assert list(PersonConversion.objects.all()) == [open_one] and not queued_conversion_ids()


def test_a_person_without_email_is_refused_on_the_page(synced, admin_client):
    person = Contact.objects.create(last_name="Silent", company="Silent Partners")
    url = reverse("admin:accounts_contact_convert", args=[person.pk])
    page = admin_client.get(url).content.decode()
    assert "Cannot convert: not in Salesforce and no email" in page
    done = admin_client.post(url, {
        "post": "yes", "understand": "on", "converted_status": "Closed - Converted",
        "idempotency_key": "silent",
    }, follow=True)
    assert any("no email" in m for m in messages_of(done))
    assert not PersonConversion.objects.exists()


def test_duplicate_warning_and_the_options_reach_the_convert_call(synced, admin_client):
    lead = leads(1)[0]
    Account.objects.create(sfdc_id="0019000000DUPLAAA5", name=f"{lead.company} Inc.")
    owner = SalesforceUser.objects.filter(is_active=True).exclude(pk=lead.owner_id).first()
    url = reverse("admin:accounts_contact_convert", args=[lead.pk])
    page = admin_client.get(url).content.decode()
    assert "Possible duplicate:" in page and f"{lead.company} Inc." in page
    done = admin_client.post(url, {
        "post": "yes", "understand": "on", "converted_status": "Closed - Converted",
        "idempotency_key": "options", "assign_to": owner.pk, "send_notification": "on",
    })
    assert done.status_code == 302
    conversion = PersonConversion.objects.get()
    assert conversion.options == {
        "converted_status": "Closed - Converted", "owner_id": owner.sfdc_id,
        "send_notification_email": True, "opportunity_name": "",
    }
    soap = envelope("session", lead.sfdc_lead_id, ConvertOptions(**conversion.options)).decode()
    assert "<urn:sendNotificationEmail>true</urn:sendNotificationEmail>" in soap
    assert f"<urn:ownerId>{owner.sfdc_id}</urn:ownerId>" in soap
    worker = run_worker("default")
    assert worker.returncode == 0, worker.stderr
    conversion.refresh_from_db()
    assert conversion.status == "completed", conversion.error
    remote = synced.control.get("Account", conversion.account_sfdc_id)
    assert remote["OwnerId"] == owner.sfdc_id
    assert Account.objects.get(sfdc_id=conversion.account_sfdc_id).owner == owner
    lead.refresh_from_db()
    assert lead.owner == owner


def test_nobody_but_staff_reaches_the_retry(synced, converter):
    conversion = failed_conversion(synced, leads(1)[0], converter)
    outsider = Client()
    outsider.force_login(get_user_model().objects.create_user("outsider", password="pw-1-x"))
    url = reverse("admin:accounts_conversion_retry", args=[conversion.pk])
    assert outsider.post(url).status_code == 302  # to the admin login
    conversion.refresh_from_db()
    assert conversion.status == "failed"


def test_a_marketer_without_the_permission_sees_why_the_button_is_disabled(
    synced, marketer_client
):
    (lead,) = leads(1)
    text = marketer_client.get(
        reverse("admin:accounts_contact_change", args=[lead.pk])
    ).content.decode()
    assert 'aria-disabled="true"' in text
    assert "ask someone with the Convert Person permission" in text
    assert reverse("admin:accounts_contact_convert", args=[lead.pk]) not in text


def test_after_a_conversion_the_page_links_the_new_contact_account_and_opportunity(
    synced, converter, converter_client
):
    (lead,) = leads(1)
    conversion, _ = conversion_request(
        person=lead, options=OPTIONS, user=converter, idempotency_key="links"
    )
    conversion_run(conversion_id=conversion.pk)
    conversion.refresh_from_db()
    assert conversion.status == "completed"
    account = Account.objects.get(sfdc_id=conversion.account_sfdc_id)
    opportunity = Opportunity.objects.get(sfdc_id=conversion.opportunity_sfdc_id)
    person = conversion.person
    person.refresh_from_db()
    text = converter_client.get(
        reverse("admin:accounts_contact_change", args=[person.pk])
    ).content.decode()
    assert "Completed" in text
    assert reverse("admin:accounts_account_change", args=[account.pk]) in text
    assert reverse("admin:accounts_opportunity_change", args=[opportunity.pk]) in text
    contact = Contact.objects.get(sfdc_id=conversion.contact_sfdc_id)
    assert reverse("admin:accounts_contact_change", args=[contact.pk]) in text
