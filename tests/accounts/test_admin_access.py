"""Who may do what: the Marketers group, staff login everywhere, a permission on every action."""

import django_rq
import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import Account, Contact

pytestmark = pytest.mark.django_db

CUSTOM_PAGES = ["admin:accounts_account_local_edits", "admin:sync_status"]


def test_the_marketers_group_holds_exactly_view_everything_change_export_and_smart_lists():
    granted = {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name="Marketers").permissions.values_list(
            "content_type__app_label", "codename"
        )
    }
    views = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(
            content_type__app_label__in=["accounts", "activities", "sync"],
            codename__startswith="view_",
        ).values_list("content_type__app_label", "codename")
    }
    smart_lists = {f"accounts.{action}_{model}" for action in ("add", "change", "delete")
                   for model in ("smartlist", "smartlistrule")}
    assert granted == views | smart_lists | {
        "accounts.change_account", "accounts.change_contact", "accounts.export_people"}
    assert {"accounts.view_account", "accounts.view_contact", "activities.view_activity",
            "sync.view_syncrun", "sync.view_syncerror"} <= granted


@pytest.mark.parametrize("name", CUSTOM_PAGES)
def test_custom_pages_need_a_staff_login(client, django_user_model, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("plain", password="plain-pass-1"))
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("name", CUSTOM_PAGES)
def test_custom_pages_need_the_view_permission(staff_client, name):
    assert staff_client().get(reverse(name)).status_code == 403


@pytest.fixture
def records():
    account = Account.objects.create(sfdc_id="0019000000B98deAAB", name="Blue Harbor")
    contact = Contact.objects.create(
        last_name="Lee", account=account, sfdc_id="0039000000B98deAAB", sfdc_type="contact"
    )
    lead = Contact.objects.create(last_name="Lead", sfdc_lead_id="00Q9000000B98deEAB")
    return account, contact, lead


def resync(client, model: str, pks: list[int]):
    return client.post(
        reverse(f"admin:accounts_{model}_changelist"),
        {"action": "resync_selected", "_selected_action": pks},
        follow=True,
    )


def queued_records() -> list[tuple]:
    return sorted(tuple(job.args) for job in django_rq.get_queue("sync").jobs)


def test_marketers_cannot_resync(marketer_client, records):
    account, contact, lead = records
    page = marketer_client.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "resync_selected" not in page
    resync(marketer_client, "account", [account.pk])
    resync(marketer_client, "contact", [contact.pk, lead.pk])
    assert queued_records() == []


@pytest.mark.django_db(transaction=True)  # jobs are enqueued when the transaction commits
def test_resync_queues_accounts_contacts_and_leads_by_their_salesforce_object(
    operator_client, records
):
    account, contact, lead = records
    page = resync(operator_client, "account", [account.pk]).content.decode()
    assert "1 record(s) queued" in page
    resync(operator_client, "contact", [contact.pk, lead.pk])
    assert queued_records() == [
        ("Account", ["0019000000B98deAAB"]),
        ("Contact", ["0039000000B98deAAB"]),
        ("Lead", ["00Q9000000B98deEAB"]),
    ]


def test_marketers_cannot_run_convert_person(marketer_client, records):
    _, _, lead = records
    page = marketer_client.get(
        reverse("admin:accounts_contact_change", args=[lead.pk])
    ).content.decode()
    assert 'class="convert-person-link"' not in page
    assert "ask someone with the Convert Person permission" in page
    assert marketer_client.get(
        reverse("admin:accounts_contact_convert", args=[lead.pk])
    ).status_code == 403
